package io.isthmus.loadtest.peering;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One gateway under test and K simulated clusters in this JVM, for K = 10, 25, 50 (growing: the next K adds
 * peers to those already connected). Each simulated cluster dials the gateway's peering port (mutual TLS with
 * its own certificate), says hello, sends a snapshot of S services, a heartbeat every second and, staggered over
 * the second, a delta every {@code change-ms} that gives one of its services a new address. For each K, after
 * the new peers joined, a window of {@code window-s} seconds measures the gateway's CPU (from /proc), the delay
 * from each delta being handed to the stream to the gateway's DNS answering the new address, and the heartbeat
 * round trip the peers see; after the window, the gateway's live heap (jcmd GC.class_histogram).
 */
final class ScaleRun {
    private final PrintStream out;
    private final InetSocketAddress peering;
    private final AdminApi admin;
    private final InetSocketAddress dns;
    private final Path tlsDir;
    private final List<Integer> clusters;
    private final int services;
    private final Duration window;
    private final Duration changeInterval;
    private final Duration poll;
    private final GatewayProcess gateway;
    private final String zone;

    /** A delta sent, and the future of its DNS answer delay (nanos, or -1 when it never answered). */
    private record Sample(long sentNanos, CompletableFuture<Long> delay) {
    }

    private record Row(int clusters, int importedServices, double joinSeconds, double cores, double loadCores,
                       int threads, double heapMib, double heapNowMib, Percentiles propagation, int missed,
                       Percentiles rtt, int resyncs, int dropped) {
    }

    ScaleRun(Options options, PrintStream out) {
        this.out = out;
        this.peering = Options.address(options.required("peering"), "--peering");
        this.admin = new AdminApi("gateway", options.uri("admin"));
        this.dns = Options.address(options.required("dns"), "--dns");
        this.tlsDir = Path.of(options.required("tls-dir"));
        this.clusters = options.integers("clusters", "10,25,50");
        this.services = options.integer("services", 50, 1, SimulatedPeer.MAX_SERVICES);
        this.window = Duration.ofSeconds(options.integer("window-s", 10, 1, 600));
        this.changeInterval = Duration.ofMillis(options.integer("change-ms", 1000, 10, 60_000));
        this.poll = Duration.ofMillis(options.integer("poll-ms", 2, 1, 1000));
        this.gateway = new GatewayProcess(options.longValue("pid", 0), options.integer("clk-tck", 100, 1, 100_000));
        this.zone = options.string("zone", "clusterset.local");
        if (gateway.pid() <= 0) {
            throw new IllegalArgumentException("--pid (the gateway's process id) is required");
        }
        int previous = 0;
        for (int k : clusters) {
            if (k <= previous || k > SimulatedPeer.MAX_PEERS) {
                throw new IllegalArgumentException("--clusters must grow, each at most " + SimulatedPeer.MAX_PEERS
                        + ", got " + clusters);
            }
            previous = k;
        }
    }

    int run() throws IOException, InterruptedException, GeneralSecurityException, PeeringBench.Failure {
        ScheduledExecutorService timer = Executors.newScheduledThreadPool(2, r -> {
            Thread t = new Thread(r, "sim-timer");
            t.setDaemon(true);
            return t;
        });
        List<SimulatedPeer> peers = new ArrayList<>();
        List<ScheduledFuture<?>> tasks = new ArrayList<>();
        ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();
        List<Row> rows = new ArrayList<>();
        var loadCpu = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        try (DnsProbe probe = new DnsProbe(poll); PeerFleet fleet = new PeerFleet(peering, tlsDir, admin, dns, zone)) {
            for (int k : clusters) {
                long joinStart = System.nanoTime();
                List<SimulatedPeer> joining = fleet.connect(peers.size() + 1, k - peers.size(), services);
                peers.addAll(joining);
                double joinSeconds = fleet.awaitJoined(peers, joining, probe, joinStart);
                for (SimulatedPeer peer : joining) {
                    // Spread each peer's heartbeat and delta over the interval (golden-ratio offsets), so the load is even.
                    double phase = (peers.indexOf(peer) * 0.6180339887498949) % 1.0;
                    long hbOffset = (long) (phase * 1000);
                    long changeOffset = (long) (phase * changeInterval.toMillis()) + changeInterval.toMillis() / 2;
                    tasks.add(timer.scheduleAtFixedRate(peer::heartbeat, hbOffset, 1000, TimeUnit.MILLISECONDS));
                    tasks.add(timer.scheduleAtFixedRate(() -> {
                        SimulatedPeer.Change change = peer.change();
                        samples.add(new Sample(change.sentNanos(), probe.await(dns, change.fqdn(), List.of(change.ip()),
                                change.sentNanos(), Duration.ofSeconds(10))));
                    }, changeOffset, changeInterval.toMillis(), TimeUnit.MILLISECONDS));
                }
                Thread.sleep(2000); // every new peer has started its heartbeats and deltas

                double gatewayCpu0 = gateway.cpuSeconds();
                long loadCpu0 = loadCpu.getProcessCpuTime();
                int resyncs0 = peers.stream().mapToInt(SimulatedPeer::resyncRequests).sum();
                long t0 = System.nanoTime();
                Thread.sleep(window.toMillis());
                long t1 = System.nanoTime();
                double gatewayCpu1 = gateway.cpuSeconds();
                long loadCpu1 = loadCpu.getProcessCpuTime();
                int threads = gateway.threads();
                double heapNow = heapNowMib();
                int resyncs = peers.stream().mapToInt(SimulatedPeer::resyncRequests).sum() - resyncs0;
                PeerFleet.failIfEnded(peers);

                List<Long> delays = new ArrayList<>();
                int missed = 0;
                for (Sample sample : samples) {
                    if (sample.sentNanos() - t0 >= 0 && sample.sentNanos() - t1 < 0) {
                        long delay = sample.delay().join(); // bounded by the probe's 10 s timeout
                        if (delay < 0) {
                            missed++;
                        } else {
                            delays.add(delay);
                        }
                    }
                }
                samples.removeIf(sample -> sample.sentNanos() - t1 < 0 && sample.delay().isDone());
                List<Long> rtts = new ArrayList<>();
                for (SimulatedPeer peer : peers) {
                    peer.rtts().stream().filter(r -> r.atNanos() - t0 >= 0 && r.atNanos() - t1 < 0)
                            .forEach(r -> rtts.add(r.nanos()));
                }
                double seconds = (t1 - t0) / 1e9;
                double heap = gateway.liveHeapKib() / 1024.0;
                rows.add(new Row(k, k * services, joinSeconds, (gatewayCpu1 - gatewayCpu0) / seconds,
                        (loadCpu1 - loadCpu0) / 1e9 / seconds, threads, heap, heapNow, Percentiles.of(delays), missed,
                        Percentiles.of(rtts), resyncs, peers.stream().mapToInt(SimulatedPeer::dropped).sum()));
                Row row = rows.getLast();
                out.printf(Locale.ROOT, "  K=%d: %d joined in %.2f s; gateway %.2f cores, live heap %.1f MiB; "
                                + "propagation p50 %s ms, p99 %s ms over %d deltas%n", k, joining.size(), joinSeconds,
                        row.cores(), heap, Percentiles.ms(row.propagation().millis(0.5)),
                        Percentiles.ms(row.propagation().millis(0.99)), row.propagation().count() + missed);
            }
        } finally {
            tasks.forEach(task -> task.cancel(false));
            timer.shutdownNow();
        }
        print(rows);
        return 0;
    }

