package io.isthmus.loadtest.peering;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What one scenario of the peering load measured: every change's outcome (answered in DNS, timed out, failed to
 * send) and an HdrHistogram of the propagation times of the answered ones, in microseconds (3 significant digits,
 * so a percentile is within 0.1% of the recorded value), overall and per second of the run (by the second the change
 * was sent, as Gatling plots response times by start). Thread-safe: outcomes arrive on the DNS probe's thread.
 */
final class LoadTally {
    static final long HIGHEST_MICROS = 3_600_000_000L;

    private final long startNanos;
    private final Histogram latency = new Histogram(HIGHEST_MICROS, 3);
    private final List<Second> seconds = new ArrayList<>();
    private final Map<String, Long> errors = new LinkedHashMap<>();
    private long ok;
    private long failed;
    private long timeouts;

    /** One second of the run: the changes sent in it and their outcomes. */
    private static final class Second {
        final Histogram latency = new Histogram(HIGHEST_MICROS, 2);
        long ok;
        long failed;
        long timeouts;
    }

    LoadTally(long startNanos) {
        this.startNanos = startNanos;
    }

    synchronized void ok(long sentNanos, long propagationNanos) {
        long micros = Math.clamp(propagationNanos / 1000, 0, HIGHEST_MICROS);
        latency.recordValue(micros);
        Second s = second(sentNanos);
        s.latency.recordValue(micros);
        s.ok++;
        ok++;
    }

    synchronized void timeout(long sentNanos) {
        second(sentNanos).timeouts++;
        timeouts++;
    }

    /** A change that could not be sent; {@code reason} groups them in the report, as Gatling's error table does. */
    synchronized void failed(long atNanos, String reason) {
        second(atNanos).failed++;
        failed++;
        errors.merge(reason, 1L, Long::sum);
    }

    synchronized long outcomes() {
        return ok + failed + timeouts;
    }

    private Second second(long atNanos) {
        int index = (int) Math.clamp((atNanos - startNanos) / 1_000_000_000L, 0, 24 * 3600);
        while (seconds.size() <= index) {
            seconds.add(new Second());
        }
        return seconds.get(index);
    }

    /** The figures so far, over {@code injectionSeconds} of injection (for the rates). */
    synchronized LoadFigures figures(double injectionSeconds) {
        List<LoadFigures.Bucket> timeline = new ArrayList<>(seconds.size());
        for (int i = 0; i < seconds.size(); i++) {
            Second s = seconds.get(i);
            timeline.add(new LoadFigures.Bucket(i, s.ok + s.failed + s.timeouts, s.ok, s.failed, s.timeouts,
                    millis(s.latency, 50), millis(s.latency, 99), s.ok == 0 ? Double.NaN : s.latency.getMaxValue() / 1e3));
        }
        return LoadFigures.of(latency, ok, failed, timeouts, injectionSeconds, timeline, errors);
    }

    /** The figures of several tallies together (Gatling's "global"). */
    static LoadFigures merged(List<LoadTally> tallies, double injectionSeconds) {
        Histogram all = new Histogram(HIGHEST_MICROS, 3);
        long ok = 0;
        long failed = 0;
        long timeouts = 0;
        Map<String, Long> errors = new LinkedHashMap<>();
        for (LoadTally t : tallies) {
            synchronized (t) {
                all.add(t.latency);
                ok += t.ok;
                failed += t.failed;
                timeouts += t.timeouts;
                t.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
            }
        }
        return LoadFigures.of(all, ok, failed, timeouts, injectionSeconds, List.of(), errors);
    }

    static double millis(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(percentile) / 1e3;
    }
}
