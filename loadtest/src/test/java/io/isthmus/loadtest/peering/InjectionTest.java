package io.isthmus.loadtest.peering;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class InjectionTest {
    /**
     * The oracle: arrivals found by stepping time in 10 µs steps and adding rate(t) * dt until the running total
     * passes the next whole number (the first arrival at 0). No closed form involved.
     */
    private static List<Long> byIntegration(double[][] steps) {
        List<Long> out = new ArrayList<>();
        long dtNanos = 10_000;
        double total = 0;
        long next = 0;
        long stepStart = 0;
        for (double[] step : steps) { // {from, to, seconds}; from = to = -1 is a pause
            long length = Math.round(step[2] * 1e9);
            for (long t = 0; t < length; t += dtNanos) {
                if (step[0] >= 0) {
                    while (total >= next - 1e-9) {
                        out.add(stepStart + t);
                        next++;
                    }
                    double rate = step[0] + (step[1] - step[0]) * (t + dtNanos / 2.0) / length;
                    total += rate * dtNanos / 1e9;
                }
            }
            stepStart += length;
            if (step[0] >= 0) {
                // the step's area, rounded down, is its count: an arrival due exactly at its end belongs to the next
                next = Math.max(next, (long) Math.floor(total + 1e-6));
                total = next;
            }
        }
        return out;
    }

    private static void assertSchedule(List<Long> expected, long[] actual, long toleranceNanos) {
        assertEquals(expected.size(), actual.length, "how many arrivals");
        for (int i = 0; i < actual.length; i++) {
            long e = expected.get(i);
            assertTrue(Math.abs(e - actual[i]) <= toleranceNanos, "arrival " + i + ": expected about " + e / 1e6
                    + " ms, got " + actual[i] / 1e6 + " ms");
        }
        for (int i = 1; i < actual.length; i++) {
            assertTrue(actual[i] >= actual[i - 1], "in order at " + i);
        }
    }

    @Test
    void aConstantRateSpacesArrivalsEvenlyFromTheStart() {
        Injection.Open open = (Injection.Open) Injection.parse("constant(50,2s)");
        long[] arrivals = open.arrivals(Long.MAX_VALUE);
        assertEquals(100, arrivals.length);
        assertEquals(0, arrivals[0]);
        assertEquals(20_000_000, arrivals[1]);
        assertEquals(1_000_000_000, arrivals[50]);
        assertEquals(1_980_000_000, arrivals[99]);
        assertEquals(Duration.ofSeconds(2), open.duration());
    }

    @Test
    void aRampUpFollowsTheAreaUnderTheRate() {
        Injection.Open open = (Injection.Open) Injection.parse("ramp(0,100,10s)");
        long[] arrivals = open.arrivals(Long.MAX_VALUE);
        assertEquals(500, arrivals.length, "the area of a triangle 10 s by 100/s");
        // by hand: n arrivals by t = 5 t^2, so the 5th (n = 5) at 1 s, the 125th at 5 s, the 320th at 8 s
        assertEquals(1e9, arrivals[5], 1e3);
        assertEquals(5e9, arrivals[125], 1e3);
        assertEquals(8e9, arrivals[320], 1e3);
        assertSchedule(byIntegration(new double[][] {{0, 100, 10}}), arrivals, 50_000);
    }

    @Test
    void aRampDownAndChainedStepsWithAPauseMatchTheIntegration() {
        Injection.Open open = (Injection.Open) Injection.parse(" ramp(40, 10, 3s) + nothing(500ms) + constant(20/s,1.5s) ");
        long[] arrivals = open.arrivals(Long.MAX_VALUE);
        assertEquals(75 + 30, arrivals.length);
        assertSchedule(byIntegration(new double[][] {{40, 10, 3}, {-1, -1, 0.5}, {20, 20, 1.5}}), arrivals, 50_000);
        assertEquals(3_500_000_000L, arrivals[75], "the constant step starts after the pause");
        assertEquals(Duration.ofMillis(5000), open.duration());
    }

    @Test
    void aFractionalAreaStillSendsEveryArrivalDueInsideTheStep() {
        Injection.Open open = (Injection.Open) Injection.parse("constant(7.5,1s)+constant(2,1s)");
        long[] arrivals = open.arrivals(Long.MAX_VALUE);
        // 7.5/s: n/7.5 s for n = 0..7 (the 8th would be at 1.0667 s, past the step), then 2/s from 1 s
        assertEquals(8 + 2, arrivals.length);
        assertEquals(7 / 7.5 * 1e9, arrivals[7], 1);
        assertEquals(1_000_000_000L, arrivals[8]);
        assertSchedule(byIntegration(new double[][] {{7.5, 7.5, 1}, {2, 2, 1}}), arrivals, 50_000);
    }

    @Test
    void theCountBoundKeepsTheFirstArrivals() {
        Injection.Open open = (Injection.Open) Injection.parse("constant(100,10s)");
        long[] arrivals = open.arrivals(7);
        assertEquals(7, arrivals.length);
        assertEquals(60_000_000, arrivals[6]);
    }

    @Test
    void aClosedProfileHoldsKInFlightForItsDuration() {
        Injection.Closed closed = assertInstanceOf(Injection.Closed.class, Injection.parse("closed(4, 30s)"));
        assertEquals(4, closed.inFlightPerPeer());
        assertEquals(Duration.ofSeconds(30), closed.duration());
    }

    @Test
    void badProfilesAreRefusedNamingWhatIsWrong() {
        assertEquals("profile 'constant(50)': constant takes 2 arguments, got '50'",
                assertThrows(IllegalArgumentException.class, () -> Injection.parse("constant(50)")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("steady(5,1s)")).getMessage()
                .contains("'steady(5,1s)' is not one of ramp(R1,R2,T), constant(R,T), nothing(T), closed(K,T)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("constant(-1,1s)")).getMessage()
                .contains("a rate is changes per second 0..100000, got '-1'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("constant(5,0s)")).getMessage()
                .contains("got '0s'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("closed(2,5s)+constant(1,1s)"))
                .getMessage().contains("closed(K,T) stands alone"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("closed(0,5s)")).getMessage()
                .contains("K, the changes in flight per peer, must be 1..250, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Injection.parse("constant(1,31m)")).getMessage()
                .contains("at most 30m"));
    }
}
