package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.metrics.Metrics;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A delta's propagation time: the origin's change time read on our clock through its skew, and clamped at zero.
 * The origin below is 3 s ahead of us; each case says what it did on which clock.
 */
class PropagationTest {
    private static final Instant APPLIED = Instant.parse("2026-12-08T01:00:00Z");
    private static final ClockSkew.Estimate THREE_S_AHEAD =
            new ClockSkew.Estimate(Duration.ofSeconds(3), Duration.ofMillis(1));
    private static final ClusterId WEST = ClusterId.of("west");

    private static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }

    @Test
    void theOriginsTimeIsCorrectedByItsSkew() {
        // Changed 120 ms before we applied it, by our clock: the origin's clock then read APPLIED - 120 ms + 3 s.
        long changedAt = micros(APPLIED.minusMillis(120).plusSeconds(3));
        assertEquals(Optional.of(new Propagation(Duration.ofMillis(120), false)),
                Propagation.of(changedAt, APPLIED, THREE_S_AHEAD));
        // An origin 3 s behind: its clock read APPLIED - 120 ms - 3 s.
        assertEquals(Optional.of(new Propagation(Duration.ofMillis(120), false)), Propagation.of(
                micros(APPLIED.minusMillis(3_120)), APPLIED, new ClockSkew.Estimate(Duration.ofSeconds(-3), Duration.ZERO)));
    }

    @Test
    void aTimeBeforeZeroAfterCorrectionIsClampedAndSaysSo() {
        // The estimate is off by up to its bound: the change seems to come 0.4 ms from the future.
        long changedAt = micros(APPLIED.plusNanos(400_000).plusSeconds(3));
        assertEquals(Optional.of(new Propagation(Duration.ZERO, true)), Propagation.of(changedAt, APPLIED, THREE_S_AHEAD));
    }

    @Test
    void aMadeUpChangeTimeCenturiesAgoIsRecordedWithoutOverflowing() {
        Metrics metrics = new Metrics();
        PeeringMetrics peering = PeeringMetrics.register(metrics);
        peering.recordPropagation(WEST, Long.MIN_VALUE, APPLIED, THREE_S_AHEAD); // about 292,000 years before 1970
        peering.recordPropagation(WEST, Long.MAX_VALUE, APPLIED, THREE_S_AHEAD); // as far after: clamped
        String text = metrics.render();
        assertTrue(text.contains("isthmus_peering_propagation_seconds_bucket{peer=\"west\",le=\"+Inf\"} 2\n"), text);
        assertTrue(text.contains("isthmus_peering_propagation_clamped_total{peer=\"west\"} 1\n"), text);
    }

    @Test
    void withoutTheOriginsTimeOrItsSkewNothingIsTimed() {
        assertEquals(Optional.empty(), Propagation.of(0, APPLIED, THREE_S_AHEAD));
        assertEquals(Optional.empty(), Propagation.of(micros(APPLIED), APPLIED, null));
    }

    @Test
    void theMetricsCountEverySampleAndTheClampedOnes() {
        Metrics metrics = new Metrics();
        PeeringMetrics peering = PeeringMetrics.register(metrics);
        peering.linked(WEST);
        assertTrue(metrics.render().contains("isthmus_peering_propagation_seconds_count{peer=\"west\"} 0\n"),
                "the series is there from the link's hello on");
        peering.recordPropagation(WEST, micros(APPLIED.minusMillis(20).plusSeconds(3)), APPLIED, THREE_S_AHEAD);
        peering.recordPropagation(WEST, micros(APPLIED.plusMillis(5).plusSeconds(3)), APPLIED, THREE_S_AHEAD);
        peering.recordPropagation(WEST, micros(APPLIED), APPLIED, null); // no skew yet: not timed
        String text = metrics.render();
        assertTrue(text.contains("isthmus_peering_propagation_seconds_count{peer=\"west\"} 2\n"), text);
        assertTrue(text.contains("isthmus_peering_propagation_seconds_sum{peer=\"west\"} 0.02\n"), text);
        // the clamped 0 is at most 5 ms, the 20 ms sample at most 25 ms
        assertTrue(text.contains("isthmus_peering_propagation_seconds_bucket{peer=\"west\",le=\"0.005\"} 1\n"), text);
        assertTrue(text.contains("isthmus_peering_propagation_seconds_bucket{peer=\"west\",le=\"0.025\"} 2\n"), text);
        assertTrue(text.contains("isthmus_peering_propagation_clamped_total{peer=\"west\"} 1\n"), text);
    }
}
