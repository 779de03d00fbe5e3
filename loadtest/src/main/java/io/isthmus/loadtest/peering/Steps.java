package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.loadtest.dns.BenchZone;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * The measured steps against the three clustered gateway processes. Every wait is bounded; a figure that is
 * slow is printed, never an error; a gateway that does not answer at all is a {@link PeeringBench.Failure}.
 */
final class Steps {
    private static final String SNAPSHOTS_RECEIVED = "isthmus_peering_messages_received_total{kind=\"export_snapshot\"}";

    private final Options options;
    private final PrintStream out;
    private final BenchZone zone;
    private final Duration poll;

    Steps(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
        this.zone = new BenchZone(options.string("zone", "clusterset.local"), options.string("namespace", "bench"));
        this.poll = Duration.ofMillis(options.integer("poll-ms", 2, 1, 1000));
    }

    private Duration timeout(int fallbackSeconds) {
        return Duration.ofSeconds(options.integer("timeout-s", fallbackSeconds, 1, 3600));
    }

    private Map<String, AdminApi> admins(String option) {
        Map<String, AdminApi> out = new LinkedHashMap<>();
        options.pairs(option).forEach((name, url) -> out.put(name, new AdminApi(name, Options.admin(url, "--" + option))));
        return out;
    }

    private static JsonNode statusOrNull(AdminApi api) throws InterruptedException {
        try {
            return api.status();
        } catch (IOException e) {
            return null;
        }
    }

    /** The exports a gateway offers: its count and version, from its status. */
    private record Exports(long count, long version) {
        static Exports of(AdminApi api) throws IOException, InterruptedException {
            JsonNode status = api.status();
            return new Exports(status.path("exports").path("count").asLong(), status.path("exports").path("version").asLong());
        }
    }

    /** Whether {@code status} holds all of {@code exports} from {@code origin}, served. */
    private static boolean holdsAll(JsonNode status, String origin, Exports exports) {
        Optional<JsonNode> from = AdminApi.importsFrom(status, origin);
        return from.isPresent() && from.get().path("exports").asLong() == exports.count()
                && from.get().path("version").asLong() >= exports.version() && from.get().path("served").asBoolean(true);
    }

    /** Whether the DNS directory of {@code status} has at least {@code count} imported services. */
    private static boolean directoryHolds(JsonNode status, long count) {
        return status.path("imports").path("count").asLong() >= count;
    }

