package io.isthmus.gateway.metrics;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class MetricsTest {
    /** One line of the Prometheus text format (0.0.4): a comment, or a sample with optional labels. */
    private static final Pattern HELP = Pattern.compile("# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*");
    private static final Pattern TYPE = Pattern.compile("# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)");
    private static final Pattern SAMPLE = Pattern.compile(
            "[a-zA-Z_:][a-zA-Z0-9_:]*"
                    + "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\""
                    + "(,[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\")*\\})?"
                    + " (-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]?Inf)");

    private final Metrics metrics = new Metrics();

    /** Checks every line of the exposition, and that each family's samples follow its HELP and TYPE lines. */
    private static List<String> assertValidExposition(String text) {
        assertTrue(text.isEmpty() || text.endsWith("\n"), "must end with a newline: " + text);
        List<String> lines = text.isEmpty() ? List.of() : List.of(text.substring(0, text.length() - 1).split("\n", -1));
        String family = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("# HELP ")) {
                assertTrue(HELP.matcher(line).matches(), "bad HELP line: " + line);
                family = line.split(" ")[2];
                String type = i + 1 < lines.size() ? lines.get(i + 1) : "";
                assertTrue(TYPE.matcher(type).matches(), "HELP must be followed by TYPE: " + type);
                assertEquals(family, type.split(" ")[2]);
                i++;
            } else if (SAMPLE.matcher(line).matches()) {
                if (family == null || !line.startsWith(family)) {
                    fail("sample outside its family " + family + ": " + line);
                }
            } else {
                fail("not a valid exposition line: [" + line + "]");
            }
        }
        return lines;
    }

    @Test
    void rendersNothingWithoutFamilies() {
        assertEquals("", metrics.render());
    }

    @Test
    void rendersCounterWithoutLabelsAtZeroBeforeAnyIncrement() {
        metrics.counter("isthmus_starts_total", "Gateway starts.");
        assertEquals("""
                # HELP isthmus_starts_total Gateway starts.
                # TYPE isthmus_starts_total counter
                isthmus_starts_total 0
                """, metrics.render());
    }

    @Test
    void rendersCounterWithoutLabelsAfterIncrements() {
        Metrics.Counter counter = metrics.counter("isthmus_starts_total", "Gateway starts.");
        counter.inc();
        counter.add(41);
        assertEquals(42, counter.get());
        assertTrue(metrics.render().contains("\nisthmus_starts_total 42\n"), metrics.render());
        assertValidExposition(metrics.render());
    }

    @Test
    void rendersLabelledCounterOneSamplePerLabelValueInOrder() {
        Metrics.Counter counter = metrics.counter("isthmus_messages_total", "Messages, by kind and peer.", "kind", "peer");
        counter.inc("hello", "west");
        counter.inc("snapshot", "east");
        counter.add(3, "hello", "east");
        counter.inc("hello", "east");
        assertEquals("""
                # HELP isthmus_messages_total Messages, by kind and peer.
                # TYPE isthmus_messages_total counter
                isthmus_messages_total{kind="hello",peer="east"} 4
                isthmus_messages_total{kind="hello",peer="west"} 1
                isthmus_messages_total{kind="snapshot",peer="east"} 1
                """, metrics.render());
        assertEquals(4, counter.get("hello", "east"));
        assertEquals(0, counter.get("never", "seen"));
    }

    @Test
    void labelledCounterHasNoSampleUntilIncremented() {
        metrics.counter("isthmus_rejected_total", "Rejected links, by reason.", "reason");
        List<String> lines = assertValidExposition(metrics.render());
        assertEquals(2, lines.size(), lines.toString());
    }

    @Test
    void escapesBackslashQuoteAndNewlineInLabelValues() {
        Metrics.Counter counter = metrics.counter("isthmus_errors_total", "Errors.", "detail");
        counter.inc("say \"hi\"\\now\nthen");
        String text = metrics.render();
        assertTrue(text.contains("isthmus_errors_total{detail=\"say \\\"hi\\\"\\\\now\\nthen\"} 1\n"), text);
        assertValidExposition(text);
    }

    @Test
    void rendersGaugeSamplesReadAtScrapeTime() {
        AtomicReference<Map<List<String>, Double>> samples = new AtomicReference<>(Map.of(List.of("east"), 1.0));
        metrics.gauge("isthmus_link_up", "1 when the link to a peer is up.", List.of("peer"), samples::get);
        assertTrue(metrics.render().contains("\nisthmus_link_up{peer=\"east\"} 1\n"), metrics.render());
        samples.set(Map.of(List.of("east"), 0.0, List.of("west"), 0.5));
        String text = metrics.render();
        assertTrue(text.contains("# TYPE isthmus_link_up gauge\n"), text);
        assertTrue(text.contains("\nisthmus_link_up{peer=\"east\"} 0\nisthmus_link_up{peer=\"west\"} 0.5\n"), text);
        assertValidExposition(text);
    }

    @Test
    void rendersGaugeWithoutLabels() {
        metrics.gauge("isthmus_imports", "Imported services.", List.of(), () -> Map.of(List.of(), 7.0));
        assertEquals("""
                # HELP isthmus_imports Imported services.
                # TYPE isthmus_imports gauge
                isthmus_imports 7
                """, metrics.render());
    }

    @Test
    void rendersGaugeWithNoSamplesAsJustItsHeader() {
        metrics.gauge("isthmus_imports", "Imported services.", List.of("cluster"), Map::of);
        assertEquals(2, assertValidExposition(metrics.render()).size());
    }

    @Test
    void rendersCounterFunctionAsCounter() {
        Map<List<String>, Double> samples = new LinkedHashMap<>();
        samples.put(List.of("udp"), 12.0);
        samples.put(List.of("tcp"), 3.0);
        metrics.counterFunction("isthmus_dns_queries_total", "DNS queries, by transport.", List.of("transport"),
                () -> samples);
        assertEquals("""
                # HELP isthmus_dns_queries_total DNS queries, by transport.
                # TYPE isthmus_dns_queries_total counter
                isthmus_dns_queries_total{transport="tcp"} 3
                isthmus_dns_queries_total{transport="udp"} 12
                """, metrics.render());
    }

    @Test
    void rendersFamiliesInNameOrderEachWithItsHeader() {
        metrics.counter("b_total", "B.").inc();
        metrics.gauge("a_gauge", "A.", List.of(), () -> Map.of(List.of(), 1.5));
        metrics.counterFunction("c_total", "C.", List.of("x"), () -> Map.of(List.of("y"), 2.0));
        List<String> lines = assertValidExposition(metrics.render());
        assertEquals(List.of("# HELP a_gauge A.", "# TYPE a_gauge gauge", "a_gauge 1.5",
                "# HELP b_total B.", "# TYPE b_total counter", "b_total 1",
                "# HELP c_total C.", "# TYPE c_total counter", "c_total{x=\"y\"} 2"), lines);
        assertEquals(List.of("a_gauge", "b_total", "c_total"), metrics.names());
    }

    @Test
    void rendersNonIntegerAndSpecialValuesAsPrometheusFloats() {
        Map<List<String>, Double> samples = new LinkedHashMap<>();
        samples.put(List.of("a"), 0.25);
        samples.put(List.of("b"), -3.0);
        samples.put(List.of("c"), Double.NaN);
        samples.put(List.of("d"), 1e20);
        metrics.gauge("g", "G.", List.of("k"), () -> samples);
        String text = metrics.render();
        assertValidExposition(text);
        assertTrue(text.contains("g{k=\"a\"} 0.25\n"), text);
        assertTrue(text.contains("g{k=\"b\"} -3\n"), text);
        assertTrue(text.contains("g{k=\"c\"} NaN\n"), text);
        assertEquals(1e20, Double.parseDouble(text.lines().filter(l -> l.startsWith("g{k=\"d\"}")).findFirst()
                .orElseThrow().split(" ")[1]));
    }

    @Test
    void rejectsRegisteringANameTwice() {
        metrics.counter("isthmus_x_total", "X.");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> metrics.counter("isthmus_x_total", "X again."));
        assertTrue(e.getMessage().contains("isthmus_x_total"), e.getMessage());
        assertThrows(IllegalStateException.class,
                () -> metrics.gauge("isthmus_x_total", "X.", List.of(), Map::of));
        assertThrows(IllegalStateException.class,
                () -> metrics.counterFunction("isthmus_x_total", "X.", List.of(), Map::of));
        assertEquals(List.of("isthmus_x_total"), metrics.names());
    }

    @Test
    void rejectsIncrementWithTheWrongNumberOfLabels() {
        Metrics.Counter counter = metrics.counter("isthmus_y_total", "Y.", "kind");
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class, counter::inc);
        assertTrue(none.getMessage().contains("isthmus_y_total"), none.getMessage());
        assertThrows(IllegalArgumentException.class, () -> counter.inc("a", "b"));
        assertThrows(IllegalArgumentException.class, () -> counter.add(2, "a", "b"));
        Metrics.Counter unlabelled = metrics.counter("isthmus_z_total", "Z.");
        assertThrows(IllegalArgumentException.class, () -> unlabelled.inc("a"));
        assertEquals(0, counter.get("a"));
        List<String> lines = assertValidExposition(metrics.render());
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("isthmus_y_total")), lines.toString());
        assertTrue(lines.contains("isthmus_z_total 0"), lines.toString());
    }

    @Test
    void countsCorrectlyFromManyThreads() throws InterruptedException {
        Metrics.Counter counter = metrics.counter("isthmus_c_total", "C.", "k");
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 10_000; i++) {
                    counter.inc(i % 2 == 0 ? "even" : "odd");
                }
            }));
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(20_000, counter.get("even"));
        assertEquals(20_000, counter.get("odd"));
    }

    @Test
    void rendersAHistogramWithCumulativeBucketsSumAndCount() {
        Metrics metrics = new Metrics();
        metrics.histogramFunction("isthmus_test_seconds", "A test histogram.", () -> new Metrics.HistogramSample(
                java.util.List.of(0.001, 0.01), java.util.List.of(3L, 5L, 6L), 0.042));
        String text = metrics.render();
        assertTrue(text.contains("# TYPE isthmus_test_seconds histogram\n"), text);
        assertTrue(text.contains("isthmus_test_seconds_bucket{le=\"0.001\"} 3\n"), text);
        assertTrue(text.contains("isthmus_test_seconds_bucket{le=\"0.01\"} 5\n"), text);
        assertTrue(text.contains("isthmus_test_seconds_bucket{le=\"+Inf\"} 6\n"), text);
        assertTrue(text.contains("isthmus_test_seconds_sum 0.042\n"), text);
        assertTrue(text.contains("isthmus_test_seconds_count 6\n"), text);
    }

    @Test
    void aLabelledHistogramCountsEachObservationInTheFirstBucketThatHoldsItAndRendersThemCumulatively() {
        Metrics.Histogram h = metrics.histogram("isthmus_test_seconds", "A test histogram.",
                List.of(0.01, 0.1, 1.0), "path");
        h.observe(0.01, "a");   // on a bound: counts in that bucket (le means "at most")
        h.observe(0.05, "a");
        h.observe(0.5, "a");
        h.observe(7.0, "a");    // above every bound: only in +Inf
        h.observe(-1.0, "a");   // not a duration: dropped
        h.observe(java.time.Duration.ofMillis(2), "b");
        List<String> lines = assertValidExposition(metrics.render());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"a\",le=\"0.01\"} 1"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"a\",le=\"0.1\"} 2"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"a\",le=\"1.0\"} 3"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"a\",le=\"+Inf\"} 4"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_count{path=\"a\"} 4"), lines.toString());
        double sum = lines.stream().filter(l -> l.startsWith("isthmus_test_seconds_sum{path=\"a\"} "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.indexOf(' ') + 1))).findFirst().orElseThrow();
        assertEquals(7.56, sum, 1e-9, lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"b\",le=\"0.01\"} 1"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_sum{path=\"b\"} 0.002"), lines.toString());
        assertEquals(4, h.count("a"));
        assertThrows(IllegalArgumentException.class, () -> h.observe(1.0));
        assertThrows(IllegalArgumentException.class,
                () -> metrics.histogram("isthmus_bad_seconds", "x", List.of(1.0, 0.5)));
    }

    @Test
    void aLabelledHistogramLosesNoObservationUnderConcurrentWriters() throws Exception {
        Metrics.Histogram h = metrics.histogram("isthmus_test_seconds", "A test histogram.",
                List.of(0.5), "path");
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            writers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 10_000; i++) {
                    h.observe(i % 2 == 0 ? 0.25 : 0.75, "p");
                }
            }));
        }
        for (Thread w : writers) {
            w.join(10_000);
        }
        List<String> lines = assertValidExposition(metrics.render());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{path=\"p\",le=\"0.5\"} 20000"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_count{path=\"p\"} 40000"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_sum{path=\"p\"} 20000"), lines.toString());
    }

    @Test
    void aPeerLabelShowsItsFirstSixtyFourValuesAndSumsTheRestUnderOther() {
        Metrics.Counter drops = metrics.counter("isthmus_test_drops_total", "Drops.", "peer", "reason");
        for (int i = 0; i < 70; i++) {
            drops.add(i + 1, String.format("c%02d", i), "replay");
        }
        List<String> lines = assertValidExposition(metrics.render());
        long series = lines.stream().filter(l -> l.startsWith("isthmus_test_drops_total{")).count();
        assertEquals(65, series, lines.toString());
        assertTrue(lines.contains("isthmus_test_drops_total{peer=\"c63\",reason=\"replay\"} 64"), lines.toString());
        assertTrue(lines.stream().noneMatch(l -> l.contains("c64")), lines.toString());
        // c64..c69 counted 65+66+67+68+69+70
        assertTrue(lines.contains("isthmus_test_drops_total{peer=\"other\",reason=\"replay\"} 405"), lines.toString());
        // a value admitted once keeps its own series; a new one joins other
        drops.inc("a-new-peer", "replay");
        drops.inc("c00", "replay");
        List<String> again = assertValidExposition(metrics.render());
        assertTrue(again.contains("isthmus_test_drops_total{peer=\"c00\",reason=\"replay\"} 2"), again.toString());
        assertTrue(again.contains("isthmus_test_drops_total{peer=\"other\",reason=\"replay\"} 406"), again.toString());
    }

    @Test
    void aClusterLabelOfAGaugeAndAHistogramIsBoundedToo() {
        Map<List<String>, Double> skew = new LinkedHashMap<>();
        for (int i = 0; i < 100; i++) {
            skew.put(List.of(String.format("k%03d", i)), 1.0);
        }
        metrics.gauge("isthmus_test_skew_seconds", "Skew.", List.of("cluster"), () -> skew);
        Metrics.Histogram h = metrics.histogram("isthmus_test_seconds", "H.", List.of(1.0), "link");
        for (int i = 0; i < 100; i++) {
            h.observe(0.5, String.format("l%03d", i));
        }
        List<String> lines = assertValidExposition(metrics.render());
        assertEquals(65, lines.stream().filter(l -> l.startsWith("isthmus_test_skew_seconds{")).count());
        assertTrue(lines.contains("isthmus_test_skew_seconds{cluster=\"other\"} 36"), lines.toString());
        assertEquals(65, lines.stream().filter(l -> l.startsWith("isthmus_test_seconds_count{")).count());
        assertTrue(lines.contains("isthmus_test_seconds_count{link=\"other\"} 36"), lines.toString());
        assertTrue(lines.contains("isthmus_test_seconds_bucket{link=\"other\",le=\"1.0\"} 36"), lines.toString());
    }

    @Test
    void labelsOtherThanPeerClusterAndLinkAreNotBounded() {
        Metrics.Counter c = metrics.counter("isthmus_test_total", "T.", "pool");
        for (int i = 0; i < 100; i++) {
            c.inc("p" + i);
        }
        List<String> lines = assertValidExposition(metrics.render());
        assertEquals(100, lines.stream().filter(l -> l.startsWith("isthmus_test_total{")).count());
    }
}
