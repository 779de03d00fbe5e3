package io.isthmus.gateway.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The IPAM replica-failover benchmark (run by {@code loadtest/bench-ipam-failover.sh}; not a test): how long
 * allocations on the pools of a SIGKILLed replica stall before the survivor serves them, per pool and p50/max over
 * the pools, the time to the dead replica's removal from the Pekko cluster, and the survivor's own log of the steps
 * in between. Then the proof that nothing went wrong (see {@link IpamFailoverRun#verify}). Prints figures; exits
 * non-zero only when something did not work (a replica did not start, a pool was never served again, the proof
 * failed).
 *
 * <pre>
 * IpamFailoverBench [--replicas 2] [--pools 16] [--victim oldest,youngest] [--before 5] [--pace-ms 20] [--dir DIR]
 * </pre>
 */
public final class IpamFailoverBench {
    private IpamFailoverBench() {
    }

    public static void main(String[] args) throws Exception {
        int replicas = 2;
        int pools = 16;
        List<IpamFailoverRun.Victim> victims = List.of(IpamFailoverRun.Victim.OLDEST, IpamFailoverRun.Victim.YOUNGEST);
        int before = 5;
        int paceMs = 20;
        Path dir = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--replicas" -> replicas = Integer.parseInt(value);
                case "--pools" -> pools = Integer.parseInt(value);
                case "--victim" -> victims = Arrays.stream(value.split(","))
                        .map(v -> IpamFailoverRun.Victim.valueOf(v.trim().toUpperCase(java.util.Locale.ROOT))).toList();
                case "--before" -> before = Integer.parseInt(value);
                case "--pace-ms" -> paceMs = Integer.parseInt(value);
                case "--dir" -> dir = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (--replicas N, --pools N, --victim oldest,youngest, --before S, --pace-ms MS, --dir DIR)");
            }
            i++;
        }
        if (dir == null) {
            dir = Files.createTempDirectory("isthmus-ipam-failover");
        }
        boolean failed = false;
        for (IpamFailoverRun.Victim victim : victims) {
            Path runDir = dir.resolve(victim.name().toLowerCase(java.util.Locale.ROOT));
            IpamFailoverRun.Options options = new IpamFailoverRun.Options(replicas, pools, Duration.ofMillis(paceMs),
                    Duration.ofSeconds(before), Duration.ofSeconds(2), Duration.ofSeconds(60), "",
                    List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
            System.out.printf("%n== %d replicas, %d pools, one client per pool (an allocation every %d ms), SIGKILL of the %s replica ==%n",
                    replicas, pools, paceMs, victim.name().toLowerCase(java.util.Locale.ROOT));
            System.out.printf("load average before start: %s%n", loadAverage());
            try (IpamFailoverRun run = IpamFailoverRun.start(options, runDir)) {
                IpamFailoverRun.Result result = run.killDuringAllocations(victim);
                String load = loadAverage();
                report(result);
                System.out.printf("load average after the run: %s%n", load);
                Path log = runDir.resolve("client-log.csv");
                List<String> problems = run.verify(run.survivorOf(victim), log);
                long stalledForever = result.pools().stream().filter(p -> p.firstAfter() == 0).count();
                if (stalledForever > 0) {
                    problems = new ArrayList<>(problems);
                    problems.add(stalledForever + " pools were not served again within 60 s");
                }
                if (problems.isEmpty()) {
                    System.out.printf("proof: %d acknowledged allocations (client log %s); every one is in its pool's "
                            + "leases on the survivor with the address the client got; no address acknowledged to two "
                            + "owners, none held by two%n", result.acknowledged(), log);
                } else {
                    failed = true;
                    System.out.printf("PROBLEMS (%d): %s%n", problems.size(), problems.subList(0, Math.min(20, problems.size())));
                }
            }
        }
        System.exit(failed ? 1 : 0);
    }

    private static void report(IpamFailoverRun.Result result) {
        System.out.println("pool   ran on        stall s (last ack before -> first after)  503s  client switched replica");
        for (IpamFailoverRun.PoolStall pool : result.pools()) {
            System.out.printf("%-5s  %-12s  %7.2f  %32s  %4d  %s%n", IpamFailoverRun.pool(pool.pool()),
                    pool.moved() ? "dead replica" : "survivor", pool.firstAfter() == 0 ? Double.NaN : pool.stallSeconds(),
                    "", pool.unavailable(), pool.switches() > 0 ? "yes" : "no");
        }
        List<IpamFailoverRun.PoolStall> moved = result.pools().stream().filter(IpamFailoverRun.PoolStall::moved).toList();
        List<IpamFailoverRun.PoolStall> stayed = result.pools().stream().filter(p -> !p.moved()).toList();
        if (!moved.isEmpty()) {
            System.out.printf("STALL of the pools that ran on the dead replica: %s%n", IpamFailoverRun.summary(moved));
        }
        if (!stayed.isEmpty()) {
            System.out.printf("stall of the pools on the survivor: %s%n", IpamFailoverRun.summary(stayed));
        }
        System.out.printf("dead replica removed from the Pekko cluster %.2f s after the SIGKILL%n", result.removedSeconds());
        for (Map.Entry<String, Double> event : result.logEvents().entrySet()) {
            System.out.printf("  %-60s %6.2f s after the kill%n", event.getKey(), event.getValue());
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (java.io.IOException e) {
            return "(unreadable)";
        }
    }
}