    private double heapNowMib() {
        try {
            return AdminApi.metric(admin.metrics(), "isthmus_jvm_heap_used_bytes") / (1024.0 * 1024.0);
        } catch (IOException | InterruptedException e) {
            return Double.NaN;
        }
    }

    private void print(List<Row> rows) {
        out.println();
        out.printf(Locale.ROOT, "SCALE — one gateway, K simulated clusters from one load JVM; each: a snapshot of %d "
                + "services, a heartbeat every second,%n  a delta (one service's new address) every %d ms; measured over "
                + "%d s per K after the new peers joined%n", services, changeInterval.toMillis(), window.toSeconds());
        out.printf(Locale.ROOT, "  %4s %8s %7s %7s %9s %8s %9s %9s %8s %8s %8s %9s %9s %7s%n", "K", "imports", "join s",
                "cores", "ms/s/peer", "threads", "live MiB", "in use", "prop p50", "p99", "max", "rtt p50", "rtt p99",
                "load");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "  %4d %8d %7.2f %7.2f %9.2f %8d %9.1f %9.1f %8s %8s %8s %9s %9s %7.2f%n",
                    r.clusters(), r.importedServices(), r.joinSeconds(), r.cores(), r.cores() * 1000 / r.clusters(),
                    r.threads(), r.heapMib(), r.heapNowMib(), Percentiles.ms(r.propagation().millis(0.5)),
                    Percentiles.ms(r.propagation().millis(0.99)), Percentiles.ms(r.propagation().maxMillis()),
                    Percentiles.ms(r.rtt().millis(0.5)), Percentiles.ms(r.rtt().millis(0.99)), r.loadCores());
            if (r.missed() > 0 || r.resyncs() > 0 || r.dropped() > 0) {
                out.printf(Locale.ROOT, "       K=%d: %d deltas never answered in DNS within 10 s, %d resync requests "
                        + "from the gateway, %d messages the peers could not queue%n", r.clusters(), r.missed(),
                        r.resyncs(), r.dropped());
            }
        }
        out.println("  cores: the gateway's CPU (user+system, all threads) over the window; ms/s/peer: the same per"
                + " simulated cluster; live MiB: reachable objects");
        out.println("  after a full GC (jcmd GC.class_histogram) after the window; in use: heap in use with garbage"
                + " (/metrics isthmus_jvm_heap_used_bytes) at the window's end;");
        out.println("  prop: delta handed to the peer's stream -> the gateway's DNS answers the new address (DNS asked every "
                + poll.toMillis() + " ms, every 10 ms after 100 ms);");
        out.println("  rtt: heartbeat round trip the peers measured; load: the load JVM's cores");
        if (rows.size() >= 2) {
            Row first = rows.getFirst();
            Row last = rows.getLast();
            double growth = (double) last.clusters() / first.clusters();
            out.printf(Locale.ROOT, "  from K=%d to K=%d (%.1fx the clusters): CPU %.1fx, live heap %+.1f MiB (%.2f MiB per "
                            + "cluster), propagation p99 %.1fx%n", first.clusters(), last.clusters(), growth,
                    last.cores() / Math.max(1e-9, first.cores()), last.heapMib() - first.heapMib(),
                    (last.heapMib() - first.heapMib()) / (last.clusters() - first.clusters()),
                    last.propagation().millis(0.99) / first.propagation().millis(0.99));
        }
        double p99 = rows.isEmpty() ? Double.NaN : rows.getLast().propagation().millis(0.99);
        out.printf(Locale.ROOT, "  target (issue 5): p99 propagation <= 100 ms. At K=%d: %s ms: %s%n",
                rows.isEmpty() ? 0 : rows.getLast().clusters(), Percentiles.ms(p99), Steps.verdict(p99, 100));
    }
}
