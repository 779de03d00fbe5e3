package io.isthmus.loadtest.peering;

import org.HdrHistogram.Histogram;

import java.util.List;
import java.util.Map;

/**
 * The figures of a scenario (or of all together): outcomes, rates, and propagation percentiles in milliseconds
 * (NaN when nothing was answered). {@code seconds} is the injection's length, over which the rates are taken.
 */
record LoadFigures(long ok, long failed, long timeouts, double seconds, double minMs, double meanMs, double p50Ms,
                   double p90Ms, double p95Ms, double p99Ms, double p999Ms, double maxMs, List<Bucket> timeline,
                   Map<String, Long> errors) {

    /** One second of the run, by the second the changes were sent in. */
    record Bucket(int second, long sent, long ok, long failed, long timeouts, double p50Ms, double p99Ms, double maxMs) {
    }

    LoadFigures {
        timeline = List.copyOf(timeline);
        errors = Map.copyOf(errors);
    }

    static LoadFigures of(Histogram h, long ok, long failed, long timeouts, double seconds, List<Bucket> timeline,
                          Map<String, Long> errors) {
        boolean none = h.getTotalCount() == 0;
        return new LoadFigures(ok, failed, timeouts, seconds, none ? Double.NaN : h.getMinValue() / 1e3,
                none ? Double.NaN : h.getMean() / 1e3, LoadTally.millis(h, 50), LoadTally.millis(h, 90),
                LoadTally.millis(h, 95), LoadTally.millis(h, 99), LoadTally.millis(h, 99.9),
                none ? Double.NaN : h.getMaxValue() / 1e3, timeline, errors);
    }

    /** Every change the scenario tried: answered, timed out or not sent. */
    long attempts() {
        return ok + failed + timeouts;
    }

    /** Changes that did not reach DNS (not sent, or not answered in time), in percent of the attempts; 0 when none. */
    double failedPercent() {
        return attempts() == 0 ? 0 : 100.0 * (failed + timeouts) / attempts();
    }

    double timeoutPercent() {
        return attempts() == 0 ? 0 : 100.0 * timeouts / attempts();
    }

    /** Changes answered in DNS per second of injection. */
    double okPerSecond() {
        return seconds <= 0 ? Double.NaN : ok / seconds;
    }

    double attemptsPerSecond() {
        return seconds <= 0 ? Double.NaN : attempts() / seconds;
    }
}
