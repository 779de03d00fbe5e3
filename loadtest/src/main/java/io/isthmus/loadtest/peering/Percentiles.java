package io.isthmus.loadtest.peering;

import java.util.Arrays;
import java.util.Collection;
import java.util.Locale;

/** Exact percentiles (nearest rank) of a set of durations in nanoseconds, printed in milliseconds. */
record Percentiles(long[] sortedNanos) {
    static Percentiles of(Collection<Long> nanos) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        return new Percentiles(sorted);
    }

    int count() {
        return sortedNanos.length;
    }

    /** The nearest-rank percentile ({@code p} in 0..1) in milliseconds; NaN when there are no samples. */
    double millis(double p) {
        if (sortedNanos.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sortedNanos.length);
        return sortedNanos[Math.clamp(rank - 1, 0, sortedNanos.length - 1)] / 1e6;
    }

    double maxMillis() {
        return sortedNanos.length == 0 ? Double.NaN : sortedNanos[sortedNanos.length - 1] / 1e6;
    }

    double meanMillis() {
        return sortedNanos.length == 0 ? Double.NaN : Arrays.stream(sortedNanos).average().orElse(0) / 1e6;
    }

    static String ms(double millis) {
        if (Double.isNaN(millis)) {
            return "-";
        }
        return millis >= 100 ? String.format(Locale.ROOT, "%.0f", millis) : String.format(Locale.ROOT, "%.1f", millis);
    }
}
