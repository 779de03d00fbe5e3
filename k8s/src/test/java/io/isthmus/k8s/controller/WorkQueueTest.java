package io.isthmus.k8s.controller;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkQueueTest {
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final WorkQueue<String> queue = new WorkQueue<>(timer, Duration.ofMillis(10), Duration.ofMillis(80));

    @AfterEach
    void stop() {
        timer.shutdownNow();
    }

    private List<String> drain() throws InterruptedException {
        List<String> taken = new ArrayList<>();
        while (queue.length() > 0) {
            String key = queue.take().orElseThrow();
            taken.add(key);
            queue.done(key);
        }
        return taken;
    }

    @Test
    void aKeyAddedManyTimesWaitsOnceInTheOrderFirstAdded() throws Exception {
        for (String key : List.of("a", "b", "a", "c", "b", "a")) {
            queue.add(key);
        }
        assertEquals(List.of("a", "b", "c"), drain());
    }

    @Test
    void aKeyAddedWhileItIsReconciledWaitsUntilThatReconcileIsDone() throws Exception {
        queue.add("a");
        String taken = queue.take().orElseThrow();
        queue.add("a"); // an event during the reconcile
        queue.add("a");
        assertEquals(0, queue.length(), "not handed to a second reconcile at once");
        queue.done(taken);
        assertEquals(1, queue.length());
        assertEquals(List.of("a"), drain());
    }

    @Test
    void theBackoffDoublesPerFailureInARowUpToTheCapAndForgetResetsIt() {
        List<Long> delays = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            delays.add(queue.retryLater("a").toMillis());
        }
        assertEquals(List.of(10L, 20L, 40L, 80L, 80L, 80L), delays);
        assertEquals(6, queue.failures("a"));
        assertEquals(10L, queue.retryLater("b").toMillis(), "each key has its own count");
        queue.forget("a");
        assertEquals(0, queue.failures("a"));
        assertEquals(10L, queue.retryLater("a").toMillis());
    }

    @Test
    void aRetriedKeyComesBackAfterItsDelayAndNotBefore() throws Exception {
        WorkQueue<String> slow = new WorkQueue<>(timer, Duration.ofMillis(300), Duration.ofSeconds(1));
        long before = System.nanoTime();
        slow.retryLater("a");
        assertEquals(0, slow.length(), "not at once");
        String key = slow.take().orElseThrow();
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before);
        assertEquals("a", key);
        assertTrue(waited >= 290, "came back after " + waited + " ms");
    }

    @Test
    void shutDownWakesTheWorkerWithNothing() throws Exception {
        Thread stopper = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            queue.shutDown();
        });
        assertEquals(Optional.empty(), queue.take());
        stopper.join();
        queue.add("a");
        assertEquals(0, queue.length(), "adds after shut down are ignored");
    }
}
