package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The peering load driver, in Gatling's manner for a protocol Gatling does not serve here (gRPC): scenarios of
 * simulated peer clusters, each with an injection profile (open or closed, {@link Injection}), run one after another
 * against ONE gateway; per scenario an HdrHistogram of the propagation (delta sent → the gateway's DNS answers the
 * new address), the outcomes and the rate; assertions evaluated at the end; a report ({@code index.html},
 * {@code stats.json}) in {@code --report}. loadtest/bench-peering-load.sh starts the gateway and issues the peers'
 * certificates; this class only drives.
 * <pre>
 * --admin URL          the gateway under test's admin API (auth off); its status says where peering and DNS listen
 * --tls-dir DIR        sim-NN.crt, sim-NN.key and ca.crt for every peer the scenarios use (sim-01 upwards)
 * --scenarios SPEC     NAME:PEERS:PROFILE;... (see {@link LoadScenario}, {@link Injection})
 * --report DIR         where index.html and stats.json go
 * [--assert LIST]      see {@link LoadAssertion}; default each:failed&lt;1%
 * [--services 50]      services per simulated peer (1..250)
 * [--timeout-ms 10000] a change not answered in DNS by then is a timeout
 * [--max-changes 200000] at most this many changes per scenario (the count bound)
 * [--peering HOST:PORT] [--dns HOST:PORT]  instead of what the status says
 * [--pid PID] [--clk-tck 100]  the gateway's process, for its CPU per scenario
 * [--poll-ms 2] [--zone clusterset.local] [--title T] [--command C]
 * </pre>
 * Exit status: 0 every assertion passed; 4 some assertion failed (the report says which); 1 something did not start
 * or answer (the gateway, a peer's stream); 2 bad arguments.
 */
public final class PeeringLoad {
    static final int ASSERTIONS_FAILED = 4;

    private PeeringLoad() {
    }

    public static void main(String[] args) {
        int status;
        try {
            status = run(Options.parse(args, 0), System.out, System.err);
        } catch (IllegalArgumentException e) {
            System.err.println("peering-load: " + e.getMessage());
            status = 2;
        } catch (PeeringBench.Failure e) {
            System.err.println("peering-load: " + e.getMessage());
            status = 1;
        } catch (IOException | GeneralSecurityException e) {
            System.err.println("peering-load: " + e);
            status = 1;
        } catch (InterruptedException e) {
            System.err.println("peering-load: interrupted");
            status = 1;
        } catch (RuntimeException e) {
            System.err.println("peering-load: failed: " + e);
            e.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status); // Pekko's and Netty's threads would keep the JVM; everything opened has been closed
    }

    static int run(Options options, PrintStream out, PrintStream progress)
            throws IOException, GeneralSecurityException, InterruptedException, PeeringBench.Failure {
        long started = System.nanoTime();
        Instant startedAt = Instant.now();
        AdminApi admin = new AdminApi("gateway", options.uri("admin"));
        Path tlsDir = Path.of(options.required("tls-dir"));
        List<LoadScenario> scenarios = LoadScenario.parseAll(options.required("scenarios"));
        Path report = Path.of(options.required("report"));
        List<LoadAssertion> assertions = LoadAssertion.parseAll(options.string("assert", "each:failed<1%"));
        LinkedHashSet<String> names = scenarios.stream().map(LoadScenario::name)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        assertions.forEach(a -> a.requireScope(names));
        int services = options.integer("services", 50, 1, SimulatedPeer.MAX_SERVICES);
        Duration timeout = Duration.ofMillis(options.integer("timeout-ms", 10_000, 10, 600_000));
        long maxChanges = options.integer("max-changes", 200_000, 1, 10_000_000);
        Duration poll = Duration.ofMillis(options.integer("poll-ms", 2, 1, 1000));
        String zone = options.string("zone", "clusterset.local");
        long pid = options.longValue("pid", 0);
        GatewayProcess gateway = pid > 0 ? new GatewayProcess(pid, options.integer("clk-tck", 100, 1, 100_000)) : null;

        JsonNode status = awaitStatus(admin);
        InetSocketAddress peering = Options.address(options.string("peering",
                status.path("listening").path("peering").asText("")), "--peering (or the status's listening.peering)");
        InetSocketAddress dns = Options.address(options.string("dns",
                status.path("listening").path("dns").asText("")), "--dns (or the status's listening.dns)");
        String target = status.path("clusterId").asText("?") + " (admin " + admin.base()
                + ", peering " + peering.getHostString() + ":" + peering.getPort() + ", DNS " + dns.getHostString() + ":"
                + dns.getPort() + ")";
        progress.printf(Locale.ROOT, "peering-load: %d scenarios against %s%n", scenarios.size(), target);

        List<LoadScenario.Outcome> outcomes = new ArrayList<>();
        try (DnsProbe probe = new DnsProbe(poll); PeerFleet fleet = new PeerFleet(peering, tlsDir, admin, dns, zone)) {
            LoadScenario.Context context = new LoadScenario.Context(fleet, probe, dns, services, timeout, maxChanges, gateway);
            int nextPeer = 1;
            for (LoadScenario scenario : scenarios) {
                outcomes.add(scenario.run(context, nextPeer, progress));
                nextPeer += scenario.peers();
            }
        }

        Map<String, LoadFigures> byScenario = new LinkedHashMap<>();
        outcomes.forEach(o -> byScenario.put(o.scenario().name(), o.figures()));
        double injected = outcomes.stream().mapToDouble(o -> o.figures().seconds()).sum();
        LoadFigures global = LoadTally.merged(outcomes.stream().map(LoadScenario.Outcome::tally).toList(), injected);
        List<LoadAssertion.Result> results = new ArrayList<>();
        for (LoadAssertion a : assertions) {
            results.addAll(a.evaluate(global, byScenario));
        }
        LoadReport.Run run = new LoadReport.Run(options.string("title", "Isthmus peering load"),
                options.string("command", "PeeringLoad"), target, startedAt, (System.nanoTime() - started) / 1e9,
                services, timeout.toMillis(), Runtime.getRuntime().availableProcessors() + " CPUs, "
                + System.getProperty("os.name") + " " + System.getProperty("os.version") + ", Java "
                + Runtime.version());
        LoadReport loadReport = new LoadReport(run, outcomes, global, results);
        loadReport.write(report);
        loadReport.print(out);
        out.println("report: " + report.resolve("index.html") + " (and stats.json)");
        out.println(loadReport.summaryLine());
        if (!loadReport.passed()) {
            progress.println("peering-load: " + results.stream().filter(r -> !r.pass()).count() + " of " + results.size()
                    + " assertions failed: " + results.stream().filter(r -> !r.pass()).map(LoadAssertion.Result::describe)
                    .collect(Collectors.joining("; ")));
            return ASSERTIONS_FAILED;
        }
        return 0;
    }

    /** The gateway's status, asked until it answers (at most 60 s). */
    private static JsonNode awaitStatus(AdminApi admin) throws InterruptedException, PeeringBench.Failure {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            try {
                return admin.status();
            } catch (IOException e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new PeeringBench.Failure("the gateway's status (" + admin.base() + "api/v1/status) did not answer "
                + "within 60 s: " + last);
    }
}
