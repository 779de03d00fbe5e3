package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The skew estimator against exchanges worked out by hand: a peer whose clock is a known amount off ours sends a
 * heartbeat that takes a chosen time to arrive, after a chosen time for ours to reach it. The expected offsets
 * below are computed from those delays, not by the estimator's formula.
 */
class ClockSkewTest {
    private static final Instant RECEIVED = Instant.parse("2026-12-08T01:00:00Z");

    /**
     * One exchange: our heartbeat takes {@code outMillis} to reach the peer, the peer answers at once, and its
     * heartbeat takes {@code inMillis} back, arriving at {@code receivedAt} on our clock. The peer's clock reads
     * ours plus {@code peerAheadMillis}; the round trip we measure is out + in.
     */
    private static Optional<ClockSkew.Estimate> exchange(ClockSkew skew, Instant receivedAt, double peerAheadMillis,
                                                         double outMillis, double inMillis) {
        Instant sentOnOurClock = receivedAt.minusNanos((long) (inMillis * 1e6));
        long peerWallMicros = ClockSkew.micros(sentOnOurClock.plusNanos((long) (peerAheadMillis * 1e6)));
        return skew.sample(peerWallMicros, receivedAt, Duration.ofNanos((long) ((outMillis + inMillis) * 1e6)));
    }

    private static void assertOffset(double expectedMillis, Optional<ClockSkew.Estimate> estimate) {
        assertTrue(estimate.isPresent(), "no estimate");
        assertEquals(expectedMillis, estimate.get().offset().toNanos() / 1e6, 0.001, estimate.toString());
    }

    @Test
    void aSymmetricPathGivesThePeersOffsetExactly() {
        ClockSkew skew = new ClockSkew();
        // 10 ms each way: the peer sent 10 ms before receipt, when its clock read ours + 2 s.
        Optional<ClockSkew.Estimate> estimate = exchange(skew, RECEIVED, 2_000, 10, 10);
        assertOffset(2_000, estimate);
        assertEquals(Duration.ofMillis(10), estimate.get().bound());
    }

    @Test
    void aPeerBehindUsHasANegativeOffset() {
        assertOffset(-750, exchange(new ClockSkew(), RECEIVED, -750, 3, 3));
    }

    @Test
    void anAsymmetricPathIsWrongByNoMoreThanHalfTheRoundTrip() {
        // 2 ms out, 18 ms back: we assume 10 ms back, so we think it was sent 8 ms later than it was, and
        // under-estimate the peer's offset by 8 ms: 2000 - 8.
        Optional<ClockSkew.Estimate> estimate = exchange(new ClockSkew(), RECEIVED, 2_000, 2, 18);
        assertOffset(1_992, estimate);
        assertEquals(Duration.ofMillis(10), estimate.get().bound());
        // The extremes: all of the round trip on one leg is exactly the bound off, either way.
        assertOffset(2_000 - 10, exchange(new ClockSkew(), RECEIVED, 2_000, 0, 20));
        assertOffset(2_000 + 10, exchange(new ClockSkew(), RECEIVED, 2_000, 20, 0));
    }

    @Test
    void theSampleWithTheLowestRoundTripOfTheWindowIsKept() {
        ClockSkew skew = new ClockSkew();
        // Queueing on the way back: 40 ms extra in makes the sample 20 ms low, 1980.
        assertOffset(1_980, exchange(skew, RECEIVED, 2_000, 5, 45));
        // A fast, slightly asymmetric exchange: 1 ms out, 3 ms in is 1 ms low, 1999, bound 2 ms.
        Optional<ClockSkew.Estimate> fast = exchange(skew, RECEIVED.plusSeconds(1), 2_000, 1, 3);
        assertOffset(1_999, fast);
        assertEquals(Duration.ofMillis(2), fast.get().bound());
        // Slower ones after it do not replace it: 30 ms out, 0 in would say 2015.
        assertOffset(1_999, exchange(skew, RECEIVED.plusSeconds(2), 2_000, 30, 0));
    }

    @Test
    void aClockSteppedSinceIsFollowedOnceTheOldSamplesLeaveTheWindow() {
        ClockSkew skew = new ClockSkew();
        exchange(skew, RECEIVED, 2_000, 1, 1); // the best round trip there will be
        Instant at = RECEIVED;
        for (int i = 1; i < ClockSkew.WINDOW; i++) {
            at = at.plusSeconds(1);
            // the peer's clock was stepped back to ours; slower exchanges (4 ms) do not win yet
            assertOffset(2_000, exchange(skew, at, 0, 2, 2));
        }
        assertOffset(0, exchange(skew, at.plusSeconds(1), 0, 2, 2));
    }

    @Test
    void aPeerThatSendsNoWallClockGivesNoEstimateNotAZeroOne() {
        ClockSkew skew = new ClockSkew();
        assertEquals(Optional.empty(), skew.sample(0, RECEIVED, Duration.ofMillis(4)));
        // and no round trip yet (the first heartbeat echoes nothing) is no sample either
        assertEquals(Optional.empty(), skew.sample(ClockSkew.micros(RECEIVED), RECEIVED, null));
        assertOffset(500, exchange(skew, RECEIVED, 500, 2, 2));
        // a later heartbeat without a wall clock leaves the estimate as it was
        assertOffset(500, skew.sample(0, RECEIVED.plusSeconds(1), Duration.ofMillis(1)));
    }

    @Test
    void aWallClockThatIsNoClockIsDroppedRatherThanOverflowing() {
        ClockSkew skew = new ClockSkew();
        // more than 100 years off: the year 2140, and before the epoch
        for (long garbage : new long[] {Long.MIN_VALUE, Long.MAX_VALUE, 3 * ClockSkew.micros(RECEIVED),
                -ClockSkew.micros(RECEIVED)}) {
            assertEquals(Optional.empty(), skew.sample(garbage, RECEIVED, Duration.ofMillis(1)), "wall clock " + garbage);
        }
        // a node whose clock battery died boots in 1970: still a clock, and one a diagnosis should show
        long epoch = 1;
        Optional<ClockSkew.Estimate> dead = skew.sample(epoch, RECEIVED, Duration.ofMillis(2));
        assertOffset(-(ClockSkew.micros(RECEIVED) - 1_000 - epoch) / 1e3, dead);
    }

    @Test
    void microsecondsConvertBothWaysAlsoBeforeTheEpoch() {
        Instant t = Instant.parse("2026-12-08T01:02:03.456789Z");
        assertEquals(1_796_691_723_456_789L, ClockSkew.micros(t));
        assertEquals(t, ClockSkew.instantOfMicros(ClockSkew.micros(t)));
        assertEquals(Instant.parse("1969-12-31T23:59:59.999999Z"), ClockSkew.instantOfMicros(-1));
    }
}
