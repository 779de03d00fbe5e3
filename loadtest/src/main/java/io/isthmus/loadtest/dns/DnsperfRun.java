package io.isthmus.loadtest.dns;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * One dnsperf 2.x run read back from its output with {@code -v}: every answered query is a line
 * {@code > RCODE NAME TYPE SECONDS} (microsecond resolution), a timed-out one {@code > T NAME TYPE}, and the
 * closing statistics give queries completed, lost and the run time. dnsperf 2.10 prints no latency percentiles
 * (no histogram option), so the per-query lines are the exact source of p99.
 */
public record DnsperfRun(Path file, long completed, long lost, double runSeconds, int[] latencyMicros,
                         long timeouts, Map<String, Long> rcodes) {

    public double qps() {
        return runSeconds > 0 ? completed / runSeconds : 0;
    }

    public static DnsperfRun read(Path file) throws IOException {
        long completed = -1;
        long lost = 0;
        double runSeconds = 0;
        long timeouts = 0;
        int[] latencies = new int[1 << 16];
        int count = 0;
        Map<String, Long> rcodes = new TreeMap<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("> ")) {
                    String[] fields = line.substring(2).trim().split("\\s+");
                    String rcode = fields[0];
                    if (rcode.equals("T")) {
                        timeouts++;
                        continue;
                    }
                    if (rcode.equals("I") || fields.length < 4) {
                        continue; // interrupted at the end of the run: neither answered nor lost
                    }
                    double seconds;
                    try {
                        seconds = Double.parseDouble(fields[fields.length - 1]);
                    } catch (NumberFormatException e) {
                        continue;
                    }
                    if (count == latencies.length) {
                        latencies = Arrays.copyOf(latencies, count * 2);
                    }
                    latencies[count++] = (int) Math.min(Integer.MAX_VALUE, Math.round(seconds * 1e6));
                    rcodes.merge(rcode, 1L, Long::sum);
                } else {
                    String trimmed = line.trim();
                    if (trimmed.startsWith("Queries completed:")) {
                        completed = firstLong(trimmed.substring("Queries completed:".length()));
                    } else if (trimmed.startsWith("Queries lost:")) {
                        lost = firstLong(trimmed.substring("Queries lost:".length()));
                    } else if (trimmed.startsWith("Run time (s):")) {
                        runSeconds = Double.parseDouble(trimmed.substring("Run time (s):".length()).trim());
                    }
                }
            }
        }
        if (completed < 0) {
            throw new IOException(file + ": no dnsperf statistics in it (did dnsperf finish?)");
        }
        return new DnsperfRun(file, completed, lost, runSeconds, Arrays.copyOf(latencies, count), timeouts, rcodes);
    }

    private static long firstLong(String text) {
        String token = text.trim().split("\\s+")[0];
        return Long.parseLong(token);
    }

    /** Several runs against one server taken together: qps over the summed time, percentiles over all queries. */
    public record Merged(String server, long completed, long lost, double runSeconds, double[] runQps,
                         int[] sortedMicros, long timeouts, Map<String, Long> rcodes) {

        public static Merged of(String server, Iterable<DnsperfRun> runs) {
            long completed = 0;
            long lost = 0;
            double seconds = 0;
            long timeouts = 0;
            int total = 0;
            int runCount = 0;
            for (DnsperfRun run : runs) {
                total += run.latencyMicros().length;
                runCount++;
            }
            int[] all = new int[total];
            double[] runQps = new double[runCount];
            Map<String, Long> rcodes = new TreeMap<>();
            int at = 0;
            int i = 0;
            for (DnsperfRun run : runs) {
                completed += run.completed();
                lost += run.lost();
                seconds += run.runSeconds();
                timeouts += run.timeouts();
                runQps[i++] = run.qps();
                System.arraycopy(run.latencyMicros(), 0, all, at, run.latencyMicros().length);
                at += run.latencyMicros().length;
                run.rcodes().forEach((k, v) -> rcodes.merge(k, v, Long::sum));
            }
            Arrays.sort(all);
            return new Merged(server, completed, lost, seconds, runQps, all, timeouts, rcodes);
        }

        public double qps() {
            return runSeconds > 0 ? completed / runSeconds : 0;
        }

        public double averageMillis() {
            if (sortedMicros.length == 0) {
                return Double.NaN;
            }
            long sum = 0;
            for (int micros : sortedMicros) {
                sum += micros;
            }
            return sum / 1000.0 / sortedMicros.length;
        }

        /**
         * The {@code q} quantile (nearest rank) in milliseconds, counting each lost query as slower than any
         * answer; infinite when the rank falls among the lost ones, NaN when nothing was measured.
         */
        public double percentileMillis(double q) {
            long population = sortedMicros.length + timeouts;
            if (population == 0) {
                return Double.NaN;
            }
            long rank = (long) Math.ceil(q * population);
            int index = (int) Math.max(0, rank - 1);
            return index < sortedMicros.length ? sortedMicros[index] / 1000.0 : Double.POSITIVE_INFINITY;
        }

        public double maxMillis() {
            return timeouts > 0 ? Double.POSITIVE_INFINITY
                    : sortedMicros.length == 0 ? Double.NaN : sortedMicros[sortedMicros.length - 1] / 1000.0;
        }
    }
}
