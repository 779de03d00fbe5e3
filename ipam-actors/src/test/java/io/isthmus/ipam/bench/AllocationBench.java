package io.isthmus.ipam.bench;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.IpamSettings;
import io.isthmus.ipam.JournalSystems;
import io.isthmus.ipam.SegmentGuard;
import io.isthmus.testing.PostgresServer;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.pekko.actor.typed.ActorSystem;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Durable allocations per second and latency through the {@link Ipam} facade (cluster sharding, group commit, a
 * real JDBC journal): closed-loop clients, each allocating for a new owner as soon as its previous allocation is
 * acknowledged (an acknowledgement means the event is in the journal). Prints figures; asserts nothing.
 *
 * <pre>
 *   AllocationBench [--journal h2,postgres] [--seconds 10] [--warmup 3] [--scenarios 8x1,64x1,64x16]
 * </pre>
 * A scenario {@code CxP} is C concurrent clients spread over P pools (each a /12, so none runs out).
 */
public final class AllocationBench {
    private AllocationBench() {
    }

    record Scenario(int clients, int pools) {
        static Scenario parse(String text) {
            String[] parts = text.split("x");
            return new Scenario(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        }
    }

    /** {@code cpuSeconds}: CPU time this JVM used in the window (journal threads included; an H2 journal is in-process). */
    record Result(String journal, Scenario scenario, long count, double seconds, Histogram micros, long failures,
                  double cpuSeconds) {
        String line() {
            double cpuMicrosPerAllocation = count == 0 ? 0 : cpuSeconds * 1e6 / count;
            return String.format("%-10s clients=%-3d pools=%-3d  %7.0f durable allocations/s  p50=%6.2f ms  p99=%7.2f ms"
                            + "  max=%7.2f ms  (%d in %.1f s, %d failed; %.0f us CPU per allocation)", journal,
                    scenario.clients(), scenario.pools(), count / seconds, micros.getValueAtPercentile(50) / 1000.0,
                    micros.getValueAtPercentile(99) / 1000.0, micros.getMaxValue() / 1000.0, count, seconds, failures,
                    cpuMicrosPerAllocation);
        }
    }

    private static double processCpuSeconds() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime() / 1e9;
    }

