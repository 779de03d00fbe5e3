package io.isthmus.gateway;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LifecycleTest {
    @Test
    void stopsInTheReverseOrderOfStartingAndEachOnlyOnce() {
        List<String> stopped = new ArrayList<>();
        Lifecycle lifecycle = new Lifecycle();
        lifecycle.onStop("journal", () -> stopped.add("journal"));
        lifecycle.started("dns", (AutoCloseable) () -> stopped.add("dns"));
        lifecycle.onStop("admin", () -> stopped.add("admin"));
        assertEquals(List.of("journal", "dns", "admin"), lifecycle.running());

        lifecycle.close();
        lifecycle.close();

        assertEquals(List.of("admin", "dns", "journal"), stopped);
        assertEquals(List.of(), lifecycle.running());
    }

    @Test
    void aPartThatFailsToStopDoesNotKeepTheOthersRunning() {
        List<String> stopped = new ArrayList<>();
        Lifecycle lifecycle = new Lifecycle();
        lifecycle.onStop("first", () -> stopped.add("first"));
        lifecycle.onStop("broken", () -> {
            throw new IllegalStateException("cannot stop");
        });
        lifecycle.onStop("last", () -> stopped.add("last"));

        lifecycle.close();

        assertEquals(List.of("last", "first"), stopped);
    }
}
