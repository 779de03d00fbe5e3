package io.isthmus.gateway.metrics;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The gateway's metrics, rendered in the Prometheus text format. One instance per gateway, made in the wiring
 * and handed to whoever counts; families are registered once, up front.
 */
public final class Metrics {
    private final Map<String, Family> families = new ConcurrentSkipListMap<>();

    /** Labels whose values come from other clusters (peers, links): a series each could grow without bound. */
    static final java.util.Set<String> BOUNDED_LABELS = java.util.Set.of("peer", "cluster", "link");
    /** How many distinct values of a bounded label one family shows; later ones are summed under {@link #OTHER}. */
    static final int MAX_LABEL_VALUES = 64;
    static final String OTHER = "other";
    // family name + label name -> the values admitted so far (the first MAX_LABEL_VALUES seen at scrape time)
    private final Map<String, java.util.Set<String>> admitted = new ConcurrentHashMap<>();

    /** A counter family with the given label names; label values are given on each increment. */
    public Counter counter(String name, String help, String... labelNames) {
        Counter counter = new Counter(name, help, List.of(labelNames));
        register(counter);
        return counter;
    }

    /** A gauge whose samples (label values → value) are read at scrape time. */
    public void gauge(String name, String help, List<String> labelNames, Supplier<Map<List<String>, Double>> samples) {
        register(new Sampled(name, help, "gauge", List.copyOf(labelNames), samples));
    }

    /** A counter kept elsewhere (another module's own counters), read at scrape time. */
    public void counterFunction(String name, String help, List<String> labelNames,
                                Supplier<Map<List<String>, Double>> samples) {
        register(new Sampled(name, help, "counter", List.copyOf(labelNames), samples));
    }

    /**
     * A histogram kept elsewhere, read at scrape time.
     *
     * @param upperBounds the buckets' upper bounds (ascending, without +Inf)
     * @param cumulative  for each bound, how many observations were at most that; then the total (for +Inf)
     */
    public record HistogramSample(List<Double> upperBounds, List<Long> cumulative, double sum) {
        public HistogramSample {
            upperBounds = List.copyOf(upperBounds);
            cumulative = List.copyOf(cumulative);
            if (cumulative.size() != upperBounds.size() + 1) {
                throw new IllegalArgumentException("a histogram needs one count per bound plus the +Inf count");
            }
        }
    }

    public void histogramFunction(String name, String help, Supplier<HistogramSample> sample) {
        register(new SampledHistogram(name, help, sample));
    }