    public static void main(String[] args) throws Exception {
        List<String> journals = List.of("h2", "postgres");
        int seconds = 10;
        int warmup = 3;
        List<Scenario> scenarios = List.of(new Scenario(8, 1), new Scenario(64, 1), new Scenario(64, 16));
        Duration reclaimGrace = null; // the configured default (isthmus.ipam.reclaim-grace)
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--journal" -> journals = List.of(args[++i].split(","));
                case "--seconds" -> seconds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--scenarios" -> scenarios = Stream.of(args[++i].split(",")).map(Scenario::parse).toList();
                case "--reclaim-grace-seconds" -> reclaimGrace = Duration.ofSeconds(Long.parseLong(args[++i]));
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--journal h2,postgres --seconds N --warmup N --scenarios CxP,... --reclaim-grace-seconds N)");
            }
        }
        if (seconds < 1 || seconds > 120 || warmup < 0 || warmup > 60) {
            throw new IllegalArgumentException("--seconds is 1..120, --warmup 0..60");
        }
        List<Result> results = new ArrayList<>();
        List<String> reclaims = new ArrayList<>();
        for (String journal : journals) {
            results.addAll(onJournal(journal, scenarios, warmup, seconds, reclaimGrace, reclaims));
        }
        System.out.println();
        System.out.println("IPAM allocation bench (" + Runtime.getRuntime().availableProcessors() + " CPUs, "
                + seconds + " s per scenario after " + warmup + " s warm-up; target: >= 5000/s at p99 <= 20 ms, 64 clients, one pool)");
        results.forEach(r -> System.out.println(r.line()));
        reclaims.forEach(System.out::println);
        System.out.println("machine load average now: " + java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                .getSystemLoadAverage() + " (other processes share these CPUs)");
        System.exit(0);
    }

    private static List<Result> onJournal(String journal, List<Scenario> scenarios, int warmup, int seconds,
                                          Duration reclaimGrace, List<String> reclaims) throws Exception {
        Path dir = null;
        PostgresServer postgres = null;
        JournalSystems.Journal where;
        switch (journal) {
            case "h2" -> {
                dir = Files.createTempDirectory("ipam-bench-");
                where = new JournalSystems.H2(dir);
            }
            case "postgres" -> {
                postgres = PostgresServer.start();
                where = new JournalSystems.Postgres(postgres.url());
            }
            default -> throw new IllegalArgumentException("--journal takes h2 and/or postgres, not " + journal);
        }
        try {
            List<Result> results = new ArrayList<>();
            ActorSystem<Void> system = JournalSystems.start("bench", where);
            try {
                int n = 0;
                for (Scenario scenario : scenarios) {
                    Result result = run(system, where.toString(), "b" + (++n), scenario, warmup, seconds);
                    System.out.println(result.line());
                    results.add(result);
                }
            } finally {
                JournalSystems.stop(system);
            }
            // Its own actor system: a pool entity takes the owner source of the system's first Ipam.start.
            ActorSystem<Void> reclaimSystem = JournalSystems.start("reclaim", where);
            try {
                String line = reclaimTime(reclaimSystem, where.toString(), reclaimGrace);
                System.out.println(line);
                reclaims.add(line);
            } finally {
                JournalSystems.stop(reclaimSystem);
            }
            return results;
        } finally {
            if (postgres != null) {
                postgres.close();
            }
            if (dir != null) {
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(path);
                    }
                }
            }
        }
    }

    /**
     * Time from owners' death to the reclaim of their addresses: 100 owners hold addresses, then all die at once
     * (the owner source says GONE from then on; no release ever comes); how long until each address is reclaimed.
     */
    private static String reclaimTime(ActorSystem<Void> system, String journal, Duration grace) throws Exception {
        ClusterId cluster = ClusterId.of("leaky");
        java.util.Set<Owner> dead = java.util.concurrent.ConcurrentHashMap.newKeySet();
        IpamSettings settings = IpamSettings.fromConfig(system.settings().config());
        if (grace != null) {
            settings = settings.withReclaimGrace(grace);
        }
        Ipam ipam = Ipam.start(system, cluster, SegmentGuard.within(List.of(Cidr.parse("s", "10.0.0.0/8"))),
                owners -> CompletableFuture.completedFuture(owners.stream().collect(java.util.stream.Collectors.toMap(
                        owner -> owner, owner -> dead.contains(owner) ? io.isthmus.ipam.OwnerLiveness.OwnerState.GONE
                                : io.isthmus.ipam.OwnerLiveness.OwnerState.RUNNING))),
                settings, Clock.systemUTC());
        JournalSystems.ready(ipam);
        ipam.createPool(PoolSpec.of("leaky", Cidr.parse("cidr", "10.200.0.0/16"))).toCompletableFuture().get(30, TimeUnit.SECONDS);
        List<Owner> owners = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            Owner owner = Owner.of(cluster, "bench", OwnerKind.POD, "leak-" + i, "u" + i);
            ipam.allocate("leaky", AllocationRequest.any(owner)).toCompletableFuture().get(30, TimeUnit.SECONDS);
            owners.add(owner);
        }
        java.time.Instant diedAt = java.time.Instant.now();
        dead.addAll(owners);
        long deadline = System.nanoTime() + settings.reclaimGrace().plus(settings.reclaimInterval()).plusSeconds(60).toNanos();
        List<io.isthmus.api.ipam.ReclaimRecord> reclaimed = List.of();
        while (reclaimed.size() < owners.size() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            reclaimed = ipam.reclaims("leaky").toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        long[] millis = reclaimed.stream().mapToLong(r -> Duration.between(diedAt, r.at()).toMillis()).sorted().toArray();
        return String.format(java.util.Locale.ROOT, "%-10s reclaim: %d of %d dead owners' addresses reclaimed; death -> reclaim "
                        + "min %.1f s, p50 %.1f s, max %.1f s (reclaim-grace %s, reclaim-interval %s)", journal,
                millis.length, owners.size(), millis.length == 0 ? Double.NaN : millis[0] / 1e3,
                millis.length == 0 ? Double.NaN : millis[millis.length / 2] / 1e3,
                millis.length == 0 ? Double.NaN : millis[millis.length - 1] / 1e3,
                settings.reclaimGrace(), settings.reclaimInterval());
    }

    private static Result run(ActorSystem<Void> system, String journal, String clusterName, Scenario scenario,
                              int warmup, int seconds) throws Exception {
        ClusterId cluster = ClusterId.of(clusterName);
        Ipam ipam = Ipam.start(system, cluster, SegmentGuard.within(List.of(Cidr.parse("s", "10.0.0.0/8"))),
                owners -> CompletableFuture.completedFuture(Map.of()), // nobody is ever reported gone
                IpamSettings.fromConfig(system.settings().config()), Clock.systemUTC());
        JournalSystems.ready(ipam);
        List<String> pools = new ArrayList<>();
        for (int p = 0; p < scenario.pools(); p++) {
            PoolSpec spec = PoolSpec.of("pool" + p, Cidr.parse("cidr", "10." + (16 * p) + ".0.0/12"));
            ipam.createPool(spec).toCompletableFuture().get(30, TimeUnit.SECONDS);
            ipam.pool(spec.name()).toCompletableFuture().get(30, TimeUnit.SECONDS); // the entity is up
            pools.add(spec.name());
        }
        Recorder recorder = new Recorder(3);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong measured = new AtomicLong();
        AtomicBoolean measuring = new AtomicBoolean(false);
        AtomicLong failures = new AtomicLong();
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        for (int c = 0; c < scenario.clients(); c++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            clients.add(done);
            next(ipam, pools.get(c % pools.size()), cluster, "c" + c, new AtomicLong(), recorder, running, measuring,
                    measured, failures, done);
        }
        Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
        recorder.getIntervalHistogram(); // drop the warm-up
        measured.set(0);
        failures.set(0);
        measuring.set(true);
        double cpuAtStart = processCpuSeconds();
        long start = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
        measuring.set(false);
        long count = measured.get();
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = processCpuSeconds() - cpuAtStart;
        Histogram histogram = recorder.getIntervalHistogram();
        running.set(false);
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        return new Result(journal, scenario, count, elapsed, histogram, failures.get(), cpu);
    }

    /** One client: allocate, wait for the durable answer, allocate again (a closed loop). */
    private static void next(Ipam ipam, String pool, ClusterId cluster, String client, AtomicLong sequence,
                             Recorder recorder, AtomicBoolean running, AtomicBoolean measuring, AtomicLong measured,
                             AtomicLong failures, CompletableFuture<Void> done) {
        if (!running.get()) {
            done.complete(null);
            return;
        }
        Owner owner = Owner.of(cluster, "bench", OwnerKind.POD, client + "-" + sequence.incrementAndGet(), "u");
        long sent = System.nanoTime();
        ipam.allocate(pool, AllocationRequest.any(owner)).whenComplete((lease, failure) -> {
            boolean counted = measuring.get();
            if (failure != null) {
                if (failures.incrementAndGet() <= 3) {
                    System.out.println("allocation failed: " + failure);
                }
            } else if (counted) {
                recorder.recordValue(Math.max(1, (System.nanoTime() - sent) / 1000));
                measured.incrementAndGet();
            }
            next(ipam, pool, cluster, client, sequence, recorder, running, measuring, measured, failures, done);
        });
    }
}
