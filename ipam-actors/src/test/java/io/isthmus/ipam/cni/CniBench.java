package io.isthmus.ipam.cni;

import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import io.isthmus.api.Cidr;
import io.isthmus.api.IpLiteral;
import io.isthmus.ipam.cni.InMemoryCniBackend.PoolSpec;
import io.isthmus.testing.PluginRun.Env;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The CNI benchmark (run by loadtest/bench-cni.sh; needs root): how long CNI calls take through {@code isthmus-ipam}.
 *
 * <ol>
 *   <li><b>Plugin alone</b>: N ADD+DEL pairs of the {@code isthmus-ipam} executable against a {@link CniServer},
 *       each a fresh process as a runtime starts it (IPAM does not touch the namespace, so none is made).</li>
 *   <li><b>Through macvlan</b>: N ADDs of Debian's macvlan plugin, each into its own pod network namespace, with
 *       {@code isthmus-ipam} as IPAM; then N DELs. The plugin runs inside a "node" namespace (we may not touch the
 *       host's own): the harness's worker threads enter it ({@code setns}) and start macvlan directly, so the timed
 *       call is what a runtime pays, macvlan and isthmus-ipam process starts included, no wrapper. The pod namespaces
 *       are made before the timed calls (a runtime makes the sandbox before it calls CNI); their cost is printed.</li>
 * </ol>
 *
 * By default the gateway side is the in-memory test double of the pools ({@link InMemoryCniBackend}), so the
 * figures are the plugin, the socket protocol and the CNI plugins; with {@code --socket PATH --pool NAME} the calls
 * go to a running gateway's CNI endpoint instead (durable pool entities, what {@code bench-cni.sh --gateway} does). The plugin-alone calls run one at
 * a time; the macvlan ADDs run once one at a time and once C at a time (a kubelet starts sandboxes in parallel).
 *
 * <pre>java -cp ... io.isthmus.ipam.cni.CniBench [--calls N] [--macvlan N] [--warmup N] [--parallel 1,8]
 *     [--socket PATH --pool NAME]</pre>
 */
public final class CniBench {
    private static final Path DEBIAN_PLUGINS = Path.of("/usr/lib/cni");

    private CniBench() {
    }

    public static void main(String[] args) throws Exception {
        int calls = 1000;
        int macvlanAdds = 1000;
        int warmup = 100;
        List<Integer> concurrencies = List.of(1, 8);
        Path gatewaySocket = null;
        String pool = "bench";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--calls" -> calls = Integer.parseInt(args[++i]);
                case "--macvlan" -> macvlanAdds = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--parallel" -> concurrencies = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--socket" -> gatewaySocket = Path.of(args[++i]);
                case "--pool" -> pool = args[++i];
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (--calls N, --macvlan N, --warmup N, --parallel C,C,..., --socket PATH --pool NAME)");
            }
        }
        Path dir = Files.createTempDirectory("isthmus-cni-bench");
        InMemoryCniBackend backend = new InMemoryCniBackend(Clock.systemUTC(), Duration.ofSeconds(30),
                new PoolSpec("bench", Cidr.parse("subnet", "10.96.0.0/20"), IpLiteral.parse("gw", "10.96.0.1"), List.of()));
        Path bin = dir.resolve("bin");
        Path plugin = CniPluginInstaller.installTo(bin);
        Path socket = gatewaySocket != null ? gatewaySocket : dir.resolve("ipam.sock");
        try (CniServer server = gatewaySocket != null ? null : CniServer.start(socket, backend)) {
            String config = """
                    {"cniVersion": "1.0.0", "name": "benchnet", "type": "macvlan", "master": "uplink0", "mode": "bridge",
                     "ipam": {"type": "isthmus-ipam", "pool": "%s", "socket": "%s"}}""".formatted(pool, socket);
            String cniPath = bin + ":" + DEBIAN_PLUGINS;
            System.out.printf(Locale.ROOT, "isthmus-ipam %s (%d bytes, static), gateway = %s%n", plugin, Files.size(plugin),
                    server != null ? "CniServer + in-memory pool" : "a running gateway on " + socket + ", pool " + pool
                            + " (durable pool entities)");
            System.out.printf(Locale.ROOT, "%d cores, load average %s%n", Runtime.getRuntime().availableProcessors(), loadAverage());

            pluginAlone(plugin, config, cniPath, warmup, calls);
            if (macvlanAdds > 0) {
                throughMacvlan(config, cniPath, macvlanAdds, concurrencies);
            }
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    private static void pluginAlone(Path plugin, String config, String cniPath, int warmup, int calls) {
        for (int i = 0; i < warmup; i++) { // the gateway's code paths get compiled; not measured
            addDel(plugin, config, cniPath, "warm-" + i);
        }
        long[] adds = new long[calls];
        long[] dels = new long[calls];
        Cpu cpu = Cpu.now();
        long start = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            long[] pair = addDel(plugin, config, cniPath, "bench-" + i);
            adds[i] = pair[0];
            dels[i] = pair[1];
        }
        long total = System.nanoTime() - start;
        System.out.printf(Locale.ROOT, "%nPLUGIN ALONE: %d ADD+DEL pairs through isthmus-ipam (after %d unmeasured), %.2f s%n",
                calls, warmup, total / 1e9);
        print("ADD (reserve + commit)", adds);
        print("DEL", dels);
        System.out.println("  " + Cpu.now().perCallSince(cpu, 2 * calls));
    }

    private static long[] addDel(Path plugin, String config, String cniPath, String containerId) {
        PluginRun add = PluginRun.run(List.of(plugin.toString()),
                PluginRun.command("ADD", containerId, "/var/run/netns/" + containerId, "eth0", cniPath), config);
        require(add, "ADD " + containerId);
        PluginRun del = PluginRun.run(List.of(plugin.toString()),
                PluginRun.command("DEL", containerId, null, "eth0", cniPath), config);
        require(del, "DEL " + containerId);
        return new long[] {add.nanos(), del.nanos()};
    }

    private static void throughMacvlan(String config, String cniPath, int count, List<Integer> concurrencies)
            throws InterruptedException {
        try (Netns netns = new Netns("isthmus-cnibench")) {
            String node = netns.create("node");
            Netns.ip("-n", node, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0-peer");
            Netns.ip("-n", node, "link", "set", "uplink0", "up");
            long podsStart = System.nanoTime();
            List<String> pods = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                pods.add(netns.create("p" + i));
            }
            System.out.printf(Locale.ROOT, "%nMACVLAN: %d pod namespaces made in %.1f s (not counted)%n", count,
                    (System.nanoTime() - podsStart) / 1e9);
            // The workers enter the node's network namespace themselves (setns on their own thread), so macvlan is
            // started directly, as a runtime starts it in the host namespace: no wrapper process in the timed call.
            List<String> macvlan = List.of(DEBIAN_PLUGINS.resolve("macvlan").toString());
            Runnable inNode = () -> io.isthmus.testing.ThreadNetns.enter(Netns.path(node));
            for (int concurrency : concurrencies) {
                String round = "c" + concurrency + "-";
                Cpu cpu = Cpu.now();
                long start = System.nanoTime();
                long[] adds = runAll(count, concurrency, inNode, i -> PluginRun.run(macvlan,
                        PluginRun.command("ADD", round + i, Netns.path(pods.get(i)), "eth0", cniPath), config), "macvlan ADD");
                long addTotal = System.nanoTime() - start;
                String addCpu = Cpu.now().perCallSince(cpu, count);
                start = System.nanoTime();
                long[] dels = runAll(count, concurrency, inNode, i -> PluginRun.run(macvlan,
                        PluginRun.command("DEL", round + i, Netns.path(pods.get(i)), "eth0", cniPath), config), "macvlan DEL");
                long delTotal = System.nanoTime() - start;
                System.out.printf(Locale.ROOT, "%n%d macvlan ADDs, %d at a time: %.2f s total (%.0f ADDs/s); then %d DELs: %.2f s%n",
                        count, concurrency, addTotal / 1e9, count / (addTotal / 1e9), count, delTotal / 1e9);
                print("macvlan ADD", adds);
                print("macvlan DEL", dels);
                System.out.println("  ADD " + addCpu);
                System.out.printf(Locale.ROOT, "  TARGET 1,000 CNI ADDs in <= 30 s, %d at a time: %s (%.1f s per 1,000)%n",
                        concurrency, addTotal / 1e9 * 1000 / count <= 30 ? "meets it" : "misses it", addTotal / 1e9 * 1000 / count);
            }
            System.out.printf(Locale.ROOT, "%nwhat process starts cost on this machine now (load average %s):%n",
                    loadAverage());
            startCost("/bin/true", List.of("/bin/true"), new Env(), "");
            startCost("nsenter --net=NODE /bin/true", List.of("nsenter", "--net=" + Netns.path(node), "/bin/true"), new Env(), "");
            startCost("ip netns exec NODE /bin/true", List.of("ip", "netns", "exec", node, "/bin/true"), new Env(), "");
            startCost("macvlan VERSION (Go start)", List.of(DEBIAN_PLUGINS.resolve("macvlan").toString()),
                    new Env().set("CNI_COMMAND", "VERSION"), "{\"cniVersion\": \"1.0.0\"}");
            System.out.printf(Locale.ROOT, "  (the timed macvlan calls have no wrapper: the harness's threads are in the node namespace)%n");
            System.out.print("deleting the pod namespaces ...");
        }
        System.out.println(" done");
    }

    private static void startCost(String label, List<String> command, Env env, String stdin) {
        long[] nanos = new long[50];
        Cpu cpu = Cpu.now();
        for (int i = 0; i < nanos.length; i++) {
            nanos[i] = PluginRun.run(command, env, stdin).nanos();
        }
        print(label, nanos);
        System.out.printf(Locale.ROOT, "  %-30s %s%n", "", Cpu.now().perCallSince(cpu, nanos.length).replace("CPU per call: ", "CPU: "));
    }

    /** Runs {@code count} calls, {@code concurrency} at a time; returns each call's wall time in ns. */
    private static long[] runAll(int count, int concurrency, Runnable workerSetup,
                                 java.util.function.IntFunction<PluginRun> call, String what) throws InterruptedException {
        long[] nanos = new long[count];
        java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<RuntimeException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < concurrency; w++) {
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    workerSetup.run();
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, new IllegalStateException("worker setup failed: " + e, e));
                    return;
                }
                for (int i = next.getAndIncrement(); i < count && failure.get() == null; i = next.getAndIncrement()) {
                    try {
                        PluginRun run = call.apply(i);
                        require(run, what + " " + i);
                        nanos[i] = run.nanos();
                    } catch (RuntimeException e) {
                        failure.compareAndSet(null, e);
                    }
                }
            }));
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        return nanos;
    }

    /** This JVM's CPU (the gateway side) and its reaped children's (plugins, wrappers), in ms, from /proc/self/stat. */
    private record Cpu(double selfMs, double childrenMs) {
        static Cpu now() {
            try {
                String stat = Files.readString(Path.of("/proc/self/stat"));
                String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                // after "pid (comm) ": state is field 3, so utime (14) is index 11; stime, cutime, cstime follow
                double tick = 1000.0 / 100; // USER_HZ is 100 on Linux
                return new Cpu((Long.parseLong(fields[11]) + Long.parseLong(fields[12])) * tick,
                        (Long.parseLong(fields[13]) + Long.parseLong(fields[14])) * tick);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read /proc/self/stat", e);
            }
        }

        String perCallSince(Cpu before, int calls) {
            return String.format(Locale.ROOT, "CPU per call: %.1f ms in the started processes, %.2f ms in this JVM "
                    + "(gateway + harness)", (childrenMs - before.childrenMs) / calls, (selfMs - before.selfMs) / calls);
        }
    }

    private static void require(PluginRun run, String what) {
        if (run.exitCode() != 0) {
            throw new IllegalStateException(what + " failed: " + run);
        }
    }

    private static void print(String label, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf(Locale.ROOT, "  %-30s p50 %6.2f ms   p99 %6.2f ms   max %6.2f ms   (n = %d)%n", label,
                rank(sorted, 0.50), rank(sorted, 0.99), sorted[sorted.length - 1] / 1e6, sorted.length);
    }

    static String loadAverage() {
        try {
            return String.join(" ", Arrays.copyOf(Files.readString(Path.of("/proc/loadavg")).split(" "), 3));
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** Nearest-rank percentile, in ms. */
    private static double rank(long[] sorted, double quantile) {
        int index = (int) Math.ceil(quantile * sorted.length) - 1;
        return sorted[Math.max(0, index)] / 1e6;
    }
}