    /** Prometheus' default buckets, in seconds: 5 ms to 10 s. */
    public static final List<Double> DEFAULT_SECONDS_BUCKETS =
            List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0);

    /** A histogram kept here, with the given label names; observations in base units (seconds, bytes). */
    public Histogram histogram(String name, String help, List<Double> upperBounds, String... labelNames) {
        Histogram histogram = new Histogram(name, help, upperBounds, List.of(labelNames));
        register(histogram);
        return histogram;
    }

    private void register(Family family) {
        if (families.putIfAbsent(family.name(), family) != null) {
            throw new IllegalStateException("metric " + family.name() + " is registered twice");
        }
    }

    public String render() {
        StringBuilder out = new StringBuilder();
        for (Family family : families.values()) {
            out.append("# HELP ").append(family.name()).append(' ')
                    .append(family.help().replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
            out.append("# TYPE ").append(family.name()).append(' ').append(family.type()).append('\n');
            if (family instanceof SampledHistogram histogram) {
                histogram.appendSamples(out);
                continue;
            }
            if (family instanceof Histogram histogram) {
                histogram.appendSamples(out, labels -> bounded(histogram.name(), histogram.labelNames(), labels));
                continue;
            }
            Map<List<String>, Double> folded = new java.util.LinkedHashMap<>();
            family.samples().forEach((labels, value) -> {
                if (labels.size() != family.labelNames().size()) {
                    throw new IllegalStateException(family.name() + " sample " + labels + " does not match labels "
                            + family.labelNames());
                }
                folded.merge(bounded(family.name(), family.labelNames(), labels), value, Double::sum);
            });
            folded.forEach((labels, value) -> {
                out.append(family.name());
                appendLabels(out, family.labelNames(), labels);
                out.append(' ').append(format(value)).append('\n');
            });
        }
        return out.toString();
    }

    /**
     * The label values to show: a bounded label's value past the first {@link #MAX_LABEL_VALUES} distinct ones
     * becomes {@link #OTHER} (a cluster set of hundreds, or a peer sending made-up names, cannot blow up the
     * scrape). Values once admitted stay, so a series never changes name between scrapes.
     */
    private List<String> bounded(String family, List<String> names, List<String> values) {
        List<String> out = null;
        for (int i = 0; i < names.size(); i++) {
            if (!BOUNDED_LABELS.contains(names.get(i))) {
                continue;
            }
            java.util.Set<String> seen = admitted.computeIfAbsent(family + "\u0000" + names.get(i),
                    k -> ConcurrentHashMap.newKeySet());
            String value = values.get(i);
            if (seen.contains(value)) {
                continue;
            }
            synchronized (seen) { // scrapes only: the recording paths never come here
                if (seen.size() < MAX_LABEL_VALUES) {
                    seen.add(value);
                    continue;
                }
            }
            if (out == null) {
                out = new ArrayList<>(values);
            }
            out.set(i, OTHER);
        }
        return out == null ? values : List.copyOf(out);
    }

    private static void appendLabels(StringBuilder out, List<String> names, List<String> values) {
        if (names.isEmpty()) {
            return;
        }
        out.append('{');
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(names.get(i)).append("=\"");
            String v = i < values.size() ? values.get(i) : "";
            out.append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
        }
        out.append('}');
    }

    private static String format(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
    }

    private sealed interface Family permits Recorded, Sampled, SampledHistogram {
        String name();

        String help();

        String type();

        List<String> labelNames();

        Map<List<String>, Double> samples();
    }

    /** A family whose values this registry holds (counted or observed here), rather than reads from elsewhere. */
    private abstract static sealed class Recorded implements Family permits Counter, Histogram {
        final String name;
        final String help;
        final List<String> labelNames;
        private final String type;

        Recorded(String name, String help, String type, List<String> labelNames) {
            this.name = name;
            this.help = help;
            this.type = type;
            this.labelNames = labelNames;
        }

        @Override
        public final String name() {
            return name;
        }

        @Override
        public final String help() {
            return help;
        }

        @Override
        public final String type() {
            return type;
        }

        @Override
        public final List<String> labelNames() {
            return labelNames;
        }
    }

    public static final class Counter extends Recorded {
        private final Map<List<String>, LongAdder> values = new ConcurrentHashMap<>();

        private Counter(String name, String help, List<String> labelNames) {
            super(name, help, "counter", labelNames);
            if (labelNames.isEmpty()) {
                values.put(List.of(), new LongAdder());
            }
        }

        public void inc(String... labelValues) {
            add(1, labelValues);
        }

        public void add(long amount, String... labelValues) {
            if (labelValues.length != labelNames.size()) {
                throw new IllegalArgumentException(name + " takes labels " + labelNames);
            }
            values.computeIfAbsent(List.of(labelValues), k -> new LongAdder()).add(amount);
        }

        public long get(String... labelValues) {
            LongAdder adder = values.get(List.of(labelValues));
            return adder == null ? 0 : adder.sum();
        }

        @Override
        public Map<List<String>, Double> samples() {
            Map<List<String>, Double> out = new ConcurrentSkipListMap<>(Metrics::compareLabels);
            values.forEach((labels, adder) -> out.put(labels, (double) adder.sum()));
            return out;
        }
    }

    private record Sampled(String name, String help, String type, List<String> labelNames,
                           Supplier<Map<List<String>, Double>> reader) implements Family {
        @Override
        public Map<List<String>, Double> samples() {
            Map<List<String>, Double> out = new ConcurrentSkipListMap<>(Metrics::compareLabels);
            out.putAll(reader.get());
            return out;
        }
    }

    private record SampledHistogram(String name, String help, Supplier<HistogramSample> reader) implements Family {
        @Override
        public String type() {
            return "histogram";
        }

        @Override
        public List<String> labelNames() {
            return List.of();
        }

        @Override
        public Map<List<String>, Double> samples() {
            return Map.of();
        }

        void appendSamples(StringBuilder out) {
            HistogramSample sample = reader.get();
            for (int i = 0; i < sample.upperBounds().size(); i++) {
                out.append(name).append("_bucket{le=\"").append(sample.upperBounds().get(i)).append("\"} ")
                        .append(sample.cumulative().get(i)).append('\n');
            }
            long count = sample.cumulative().getLast();
            out.append(name).append("_bucket{le=\"+Inf\"} ").append(count).append('\n');
            out.append(name).append("_sum ").append(format(sample.sum())).append('\n');
            out.append(name).append("_count ").append(count).append('\n');
        }
    }

    /**
     * A labelled histogram: each observation adds to one bucket's counter and to the sum, without locks; buckets
     * are made cumulative when rendered, and the count is their total, so a scrape never shows more in a bucket
     * than in the count.
     */
    public static final class Histogram extends Recorded {
        private final double[] bounds;
        private final Map<List<String>, Series> series = new ConcurrentHashMap<>();

        private record Series(LongAdder[] buckets, DoubleAdder sum) {
        }

        private Histogram(String name, String help, List<Double> upperBounds, List<String> labelNames) {
            super(name, help, "histogram", labelNames);
            this.bounds = upperBounds.stream().mapToDouble(Double::doubleValue).toArray();
            for (int i = 0; i < bounds.length; i++) {
                if (!Double.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
                    throw new IllegalArgumentException(name + " bucket bounds must be finite and ascending: "
                            + upperBounds);
                }
            }
            if (labelNames.isEmpty()) {
                series.put(List.of(), newSeries());
            }
        }

        private Series newSeries() {
            LongAdder[] buckets = new LongAdder[bounds.length + 1];
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
            return new Series(buckets, new DoubleAdder());
        }

        /** Records one observation; a negative or NaN value (a clock stepped back) is not a duration and is dropped. */
        public void observe(double value, String... labelValues) {
            if (labelValues.length != labelNames.size()) {
                throw new IllegalArgumentException(name + " takes labels " + labelNames);
            }
            if (!(value >= 0)) {
                return;
            }
            Series s = series.computeIfAbsent(List.of(labelValues), k -> newSeries());
            int bucket = 0;
            while (bucket < bounds.length && value > bounds[bucket]) {
                bucket++;
            }
            s.buckets()[bucket].increment();
            s.sum().add(value);
        }

        /** Shows a series at zero before its first observation (so rate() has a start, and absence means absent). */
        public void initialise(String... labelValues) {
            if (labelValues.length != labelNames.size()) {
                throw new IllegalArgumentException(name + " takes labels " + labelNames);
            }
            series.computeIfAbsent(List.of(labelValues), k -> newSeries());
        }

        public void observe(java.time.Duration elapsed, String... labelValues) {
            observe(elapsed.toNanos() / 1e9, labelValues);
        }

        /** How many observations carried these label values. */
        public long count(String... labelValues) {
            Series s = series.get(List.of(labelValues));
            if (s == null) {
                return 0;
            }
            long total = 0;
            for (LongAdder b : s.buckets()) {
                total += b.sum();
            }
            return total;
        }

        @Override
        public Map<List<String>, Double> samples() {
            return Map.of();
        }

        void appendSamples(StringBuilder out, java.util.function.UnaryOperator<List<String>> bounded) {
            Map<List<String>, long[]> buckets = new java.util.LinkedHashMap<>();
            Map<List<String>, Double> sums = new java.util.HashMap<>();
            Map<List<String>, Series> sorted = new ConcurrentSkipListMap<>(Metrics::compareLabels);
            sorted.putAll(series);
            sorted.forEach((labels, s) -> {
                List<String> shown = bounded.apply(labels);
                long[] into = buckets.computeIfAbsent(shown, k -> new long[bounds.length + 1]);
                for (int i = 0; i <= bounds.length; i++) {
                    into[i] += s.buckets()[i].sum();
                }
                sums.merge(shown, s.sum().sum(), Double::sum);
            });
            List<String> withLe = new ArrayList<>(labelNames);
            withLe.add("le");
            buckets.forEach((labels, counts) -> {
                long cumulative = 0;
                for (int i = 0; i <= bounds.length; i++) {
                    cumulative += counts[i];
                    List<String> values = new ArrayList<>(labels);
                    values.add(i < bounds.length ? Double.toString(bounds[i]) : "+Inf");
                    out.append(name).append("_bucket");
                    appendLabels(out, withLe, values);
                    out.append(' ').append(cumulative).append('\n');
                }
                out.append(name).append("_sum");
                appendLabels(out, labelNames, labels);
                out.append(' ').append(format(sums.get(labels))).append('\n');
                out.append(name).append("_count");
                appendLabels(out, labelNames, labels);
                out.append(' ').append(cumulative).append('\n');
            });
        }
    }

    private static int compareLabels(List<String> a, List<String> b) {
        return String.join("\u0000", a).compareTo(String.join("\u0000", b));
    }

    /** For tests and status: every family name registered. */
    public List<String> names() {
        return new ArrayList<>(families.keySet());
    }
}
