package io.isthmus.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceKey;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Not a test: compiles RULES rules (in policies of 10: 5 ingress, 5 egress) against ADDRESSES workload addresses
 * spread over 5 clusters, then recompiles after 1% of the workloads changed labels, and measures decisions per
 * second on one thread. Prints figures; asserts nothing.
 *
 * <pre>
 * java -cp ... io.isthmus.policy.DecisionTableBenchmark [RULES] [ADDRESSES] [SECONDS]
 * </pre>
 */
public final class DecisionTableBenchmark {
    public static void main(String[] args) throws Exception {
        int ruleCount = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int addressCount = args.length > 1 ? Integer.parseInt(args[1]) : 10_000;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        Random random = new Random(7);
        List<Policy> policies = policies(random, ruleCount);
        List<InetAddress> addresses = new ArrayList<>();
        IdentityView.Builder builder = IdentityView.builder();
        for (int c = 0; c < 5; c++) {
            builder.cluster(Cidr.parse("segment", "10." + c + ".0.0/16"), ClusterId.of("c" + c));
        }
        for (int i = 0; i < addressCount; i++) {
            InetAddress address = address("10." + (i % 5) + "." + (i / 5 / 250) % 250 + "." + (1 + i / 5 % 250));
            addresses.add(address);
            workload(builder, random, address, i);
        }
        IdentityView view = builder.build();
        for (int round = 0; round < 3; round++) { // the first rounds warm the JIT up
            Runtime runtime = Runtime.getRuntime();
            System.gc();
            long heapBefore = runtime.totalMemory() - runtime.freeMemory();
            long started = System.nanoTime();
            DecisionTable table = DecisionTable.compile(policies, CrossClusterDefault.DENY, view);
            long compiled = System.nanoTime() - started;
            System.gc();
            long heapAfter = runtime.totalMemory() - runtime.freeMemory();
            System.out.printf("round %d: the table holds about %d MB of heap (after GC)%n", round,
                    (heapAfter - heapBefore) >> 20);
            IdentityView.Builder changed = view.toBuilder();
            for (int i = 0; i < addressCount / 100; i++) {
                int at = random.nextInt(addressCount);
                workload(changed, random, addresses.get(at), at);
            }
            IdentityView next = changed.build();
            started = System.nanoTime();
            DecisionTable recompiled = table.withIdentities(next);
            long incremental = System.nanoTime() - started;
            started = System.nanoTime();
            DecisionTable.compile(policies, CrossClusterDefault.DENY, next);
            long full = System.nanoTime() - started;
            System.out.printf("round %d: %d rules x %d addresses: compile %.0f ms (%d classes, %d intervals); "
                            + "1%% of identities changed: withIdentities %.0f ms, full compile %.0f ms%n",
                    round, table.rules().size(), view.size(), compiled / 1e6, table.classes(), table.intervals(),
                    incremental / 1e6, full / 1e6);
            byte[] packet = new byte[8 * 1024];
            for (int i = 0; i < 1024; i++) {
                System.arraycopy(addresses.get(random.nextInt(addressCount)).getAddress(), 0, packet, i * 8, 4);
                System.arraycopy(addresses.get(random.nextInt(addressCount)).getAddress(), 0, packet, i * 8 + 4, 4);
            }
            long decisions = 0;
            long allowed = 0;
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            started = System.nanoTime();
            while (System.nanoTime() < deadline) {
                for (int i = 0; i < 1024; i++) {
                    long decision = recompiled.decide(4, packet, i * 8, i * 8 + 4, Flow.TCP, 80 + (i & 7));
                    allowed += decision & 1;
                }
                decisions += 1024;
            }
            double elapsed = (System.nanoTime() - started) / 1e9;
            System.out.printf("  decide: %.2f M decisions/s on one thread (%.0f ns each; %d%% allowed)%n",
                    decisions / elapsed / 1e6, elapsed * 1e9 / decisions, allowed * 100 / decisions);
        }
    }

    private static void workload(IdentityView.Builder builder, Random random, InetAddress address, int i) {
        ClusterId cluster = ClusterId.of("c" + i % 5);
        String namespace = "ns" + random.nextInt(50);
        builder.workload(address, cluster, namespace, Map.of("app", "app" + random.nextInt(200),
                "tier", "t" + random.nextInt(5), "team", "team" + random.nextInt(20)));
        if (random.nextInt(10) == 0) {
            builder.backs(address, cluster, new ServiceKey(namespace, "svc" + random.nextInt(20)));
        }
    }

    private static List<Policy> policies(Random random, int rules) {
        List<Policy> policies = new ArrayList<>();
        for (int p = 0; p * 10 < rules; p++) {
            List<Rule> ingress = new ArrayList<>();
            List<Rule> egress = new ArrayList<>();
            for (int r = 0; r < 5; r++) {
                ingress.add(rule(random));
                egress.add(rule(random));
            }
            Peers appliesTo = random.nextBoolean()
                    ? peers(Map.of(), List.of("ns" + random.nextInt(50)), List.of())
                    : peers(Map.of("app", "app" + random.nextInt(200)), List.of(), List.of());
            policies.add(new Policy("p" + p, random.nextInt(10_000), appliesTo, ingress, egress));
        }
        return policies;
    }

    private static Rule rule(Random random) {
        Peers peers = switch (random.nextInt(4)) {
            case 0 -> peers(Map.of("app", "app" + random.nextInt(200)), List.of(), List.of());
            case 1 -> peers(Map.of("team", "team" + random.nextInt(20)), List.of("ns" + random.nextInt(50)), List.of());
            case 2 -> peers(Map.of(), List.of(), List.of(Cidr.of(address("10." + random.nextInt(5) + "."
                    + random.nextInt(250) + ".0"), 24)));
            default -> new Peers(new TreeSet<>(List.of(ClusterId.of("c" + random.nextInt(5)))), new TreeSet<>(),
                    LabelSelector.ANY, new LabelSelector(new TreeMap<>(Map.of("tier", "t" + random.nextInt(5))),
                    List.of()), new TreeSet<>(), List.of());
        };
        int port = 1 + random.nextInt(1000);
        return new Rule(random.nextBoolean() ? Rule.Action.ALLOW : Rule.Action.DENY, List.of(peers),
                List.of(new PortRange(Protocol.TCP, port, port + random.nextInt(100))));
    }

    private static Peers peers(Map<String, String> labels, List<String> namespaces, List<Cidr> cidrs) {
        return new Peers(new TreeSet<>(), new TreeSet<>(namespaces), LabelSelector.ANY,
                new LabelSelector(new TreeMap<>(labels), List.of()), new TreeSet<>(), cidrs);
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