    int awaitLinks() throws InterruptedException, PeeringBench.Failure {
        Map<String, AdminApi> admins = admins("admins");
        Duration timeout = timeout(120);
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        for (AdminApi api : admins.values()) {
            while (true) {
                JsonNode status = statusOrNull(api);
                List<String> missing = new ArrayList<>();
                for (String other : admins.keySet()) {
                    if (!other.equals(api.name()) && (status == null || !AdminApi.linkUp(status, other))) {
                        missing.add(other);
                    }
                }
                if (missing.isEmpty()) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new PeeringBench.Failure(api.name() + " has no up peer link to " + String.join(", ", missing)
                            + " after " + timeout.toSeconds() + " s" + (status == null ? "" : ": " + status.path("peers")));
                }
                Thread.sleep(100);
            }
        }
        out.printf(Locale.ROOT, "  all %d gateways peered with each other (every link up) %s after they were ready%n",
                admins.size(), PeeringBench.seconds(System.nanoTime() - start));
        return 0;
    }

    int awaitSync() throws IOException, InterruptedException, PeeringBench.Failure {
        String origin = options.required("origin");
        Exports exports = Exports.of(new AdminApi(origin, options.uri("origin-admin")));
        Map<String, AdminApi> receivers = admins("receivers");
        Duration timeout = timeout(600);
        long start = System.nanoTime();
        Map<String, Long> done = new LinkedHashMap<>();
        JsonNode last = null;
        while (done.size() < receivers.size()) {
            for (AdminApi api : receivers.values()) {
                if (done.containsKey(api.name())) {
                    continue;
                }
                JsonNode status = statusOrNull(api);
                if (status != null && holdsAll(status, origin, exports) && directoryHolds(status, exports.count())) {
                    done.put(api.name(), System.nanoTime() - start);
                    out.printf(Locale.ROOT, "  %s holds all %,d of %s's exports (version %d) and answers for them %s after "
                            + "the last export was acknowledged%n", api.name(), exports.count(), origin, exports.version(),
                            PeeringBench.seconds(System.nanoTime() - start));
                }
                last = status == null ? last : status;
            }
            if (System.nanoTime() - start > timeout.toNanos()) {
                throw new PeeringBench.Failure("the receivers did not hold all " + exports.count() + " exports of "
                        + origin + " within " + timeout.toSeconds() + " s; last status: "
                        + (last == null ? "-" : last.path("imports")));
            }
            Thread.sleep(50);
        }
        return 0;
    }

    int propagation() throws IOException, InterruptedException {
        AdminApi origin = new AdminApi(options.string("origin", "origin"), options.uri("origin-admin"));
        Map<String, InetSocketAddress> receivers = new LinkedHashMap<>();
        options.pairs("receivers").forEach((name, port) -> receivers.put(name, Options.address(port, "--receivers")));
        int services = options.integer("services", 10_000, 1, BenchZone.MAX_SERVICES / 2);
        int changes = options.integer("changes", 200, 1, 100_000);
        Duration timeout = Duration.ofMillis(options.integer("timeout-ms", 10_000, 100, 600_000));
        Random random = new Random(options.longValue("seed", 42));

        List<Long> acks = new ArrayList<>();
        Map<String, List<Long>> at = new LinkedHashMap<>();
        Map<String, Integer> missed = new LinkedHashMap<>();
        receivers.keySet().forEach(name -> {
            at.put(name, new ArrayList<>());
            missed.put(name, 0);
        });
        List<Long> both = new ArrayList<>();
        List<Long> bothNew = new ArrayList<>();
        List<Long> bothChanged = new ArrayList<>();
        int report = Math.max(25, changes / 4);
        double[] countersBefore = peeringCounters(origin);
        long started = System.nanoTime();
        try (DnsProbe probe = new DnsProbe(poll)) {
            for (int i = 1; i <= changes; i++) {
                boolean fresh = i % 2 == 1;
                int n = fresh ? services + (i + 1) / 2 : 1 + random.nextInt(services);
                String ip = fresh ? BenchZone.ip(n) : changedIp(i);
                String body = "{\"namespace\":\"" + zone.namespace() + "\",\"name\":\"" + BenchZone.serviceName(n)
                        + "\",\"type\":\"ClusterSetIP\",\"ports\":[\"80/TCP\"],\"ips\":[\"" + ip + "\"]}";
                long sent = System.nanoTime();
                origin.export(body);
                long acked = System.nanoTime();
                acks.add(acked - sent);
                Map<String, CompletableFuture<Long>> watches = new LinkedHashMap<>();
                receivers.forEach((name, dns) -> watches.put(name, probe.await(dns, zone.fqdn(n), List.of(ip), acked, timeout)));
                long slowest = 0;
                boolean all = true;
                for (var watch : watches.entrySet()) {
                    long nanos = watch.getValue().join();
                    if (nanos < 0) {
                        missed.merge(watch.getKey(), 1, Integer::sum);
                        all = false;
                    } else {
                        at.get(watch.getKey()).add(nanos);
                        slowest = Math.max(slowest, nanos);
                    }
                }
                if (all) {
                    both.add(slowest);
                    (fresh ? bothNew : bothChanged).add(slowest);
                }
                if (i % report == 0 && i < changes) {
                    Percentiles so = Percentiles.of(both);
                    out.printf(Locale.ROOT, "  %d of %d changes: p50 %s ms, p99 %s ms so far (at the later receiver)%n", i,
                            changes, Percentiles.ms(so.millis(0.5)), Percentiles.ms(so.millis(0.99)));
                }
            }
            out.printf(Locale.ROOT, "  %d changes in %s; the DNS probe sent %,d queries%n", changes,
                    PeeringBench.seconds(System.nanoTime() - started), probe.queriesSent());
        }
        double[] countersAfter = peeringCounters(origin);
        out.printf(Locale.ROOT, "  meanwhile %s sent %.0f deltas and %.0f full snapshots on its peer streams and was asked "
                        + "for %.0f resyncs%n", origin.name(), countersAfter[0] - countersBefore[0],
                countersAfter[1] - countersBefore[1], countersAfter[2] - countersBefore[2]);
        out.println();
        out.printf(Locale.ROOT, "PROPAGATION — %d export changes at %s, one at a time (odd: a new service, even: a new "
                + "address for an existing one),%n  from the POST's acknowledgement to the first correct DNS answer at each "
                + "other cluster (DNS asked every %d ms, every 10 ms after 100 ms)%n", changes, origin.name(), poll.toMillis());
        out.printf(Locale.ROOT, "  %-38s %8s %8s %8s %8s %10s%n", "", "p50 ms", "p90 ms", "p99 ms", "max ms", "answered");
        for (String name : receivers.keySet()) {
            row(name, Percentiles.of(at.get(name)), changes - missed.get(name) + "/" + changes);
        }
        Percentiles all = Percentiles.of(both);
        row("both (the later of the two)", all, both.size() + "/" + changes);
        row("  new services", Percentiles.of(bothNew), "");
        row("  new addresses of existing services", Percentiles.of(bothChanged), "");
        row("admin POST, sent to acknowledged", Percentiles.of(acks), "");
        out.printf(Locale.ROOT, "  target (issue 5): p99 <= 100 ms. Measured p99 %s ms (the later receiver): %s%n",
                Percentiles.ms(all.millis(0.99)), verdict(all.millis(0.99), 100));
        return 0;
    }

    /** An exporter's peering counters: deltas sent, snapshots sent, resync requests received. */
    private static double[] peeringCounters(AdminApi api) throws IOException, InterruptedException {
        String metrics = api.metrics();
        return new double[] {
                AdminApi.metric(metrics, "isthmus_peering_messages_sent_total{kind=\"export_delta\"}"),
                AdminApi.metric(metrics, "isthmus_peering_messages_sent_total{kind=\"export_snapshot\"}"),
                AdminApi.metric(metrics, "isthmus_peering_messages_received_total{kind=\"resync_request\"}")};
    }

    private void row(String label, Percentiles p, String answered) {
        out.printf(Locale.ROOT, "  %-38s %8s %8s %8s %8s %10s%n", label, Percentiles.ms(p.millis(0.5)),
                Percentiles.ms(p.millis(0.9)), Percentiles.ms(p.millis(0.99)), Percentiles.ms(p.maxMillis()), answered);
    }

    static String verdict(double measured, double target) {
        if (Double.isNaN(measured)) {
            return "no figure";
        }
        return measured <= target ? "meets it" : String.format(Locale.ROOT, "misses it (%.1fx the target)", measured / target);
    }

    /** The i-th changed address: 10.112.0.0 + i, outside the 10.96.0.0/12 the benchmark's services start in. */
    static String changedIp(int i) {
        long address = (10L << 24) + (112L << 16) + (i & 0xfffff);
        return ((address >> 24) & 255) + "." + ((address >> 16) & 255) + "." + ((address >> 8) & 255) + "." + (address & 255);
    }

    /** Polls /readyz every 10 ms; returns the nanoTime it first answered 200, and whether it already did at first. */
    private record Ready(long atNanos, boolean alreadyAtFirstPoll) {
    }

    private Ready awaitReady(AdminApi api, Duration timeout) throws InterruptedException, PeeringBench.Failure {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean first = true;
        String lastAnswer = "never asked";
        while (System.nanoTime() < deadline) {
            Optional<String> notReady = api.notReady();
            if (notReady.isEmpty()) {
                return new Ready(System.nanoTime(), first);
            }
            lastAnswer = notReady.get();
            first = false;
            Thread.sleep(10);
        }
        throw new PeeringBench.Failure(api.name() + " was not ready within " + timeout.toSeconds()
                + " s of its launch; /readyz last answered: " + lastAnswer);
    }

    private String launchToReady(Ready ready) {
        long launchedAt = options.longValue("launched-at-ms", 0);
        if (launchedAt == 0) {
            return "";
        }
        long nowMs = System.currentTimeMillis() - (System.nanoTime() - ready.atNanos()) / 1_000_000;
        return String.format(Locale.ROOT, "%.1f s after its launch", (nowMs - launchedAt) / 1000.0);
    }

    /** {@code --probe svc-N}: a service whose address is still the benchmark's first one, BenchZone.ip(N). */
    private int probe() {
        String text = options.required("probe");
        try {
            return Integer.parseInt(text.replaceFirst("^svc-", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--probe takes svc-N, got '" + text + "'");
        }
    }

    private static String plus(long nanos) {
        return nanos == Long.MIN_VALUE ? "-" : String.format(Locale.ROOT, "%+.0f ms", nanos / 1e6);
    }

    int resyncReceiver() throws IOException, InterruptedException, PeeringBench.Failure {
        String name = options.required("name");
        String origin = options.required("origin");
        AdminApi target = new AdminApi(name, options.uri("admin"));
        InetSocketAddress dns = Options.address(options.required("dns"), "--dns");
        Exports exports = Exports.of(new AdminApi(origin, options.uri("origin-admin")));
        int probe = probe();
        String fqdn = zone.fqdn(probe);
        List<String> expected = List.of(BenchZone.ip(probe));
        Duration timeout = timeout(120);
        Ready ready = awaitReady(target, timeout);
        long link = Long.MIN_VALUE;
        long imports = Long.MIN_VALUE;
        long directory = Long.MIN_VALUE;
        long dnsNanos;
        JsonNode last = null;
        try (DnsProbe dnsProbe = new DnsProbe(poll)) {
            CompletableFuture<Long> answer = dnsProbe.await(dns, fqdn, expected, ready.atNanos(), timeout);
            long deadline = ready.atNanos() + timeout.toNanos();
            while ((imports == Long.MIN_VALUE || directory == Long.MIN_VALUE) && System.nanoTime() < deadline) {
                JsonNode status = statusOrNull(target);
                long now = System.nanoTime() - ready.atNanos();
                if (status != null) {
                    last = status;
                    if (link == Long.MIN_VALUE && AdminApi.linkUp(status, origin)) {
                        link = now;
                    }
                    if (imports == Long.MIN_VALUE && holdsAll(status, origin, exports)) {
                        imports = now;
                    }
                    if (directory == Long.MIN_VALUE && directoryHolds(status, exports.count())) {
                        directory = now;
                    }
                }
                Thread.sleep(20);
            }
            dnsNanos = answer.join();
        }
        out.printf(Locale.ROOT, "  %s ready (/readyz 200) %s%s%n", name, launchToReady(ready),
                ready.alreadyAtFirstPoll() ? " (it was ready at the driver's first poll: the times below are from then)" : "");
        out.printf(Locale.ROOT, "  %-52s %10s%n", "after it was ready:", "");
        out.printf(Locale.ROOT, "  %-52s %10s%n", "a peer link to " + origin + " up", plus(link));
        out.printf(Locale.ROOT, "  %-52s %10s%n", String.format(Locale.ROOT, "imports hold all %,d of %s's services",
                exports.count(), origin), plus(imports));
        out.printf(Locale.ROOT, "  %-52s %10s%n", "the DNS directory holds them", plus(directory));
        out.printf(Locale.ROOT, "  %-52s %10s%n", "DNS answers " + fqdn.substring(0, fqdn.indexOf('.')) + " (probe: 2 to 50 ms)", dnsNanos < 0 ? "-" : plus(dnsNanos));
        if (imports == Long.MIN_VALUE) {
            out.printf(Locale.ROOT, "  not complete within %d s; last imports: %s%n", timeout.toSeconds(),
                    last == null ? "-" : last.path("imports").path("clusters"));
        }
        double seconds = imports == Long.MIN_VALUE ? Double.NaN : Math.max(imports, directory) / 1e9;
        out.printf(Locale.ROOT, "  target (issue 5): resync of 10,000 services <= 2 s. Measured (ready to all %,d in the "
                + "DNS directory) %s: %s%n", exports.count(), Double.isNaN(seconds) ? "-" : String.format(Locale.ROOT,
                "%.2f s", seconds), verdict(seconds, 2.0));
        return 0;
    }

    int awaitWithdrawn() throws InterruptedException {
        String origin = options.required("origin");
        Map<String, AdminApi> receivers = admins("receivers");
        Duration timeout = timeout(60);
        long start = System.nanoTime();
        Map<String, Long> withdrawn = new LinkedHashMap<>();
        while (withdrawn.size() < receivers.size() && System.nanoTime() - start < timeout.toNanos()) {
            for (AdminApi api : receivers.values()) {
                JsonNode status = withdrawn.containsKey(api.name()) ? null : statusOrNull(api);
                if (status != null && AdminApi.importsFrom(status, origin).map(i -> !i.path("served").asBoolean(true))
                        .orElse(false)) {
                    withdrawn.put(api.name(), System.nanoTime() - start);
                }
            }
            Thread.sleep(100);
        }
        if (withdrawn.size() < receivers.size()) {
            out.printf(Locale.ROOT, "  (after %d s, not every receiver had withdrawn %s's imports: %s; measuring anyway)%n",
                    timeout.toSeconds(), origin, withdrawn.keySet());
        } else {
            out.printf(Locale.ROOT, "  %s's imports withdrawn (no longer served: import TTL) at %s, %s after it exited%n",
                    origin, String.join(" and ", withdrawn.keySet()),
                    PeeringBench.seconds(withdrawn.values().stream().mapToLong(Long::longValue).max().orElse(0)));
        }
        return 0;
    }

    int resyncExporter() throws IOException, InterruptedException, PeeringBench.Failure {
        String name = options.required("name");
        AdminApi exporter = new AdminApi(name, options.uri("admin"));
        InetSocketAddress exporterDns = Options.address(options.required("dns"), "--dns");
        Map<String, AdminApi> receivers = admins("receivers");
        Map<String, InetSocketAddress> receiverDns = new LinkedHashMap<>();
        options.pairs("receiver-dns").forEach((n, port) -> receiverDns.put(n, Options.address(port, "--receiver-dns")));
        int probe = probe();
        String fqdn = zone.fqdn(probe);
        List<String> expected = List.of(BenchZone.ip(probe));
        Duration timeout = timeout(120);

        Map<String, Double> snapshotsBefore = new LinkedHashMap<>();
        for (AdminApi api : receivers.values()) {
            snapshotsBefore.put(api.name(), AdminApi.metric(api.metrics(), SNAPSHOTS_RECEIVED));
        }
        Ready ready = awaitReady(exporter, timeout);
        Exports exports = Exports.of(exporter);
        Map<String, long[]> times = new LinkedHashMap<>(); // link, snapshot, served
        receivers.keySet().forEach(n -> times.put(n, new long[] {Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE}));
        Map<String, Long> dnsTimes = new LinkedHashMap<>();
        long ownDns;
        try (DnsProbe dnsProbe = new DnsProbe(poll)) {
            CompletableFuture<Long> own = dnsProbe.await(exporterDns, fqdn, expected, ready.atNanos(), timeout);
            Map<String, CompletableFuture<Long>> answers = new LinkedHashMap<>();
            receiverDns.forEach((n, dns) -> answers.put(n, dnsProbe.await(dns, fqdn, expected, ready.atNanos(), timeout)));
            long deadline = ready.atNanos() + timeout.toNanos();
            while (times.values().stream().anyMatch(t -> t[0] == Long.MIN_VALUE || t[1] == Long.MIN_VALUE
                    || t[2] == Long.MIN_VALUE) && System.nanoTime() < deadline) {
                for (AdminApi api : receivers.values()) {
                    long[] t = times.get(api.name());
                    JsonNode status = statusOrNull(api);
                    long now = System.nanoTime() - ready.atNanos();
                    if (status != null) {
                        if (t[0] == Long.MIN_VALUE && AdminApi.linkUp(status, name)) {
                            t[0] = now;
                        }
                        if (t[2] == Long.MIN_VALUE && holdsAll(status, name, exports)
                                && directoryHolds(status, exports.count())) {
                            t[2] = now;
                        }
                    }
                    if (t[1] == Long.MIN_VALUE) {
                        try {
                            if (AdminApi.metric(api.metrics(), SNAPSHOTS_RECEIVED) > snapshotsBefore.get(api.name())) {
                                t[1] = now;
                            }
                        } catch (IOException e) {
                            // try again at the next poll
                        }
                    }
                }
                Thread.sleep(20);
            }
            answers.forEach((n, answer) -> dnsTimes.put(n, answer.join()));
            ownDns = own.join();
        }
        out.printf(Locale.ROOT, "  %s ready (/readyz 200) %s, exports recovered from its journal: %,d services, "
                + "version %d%s%n", name, launchToReady(ready), exports.count(), exports.version(),
                ready.alreadyAtFirstPoll() ? " (ready at the driver's first poll: times below are from then)" : "");
        out.printf(Locale.ROOT, "  %s's own DNS answers %s %s after it was ready%n", name,
                fqdn.substring(0, fqdn.indexOf('.')), ownDns < 0 ? "not within " + timeout.toSeconds() + " s" : plus(ownDns));
        out.printf(Locale.ROOT, "  %-10s %14s %22s %16s %18s%n", "after it was ready:", "link up",
                "full snapshot received", "served again", "DNS answers " + fqdn.substring(0, fqdn.indexOf('.')));
        double worst = 0;
        for (String n : receivers.keySet()) {
            long[] t = times.get(n);
            long dns = dnsTimes.getOrDefault(n, -1L);
            out.printf(Locale.ROOT, "  %-10s %14s %22s %16s %18s%n", n, plus(t[0]), plus(t[1]), plus(t[2]),
                    dns < 0 ? "-" : plus(dns));
            worst = t[1] == Long.MIN_VALUE || t[2] == Long.MIN_VALUE ? Double.NaN
                    : Math.max(worst, Math.max(t[1], t[2]) / 1e9);
        }
        out.printf(Locale.ROOT, "  (served again: the receivers kept %s's exports while it was away and serve them again once"
                + " a link is up; the full snapshot is the resync itself)%n", name);
        out.printf(Locale.ROOT, "  target (issue 5): resync of 10,000 services <= 2 s. Measured (ready to snapshot received "
                + "and served again, at both) %s: %s%n", Double.isNaN(worst) ? "-" : String.format(Locale.ROOT, "%.2f s",
                worst), verdict(worst, 2.0));
        return 0;
    }
}
