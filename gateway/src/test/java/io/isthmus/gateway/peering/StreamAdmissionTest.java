package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Streams per peer: at most so many open, at most so many opened a minute (refilled evenly), each peer apart. */
class StreamAdmissionTest {
    private static final ClusterId EDGE = ClusterId.of("edge");
    private static final ClusterId WEST = ClusterId.of("west");
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void aPeerHoldsAtMostItsLimitOfOpenStreamsAndAClosedOneMakesRoom() {
        StreamAdmission admission = new StreamAdmission(2, 100, now::get);
        assertTrue(admission.open(EDGE).isEmpty());
        assertTrue(admission.open(EDGE).isEmpty());
        assertEquals("too-many-streams", admission.open(EDGE).orElseThrow().reason());
        assertTrue(admission.open(WEST).isEmpty(), "another peer is not held back");
        admission.closed(EDGE);
        assertTrue(admission.open(EDGE).isEmpty());
    }

    @Test
    void aPeerOpensAtMostItsRateABurstThenOneEveryMinuteOverTheRate() {
        StreamAdmission admission = new StreamAdmission(100, 6, now::get);
        for (int i = 0; i < 6; i++) {
            assertTrue(admission.open(EDGE).isEmpty(), "stream " + i + " of the burst");
            admission.closed(EDGE);
        }
        var refused = admission.open(EDGE).orElseThrow();
        assertEquals("stream-rate", refused.reason());
        assertTrue(refused.message().contains("stream-opens-per-minute"), refused.message());
        now.addAndGet(9_000_000_000L); // 9 s: 0.9 of a stream at 6 a minute
        assertEquals("stream-rate", admission.open(EDGE).orElseThrow().reason());
        now.addAndGet(1_100_000_000L); // past 10 s: one more
        assertTrue(admission.open(EDGE).isEmpty());
        assertEquals("stream-rate", admission.open(EDGE).orElseThrow().reason());
    }
}
