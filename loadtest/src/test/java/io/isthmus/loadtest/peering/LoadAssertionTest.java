package io.isthmus.loadtest.peering;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadAssertionTest {
    /** Figures written by hand: 100 answered, 1 timed out, 0 not sent, over 10 s; p99 80 ms, max 300 ms. */
    private static LoadFigures figures(long ok, long failed, long timeouts, double p99, double max) {
        return new LoadFigures(ok, failed, timeouts, 10, 1, 10, 5, 20, 40, p99, max, max, List.of(), Map.of());
    }

    private static final LoadFigures FAST = figures(100, 0, 1, 80, 300);
    private static final LoadFigures SLOW = figures(50, 2, 0, 400, 900);
    private static final LoadFigures NOTHING = new LoadFigures(0, 3, 0, 10, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, List.of(), Map.of("peer saturated", 3L));

    private static List<LoadAssertion.Result> evaluate(String text, LoadFigures global, Map<String, LoadFigures> each) {
        return LoadAssertion.parse(text).evaluate(global, each);
    }

    @Test
    void percentilesCompareInMillisecondsEitherUnit() {
        Map<String, LoadFigures> none = Map.of();
        assertTrue(evaluate("p99<100ms", FAST, none).getFirst().pass());
        assertFalse(evaluate("p99 < 80", FAST, none).getFirst().pass(), "80 is not below 80");
        assertTrue(evaluate("p99<=80", FAST, none).getFirst().pass());
        assertTrue(evaluate("max<0.5s", FAST, none).getFirst().pass(), "0.5 s is 500 ms");
        assertFalse(evaluate("max<0.25s", FAST, none).getFirst().pass());
        assertTrue(evaluate("p50>=5", FAST, none).getFirst().pass());
        assertEquals(80, evaluate("p99<1", FAST, none).getFirst().actual());
    }

    @Test
    void failedCountsTimeoutsAndChangesNotSentAsAShareOfAllAttempts() {
        Map<String, LoadFigures> none = Map.of();
        // FAST: 1 timeout of 101 attempts = 0.990...%; SLOW: 2 not sent of 52 = 3.846...%
        assertEquals(100.0 / 101, evaluate("failed<1%", FAST, none).getFirst().actual(), 1e-9);
        assertTrue(evaluate("failed<1%", FAST, none).getFirst().pass());
        assertFalse(evaluate("failed<1", SLOW, none).getFirst().pass());
        assertTrue(evaluate("timeouts<=0%", SLOW, none).getFirst().pass());
        assertTrue(evaluate("ok>=100", FAST, none).getFirst().pass());
        assertTrue(evaluate("rate>9.9/s", FAST, none).getFirst().pass(), "100 answered over 10 s");
        assertFalse(evaluate("rate>10", FAST, none).getFirst().pass());
    }

    @Test
    void scopesPickGlobalEachScenarioOrOneByName() {
        Map<String, LoadFigures> scenarios = new LinkedHashMap<>();
        scenarios.put("open-10", FAST);
        scenarios.put("closed-10", SLOW);
        LoadFigures global = figures(150, 2, 1, 350, 900);

        List<LoadAssertion.Result> plain = evaluate("p99<360ms", global, scenarios);
        assertEquals(1, plain.size());
        assertEquals("global", plain.getFirst().scope());
        assertTrue(plain.getFirst().pass());

        List<LoadAssertion.Result> each = evaluate("each:p99<360ms", global, scenarios);
        assertEquals(List.of("open-10", "closed-10"), each.stream().map(LoadAssertion.Result::scope).toList());
        assertEquals(List.of(true, false), each.stream().map(LoadAssertion.Result::pass).toList());

        List<LoadAssertion.Result> one = evaluate("closed-10:max<1s", global, scenarios);
        assertEquals("closed-10", one.getFirst().scope());
        assertTrue(one.getFirst().pass());
        assertEquals("PASS closed-10: max < 1000 ms (actual 900 ms)", one.getFirst().describe());
    }

    @Test
    void aPercentileWithNoAnsweredChangeFails() {
        LoadAssertion.Result r = evaluate("p99<1000ms", NOTHING, Map.of()).getFirst();
        assertFalse(r.pass());
        assertEquals("FAIL global: p99 < 1000 ms (actual no answered change)", r.describe());
        assertFalse(evaluate("failed<1%", NOTHING, Map.of()).getFirst().pass(), "3 of 3 not sent");
    }

    @Test
    void aListIsCommaSeparatedAndEveryMistakeIsNamed() {
        assertEquals(3, LoadAssertion.parseAll("p99<250ms, failed<1%,each:rate>=40/s").size());
        assertEquals(0, LoadAssertion.parseAll(" ").size());
        assertEquals("--assert 'p98<1': unknown metric 'p98' (min, mean, p50, p90, p95, p99, p99.9, max, failed, "
                + "timeouts, ok, rate)", assertThrows(IllegalArgumentException.class, () -> LoadAssertion.parse("p98<1"))
                .getMessage());
        assertEquals("--assert 'p99 = 5' is not [SCOPE:]METRIC OP VALUE, like p99<250ms or each:failed<1%",
                assertThrows(IllegalArgumentException.class, () -> LoadAssertion.parse("p99 = 5")).getMessage());
        assertEquals("--assert 'failed<5ms': failed is measured in '%', not 'ms'",
                assertThrows(IllegalArgumentException.class, () -> LoadAssertion.parse("failed<5ms")).getMessage());
        assertEquals("--assert 'failed<120%': a percentage is at most 100",
                assertThrows(IllegalArgumentException.class, () -> LoadAssertion.parse("failed<120%")).getMessage());
        LoadAssertion named = LoadAssertion.parse("open-5:p99<1");
        assertEquals("--assert 'open-5:p99<1': no scenario is named 'open-5' (scenarios: open-10; or global, each)",
                assertThrows(IllegalArgumentException.class, () -> named.requireScope(Set.of("open-10"))).getMessage());
    }

    @Test
    void aTallysPercentilesComeFromItsHistogram() {
        // 990 changes answered in 10 ms, 10 in 500 ms, 5 timed out, 2 not sent: by hand, p50 = p99 = 10 ms (the
        // 990th of 1000 is still 10 ms), p99.9 = 500 ms (the 999th), max 500 ms; failed = 7 of 1007.
        long start = 0;
        LoadTally tally = new LoadTally(start);
        for (int i = 0; i < 990; i++) {
            tally.ok(start + i * 1_000_000L, 10_000_000L);
        }
        for (int i = 0; i < 10; i++) {
            tally.ok(start + 1_500_000_000L, 500_000_000L);
        }
        for (int i = 0; i < 5; i++) {
            tally.timeout(start + 1_600_000_000L);
        }
        tally.failed(start, "peer saturated");
        tally.failed(start, "peer saturated");
        LoadFigures f = tally.figures(2);
        assertEquals(10, f.p50Ms(), 10 * 0.001);
        assertEquals(10, f.p99Ms(), 10 * 0.001);
        assertEquals(500, f.p999Ms(), 500 * 0.001);
        assertEquals(500, f.maxMs(), 500 * 0.001);
        assertEquals(1007, f.attempts());
        assertEquals(700.0 / 1007, f.failedPercent(), 1e-9);
        assertEquals(500, f.okPerSecond());
        assertEquals(Map.of("peer saturated", 2L), f.errors());
        assertEquals(2, f.timeline().size(), "two seconds of sends");
        assertEquals(990, f.timeline().get(0).ok());
        assertEquals(2, f.timeline().get(0).failed());
        assertEquals(10, f.timeline().get(1).ok());
        assertEquals(5, f.timeline().get(1).timeouts());
        assertEquals(500, f.timeline().get(1).p50Ms(), 500 * 0.01);

        LoadFigures both = LoadTally.merged(List.of(tally, tally), 4);
        assertEquals(2014, both.attempts());
        assertEquals(10, both.p99Ms(), 10 * 0.001);
        assertEquals(Map.of("peer saturated", 4L), both.errors());
    }
}
