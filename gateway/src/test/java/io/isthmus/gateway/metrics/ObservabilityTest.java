package io.isthmus.gateway.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.testing.Netns;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What an operator's monitoring sees of a real gateway (its tunnel on, in a namespace of its own, and a second
 * gateway linked to it as its peer, so that the per-peer series exist): the Grafana
 * dashboard in observability/ asks only for series the gateway exports, and Debian's Prometheus server scrapes the
 * gateway and answers PromQL about it (every dashboard query among them). The exposition is read here as Prometheus
 * text, independently of the registry that writes it. Needs root (the tunnel's namespace) and the prometheus
 * package (scripts/test installs it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ObservabilityTest {
    private static final Path DASHBOARD = Path.of("..", "observability", "grafana", "isthmus-gateway.json");
    private static final Path PROMETHEUS = Path.of("/usr/bin/prometheus");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private Netns netns;
    private Gateway gateway;
    private Gateway peer;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) throws InterruptedException {
        assertTrue(Netns.isRoot(), "this test runs the tunnel in a network namespace: run it as root (CI does)");
        this.dir = dir;
        netns = new Netns("obs");
        String ns = netns.create("gw");
        Netns.ip("-n", ns, "link", "set", "lo", "up");
        Netns.ip("-n", ns, "addr", "add", "192.168.231.1/32", "dev", "lo"); // the tunnel's underlay address
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        gateway = TestGateways.start("east", dir, dir, """
                plan { members = [east], supernets.pod = [{cidr = "10.151.0.0/16", segment-prefix = 24}] }
                tunnel { enabled = on, listen = "192.168.231.1:51820", namespace = "%s", queues = 1 }
                ipam.cni-socket = "ipam.sock"
                peering.heartbeat-interval = 200ms
                """.formatted(ns));
        Path west = dir.resolve("west");
        ca.issue(ClusterId.of("west"), Duration.ofDays(1)).writeTo(west.resolve("tls"));
        peer = TestGateways.start("west", west, west, "peering { peers = [\"127.0.0.1:%d\"], heartbeat-interval = 200ms }"
                .formatted(gateway.peeringAddress().getPort()));
        // Every test reads the per-peer series: the link's hello makes the propagation histogram's.
        awaitTrue(() -> scrape().contains("isthmus_peering_propagation_seconds_count{peer=\"west\"} "),
                Duration.ofSeconds(60), () -> "west never linked to east: " + gateway.mesh().links());
    }

    @AfterAll
    void stop() {
        if (peer != null) {
            peer.close();
        }
        if (gateway != null) {
            gateway.close();
        }
        if (netns != null) {
            netns.close();
        }
    }

    @Test
    void thePeersClockSkewAndPropagationShowOnceItIsLinked() throws Exception {
        awaitTrue(() -> scrape().lines().anyMatch(l -> l.startsWith("isthmus_peering_clock_skew_seconds{peer=\"west\"} ")),
                Duration.ofSeconds(30), () -> "no clock skew of the linked peer west in /metrics");
        // The histogram's series shows from the link's hello on (count 0 until a delta is timed).
        assertTrue(scrape().lines().anyMatch(l -> l.startsWith("isthmus_peering_propagation_seconds_count{peer=\"west\"} ")),
                "no propagation series of the linked peer west in /metrics");
    }

    @Test
    void theDashboardAsksOnlyForSeriesTheGatewayExports() throws Exception {
        Set<String> exported = exportedSeriesNames(scrape());
        Map<String, Set<String>> referenced = dashboardMetricNames();
        assertTrue(referenced.size() >= 15, "the dashboard's queries name few metrics: " + referenced);
        Map<String, Set<String>> unknown = new TreeMap<>();
        referenced.forEach((name, panels) -> {
            if (!exported.contains(name)) {
                unknown.put(name, panels);
            }
        });
        assertEquals(Map.of(), unknown, "metric names the dashboard queries (with their panels) that the gateway does "
                + "not export; it exports " + exported);
    }

    @Test
    void prometheusScrapesTheGatewayAndAnswersPromQl() throws Exception {
        assertTrue(Files.isExecutable(PROMETHEUS), PROMETHEUS + " is missing: apt-get install prometheus (scripts/test does)");
        int webPort = freePort();
        Path config = dir.resolve("prometheus.yml");
        Files.writeString(config, """
                global:
                  scrape_interval: 1s
                  evaluation_interval: 1s
                scrape_configs:
                  - job_name: isthmus
                    metrics_path: /metrics
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(gateway.adminAddress().getPort()));
        Path log = dir.resolve("prometheus.log");
        Process prometheus = new ProcessBuilder(PROMETHEUS.toString(), "--config.file=" + config,
                "--storage.tsdb.path=" + dir.resolve("prometheus-data"), "--web.listen-address=127.0.0.1:" + webPort,
                "--storage.tsdb.retention.time=1h", "--log.level=warn")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            URI base = URI.create("http://127.0.0.1:" + webPort + "/");
            awaitTrue(() -> get(base.resolve("-/ready")).statusCode() == 200, Duration.ofSeconds(60),
                    () -> "prometheus is not ready: " + tail(log));
            // The scrape must succeed (a malformed exposition fails it: up = 0 and lastError says why).
            awaitTrue(() -> "1".equals(instantValue(base, "up{job=\"isthmus\"}")), Duration.ofSeconds(60),
                    () -> "the gateway's target is not up: " + targets(base) + "\n" + tail(log));
            assertEquals("1", instantValue(base, "sum(isthmus_ready{job=\"isthmus\"})"));
            awaitTrue(() -> "1".equals(instantValue(base, "count(isthmus_tunnel_info{job=\"isthmus\"})")),
                    Duration.ofSeconds(30), () -> "no isthmus_tunnel_info series: " + targets(base));
            // Every dashboard query parses and evaluates in this Prometheus (Grafana's variables filled in).
            for (String expression : dashboardExpressions()) {
                String promql = expression.replace("$__rate_interval", "1m").replace("$job", ".+")
                        .replace("$instance", ".+");
                JsonNode answer = query(base, promql);
                assertEquals("success", answer.path("status").asText(), promql + " -> " + answer);
            }
        } finally {
            prometheus.destroy();
            if (!prometheus.waitFor(20, TimeUnit.SECONDS)) {
                prometheus.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    /** Token of a name → why it is not a base unit (Prometheus: seconds, bytes; ratios rather than percent). */
    private static final Map<String, String> NOT_BASE_UNITS = Map.ofEntries(
            Map.entry("ms", "seconds"), Map.entry("millis", "seconds"), Map.entry("milliseconds", "seconds"),
            Map.entry("us", "seconds"), Map.entry("micros", "seconds"), Map.entry("microseconds", "seconds"),
            Map.entry("ns", "seconds"), Map.entry("nanos", "seconds"), Map.entry("nanoseconds", "seconds"),
            Map.entry("minutes", "seconds"), Map.entry("hours", "seconds"), Map.entry("days", "seconds"),
            Map.entry("kb", "bytes"), Map.entry("kib", "bytes"), Map.entry("mb", "bytes"), Map.entry("mib", "bytes"),
            Map.entry("gb", "bytes"), Map.entry("kilobytes", "bytes"), Map.entry("megabytes", "bytes"),
            Map.entry("percent", "a ratio (0..1)"));
    /** Words that name a duration: such a metric states its unit, seconds. */
    private static final Set<String> TIME_WORDS = Set.of("latency", "duration", "time", "age", "rtt", "delay", "elapsed", "wait");
    /** The most values one label takes in this one-cluster gateway; per-peer labels are bounded by the peers. */
    private static final int LABEL_VALUES_BOUND = 64;

    @Test
    void everyExportedMetricFollowsPrometheusConventions() throws Exception {
        String exposition = scrape();
        Map<String, String> types = new TreeMap<>();
        Set<String> helped = new TreeSet<>();
        Map<String, List<String[]>> samples = new TreeMap<>(); // sample name -> [labels, value]
        for (String line : exposition.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                types.put(parts[2], parts[3]);
            } else if (line.startsWith("# HELP ")) {
                String[] parts = line.split(" ", 4);
                if (parts.length == 4 && !parts[3].isBlank()) {
                    helped.add(parts[2]);
                }
            } else if (!line.isBlank() && !line.startsWith("#")) {
                Matcher m = SAMPLE.matcher(line);
                assertTrue(m.matches(), "not a sample line of the text format: " + line);
                samples.computeIfAbsent(m.group(1), k -> new ArrayList<>())
                        .add(new String[] {m.group(2) == null ? "" : m.group(2), m.group(3)});
            }
        }
        assertTrue(types.size() >= 30, "few metric families: " + types.keySet());
        List<String> problems = new ArrayList<>();
        types.forEach((name, type) -> {
            List<String> tokens = List.of(name.split("_"));
            if (!name.matches("isthmus_[a-z][a-z0-9]*(_[a-z0-9]+)*")) {
                problems.add(name + ": not isthmus_ followed by lower-case snake_case");
            }
            if (!helped.contains(name)) {
                problems.add(name + ": no HELP text");
            }
            if (type.equals("counter") != name.endsWith("_total")) {
                problems.add(name + ": a " + type + (type.equals("counter") ? " must end in _total" : " must not end in _total"));
            }
            if (!Set.of("counter", "gauge", "histogram").contains(type)) {
                problems.add(name + ": type " + type + " (counters, gauges and histograms only; latencies are histograms)");
            }
            tokens.forEach(token -> {
                if (NOT_BASE_UNITS.containsKey(token)) {
                    problems.add(name + ": '" + token + "' is not a base unit; use " + NOT_BASE_UNITS.get(token));
                }
            });
            String unitPart = name.replaceAll("_total$", "");
            if (tokens.stream().anyMatch(TIME_WORDS::contains) && !unitPart.endsWith("_seconds")) {
                problems.add(name + ": names a duration but does not end in _seconds" + (type.equals("counter") ? "_total" : ""));
            }
            if (name.endsWith("_info") && samples.getOrDefault(name, List.of()).stream().anyMatch(s -> !s[1].equals("1"))) {
                problems.add(name + ": an _info gauge's samples are 1");
            }
            if (type.equals("histogram")) {
                problems.addAll(histogramProblems(name, samples));
            } else {
                for (String suffix : List.of("_bucket", "_sum", "_count")) {
                    if (samples.containsKey(name + suffix) && !types.containsKey(name + suffix)) {
                        problems.add(name + suffix + ": a histogram's series name on a " + type);
                    }
                }
            }
        });
        samples.forEach((sampleName, list) -> {
            String family = types.containsKey(sampleName) ? sampleName : sampleName.replaceAll("_(bucket|sum|count)$", "");
            if (!types.containsKey(family)) {
                problems.add(sampleName + ": a sample without a TYPE line");
            }
            Map<String, Set<String>> valuesPerLabel = new TreeMap<>();
            for (String[] sample : list) {
                Matcher label = LABEL.matcher(sample[0]);
                while (label.find()) {
                    valuesPerLabel.computeIfAbsent(label.group(1), k -> new TreeSet<>()).add(label.group(2));
                }
            }
            valuesPerLabel.forEach((label, values) -> {
                if (!label.matches("[a-z][a-z0-9_]*")) {
                    problems.add(sampleName + ": label " + label + " is not snake_case");
                }
                if (values.size() > LABEL_VALUES_BOUND) {
                    problems.add(sampleName + ": label " + label + " takes " + values.size() + " values (bound "
                            + LABEL_VALUES_BOUND + ")");
                }
            });
        });
        assertEquals(List.of(), problems, "metrics against Prometheus's naming conventions");
        assertEquals("histogram", types.get("isthmus_dns_response_seconds"), "DNS answer time is a histogram");
    }

    private static final Pattern SAMPLE =
            Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    /** _bucket series with ascending le ending at +Inf, counts that never fall, _count equal to +Inf's, a _sum. */
    /** Per series (the labels other than le), buckets rise to +Inf, which equals _count, and there is a _sum. */
    private static List<String> histogramProblems(String name, Map<String, List<String[]>> samples) {
        List<String> problems = new ArrayList<>();
        Map<String, List<String[]>> bucketsBySeries = new TreeMap<>();
        for (String[] bucket : samples.getOrDefault(name + "_bucket", List.of())) {
            bucketsBySeries.computeIfAbsent(seriesKey(bucket[0]), k -> new ArrayList<>()).add(bucket);
        }
        Map<String, String> counts = new TreeMap<>();
        samples.getOrDefault(name + "_count", List.of()).forEach(c -> counts.put(seriesKey(c[0]), c[1]));
        Set<String> sums = new TreeSet<>();
        samples.getOrDefault(name + "_sum", List.of()).forEach(c -> sums.add(seriesKey(c[0])));
        if (bucketsBySeries.isEmpty()) {
            problems.add(name + ": a histogram without an le=\"+Inf\" bucket");
        }
        bucketsBySeries.forEach((series, buckets) -> {
            double lastBound = Double.NEGATIVE_INFINITY;
            double lastCount = 0;
            String infCount = null;
            for (String[] bucket : buckets) {
                Matcher le = Pattern.compile("le=\"([^\"]*)\"").matcher(bucket[0]);
                if (!le.find()) {
                    problems.add(name + "_bucket without le: " + bucket[0]);
                    continue;
                }
                double bound = le.group(1).equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le.group(1));
                double count = Double.parseDouble(bucket[1]);
                if (bound <= lastBound || count < lastCount) {
                    problems.add(name + series + ": buckets out of order or falling at le=" + le.group(1));
                }
                lastBound = bound;
                lastCount = count;
                if (le.group(1).equals("+Inf")) {
                    infCount = bucket[1];
                }
            }
            if (infCount == null) {
                problems.add(name + series + ": a histogram without an le=\"+Inf\" bucket");
            }
            String count = counts.get(series);
            if (count == null || infCount == null || Double.parseDouble(count) != Double.parseDouble(infCount)) {
                problems.add(name + series + ": _count must equal the +Inf bucket");
            }
            if (!sums.contains(series)) {
                problems.add(name + series + ": no _sum");
            }
        });
        return problems;
    }

    /** A sample's label text without le, in order: which series of a histogram the sample belongs to. */
    private static String seriesKey(String labelText) {
        List<String> labels = new ArrayList<>();
        Matcher label = LABEL.matcher(labelText);
        while (label.find()) {
            if (!label.group(1).equals("le")) {
                labels.add(label.group(1) + "=" + label.group(2));
            }
        }
        return labels.toString();
    }

    // ---- the exposition, read as Prometheus text -------------------------------------------------------------------

    private String scrape() throws IOException, InterruptedException {
        HttpResponse<String> response = get(URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + "/metrics"));
        assertEquals(200, response.statusCode(), response.body());
        return response.body();
    }

    /** The names a query may use: a counter's or gauge's own name, a histogram's _bucket, _sum and _count. */
    static Set<String> exportedSeriesNames(String exposition) {
        Set<String> names = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            String[] parts = line.split(" ");
            if (parts.length == 4 && parts[0].equals("#") && parts[1].equals("TYPE")) {
                switch (parts[3]) {
                    case "histogram" -> List.of("_bucket", "_sum", "_count").forEach(s -> names.add(parts[2] + s));
                    case "summary" -> List.of("", "_sum", "_count").forEach(s -> names.add(parts[2] + s));
                    default -> names.add(parts[2]);
                }
            }
        }
        return names;
    }

    // ---- the dashboard ---------------------------------------------------------------------------------------------

    private List<String> dashboardExpressions() throws IOException {
        List<String> out = new ArrayList<>();
        for (JsonNode panel : allPanels()) {
            for (JsonNode target : panel.path("targets")) {
                out.add(target.path("expr").asText());
            }
        }
        return out;
    }

    private List<JsonNode> allPanels() throws IOException {
        JsonNode dashboard = JSON.readTree(DASHBOARD.toFile());
        List<JsonNode> panels = new ArrayList<>();
        for (JsonNode panel : dashboard.path("panels")) {
            panels.add(panel);
            panel.path("panels").forEach(panels::add);
        }
        return panels;
    }

    /** Metric name → titles of the panels (or variables) whose queries use it. */
    private Map<String, Set<String>> dashboardMetricNames() throws IOException {
        Map<String, Set<String>> names = new TreeMap<>();
        for (JsonNode panel : allPanels()) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                assertTrue(!expr.isBlank(), "panel '" + panel.path("title").asText() + "' has a target without expr");
                metricNames(expr).forEach(n -> names.computeIfAbsent(n, k -> new TreeSet<>()).add(panel.path("title").asText()));
            }
        }
        Pattern labelValues = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)");
        for (JsonNode variable : JSON.readTree(DASHBOARD.toFile()).path("templating").path("list")) {
            Matcher m = labelValues.matcher(variable.path("query").asText());
            while (m.find()) {
                names.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add("variable $" + variable.path("name").asText());
            }
        }
        return names;
    }

    private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan");

    /**
     * The metric names in a PromQL expression, read naively: string literals, label matchers ({...}), ranges
     * ([...]) and grouping label lists (by (...), on (...)) are dropped; of the identifiers left, those not
     * followed by '(' (functions, aggregations) and not PromQL keywords are metric names.
     */
    static Set<String> metricNames(String promql) {
        String s = promql.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                .replaceAll("\\{[^}]*}", " ")
                .replaceAll("\\[[^]]*]", " ")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*").matcher(s);
        while (m.find()) {
            String word = m.group();
            if (m.start() > 0 && Character.isDigit(s.charAt(m.start() - 1))) {
                continue; // the exponent or unit of a number (1e3, 0.5)
            }
            String rest = s.substring(m.end()).stripLeading();
            if (rest.startsWith("(") || PROMQL_WORDS.contains(word.toLowerCase())) {
                continue;
            }
            names.add(word);
        }
        return names;
    }

    @Test
    void metricNamesAreReadFromPromQlAsWritten() {
        assertEquals(Set.of("a_bucket"), metricNames(
                "histogram_quantile(0.99, sum by (le, pool) (rate(a_bucket{job=~\"x|y\", le!=\"1\"}[5m])))"));
        assertEquals(Set.of("x_total", "y"), metricNames("sum(rate(x_total[1m] offset 5m)) / on (instance) group_left y > 1e3"));
        assertEquals(Set.of("up"), metricNames("up == bool 1 and on() vector(1)"));
    }

    // ---- Prometheus's HTTP API -------------------------------------------------------------------------------------

    private JsonNode query(URI base, String promql) throws IOException, InterruptedException {
        HttpResponse<String> response = get(base.resolve("api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8)));
        return JSON.readTree(response.body());
    }

    /** The value of the single series an instant query answers, or null when it answers none or several. */
    private String instantValue(URI base, String promql) throws IOException, InterruptedException {
        JsonNode result = query(base, promql).path("data").path("result");
        return result.size() == 1 ? result.get(0).path("value").get(1).asText() : null;
    }

    private String targets(URI base) {
        try {
            return get(base.resolve("api/v1/targets")).body();
        } catch (IOException | InterruptedException e) {
            return "targets unreadable: " + e;
        }
    }

    private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void awaitTrue(Check check, Duration timeout, java.util.function.Supplier<String> why)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(250);
        }
        fail(why.get() + (last == null ? "" : " (last error: " + last + ")"));
    }
}
