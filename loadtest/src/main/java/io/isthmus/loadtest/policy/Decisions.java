package io.isthmus.loadtest.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;

import java.lang.invoke.CallSite;
import java.lang.invoke.LambdaMetafactory;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Decisions per second on one thread of the policy module's {@code DecisionTable}, compiled from the benchmark's
 * rule set ({@link BenchRules}, the very policies the tunnel arms post) with the identities the tunnel arms have
 * (two clusters' pod segments). The packets are the iperf3 flow's: half data segments (client pod to server pod,
 * TCP {@code port}), half answers (server to client, an ephemeral port), over 253 addresses of each segment.
 *
 * <p>The policy classes come from the gateway jar at run time (this module depends on api only): reflection builds
 * the table, and {@link LambdaMetafactory} binds {@code decide} to {@link Decider}, so the measured loop calls it
 * as ordinary (inlinable) code, not through reflection.
 */
final class Decisions {
    /** {@code DecisionTable.decide(version, bytes, sourceAt, destinationAt, protocol, port)}, bound to one table. */
    @FunctionalInterface
    interface Decider {
        long decide(int version, byte[] bytes, int sourceAt, int destinationAt, int protocol, int port);
    }

    private static final int TCP = 6;
    private static final int PACKETS = 1024;

    private Decisions() {
    }

    /** Which rule decided one side of an explanation ({@code Explanation.Side.rule().path()}), or why none did. */
    private static String side(Object explanation, String which) throws ReflectiveOperationException {
        Object side = explanation.getClass().getMethod(which).invoke(explanation);
        java.util.Optional<?> rule = (java.util.Optional<?>) side.getClass().getMethod("rule").invoke(side);
        if (rule.isPresent()) {
            return which + " decided by " + rule.get().getClass().getMethod("path").invoke(rule.get());
        }
        return which + ": " + side.getClass().getMethod("why").invoke(side);
    }

    static void run(List<Integer> ruleCounts, int seconds, int rounds, int portShare) throws Throwable {
        Class<?> codec = Class.forName("io.isthmus.policy.PolicyCodec");
        Class<?> viewClass = Class.forName("io.isthmus.policy.IdentityView");
        Class<?> fallbackClass = Class.forName("io.isthmus.policy.CrossClusterDefault");
        Class<?> tableClass = Class.forName("io.isthmus.policy.DecisionTable");
        Class<?> flowClass = Class.forName("io.isthmus.policy.Flow");
        Method read = codec.getMethod("read", String.class);
        Object builder = viewClass.getMethod("builder").invoke(null);
        Method cluster = builder.getClass().getMethod("cluster", Cidr.class, ClusterId.class);
        cluster.invoke(builder, Cidr.parse("client segment", "10.1.0.0/24"), ClusterId.of("east"));
        cluster.invoke(builder, Cidr.parse("server segment", "10.2.0.0/24"), ClusterId.of("west"));
        Object view = builder.getClass().getMethod("build").invoke(builder);
        Object allow = fallbackClass.getMethod("parse", String.class, String.class).invoke(null, "default", "allow");
        Method compile = tableClass.getMethod("compile", List.class, fallbackClass, viewClass);
        Method explain = tableClass.getMethod("explain", flowClass);
        Method parseFlow = flowClass.getMethod("parse", String.class, String.class, String.class);
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        MethodHandle decide = lookup.findVirtual(tableClass, "decide", MethodType.methodType(long.class, int.class,
                byte[].class, int.class, int.class, int.class, int.class));
        MethodType erased = decide.type().dropParameterTypes(0, 1);
        CallSite site = LambdaMetafactory.metafactory(lookup, "decide", MethodType.methodType(Decider.class, tableClass),
                erased, decide, erased);

        byte[] packets = new byte[PACKETS * 8];
        int[] ports = new int[PACKETS];
        for (int i = 0; i < PACKETS; i++) {
            byte[] client = {10, 1, 0, (byte) (2 + i % 253)};
            byte[] server = {10, 2, 0, (byte) (2 + i * 7 % 253)};
            boolean data = i % 2 == 0;
            System.arraycopy(data ? client : server, 0, packets, i * 8, 4);
            System.arraycopy(data ? server : client, 0, packets, i * 8 + 4, 4);
            ports[i] = data ? 5201 : 32768 + i * 31 % 28_000;
        }

        System.out.printf(Locale.ROOT, "rule set: %d%% port rules (the flow's peers, other ports), the rest CIDR rules "
                + "(other addresses), then the Allow; one thread, %d s per round, median of %d rounds after one warm-up%n",
                portShare, seconds, rounds);
        System.out.printf(Locale.ROOT, "%-8s %10s %14s %22s %10s%n", "rules", "compile ms", "M decisions/s",
                "ns per decision", "allowed");
        for (int count : ruleCounts) {
            BenchRules rules = new BenchRules(count, "east", "west", "10.1.0.0/24", "10.2.0.0/24", 5201, portShare);
            List<?> policies = (List<?>) read.invoke(null, rules.policyDocuments());
            long started = System.nanoTime();
            Object table = compile.invoke(null, policies, allow, view);
            double compileMs = (System.nanoTime() - started) / 1e6;
            Object explanation = explain.invoke(table, parseFlow.invoke(null, "flow", "10.1.0.2", "10.2.0.2:5201/tcp"));
            String why = side(explanation, "egress") + "; " + side(explanation, "ingress");
            Decider decider = (Decider) site.getTarget().invoke(table);
            double[] perSecond = new double[rounds];
            long allowed = 0;
            long decided = 0;
            for (int round = 0; round < rounds + 1; round++) { // round 0 warms the JIT up and is not counted
                long decisions = 0;
                long passed = 0;
                long deadline = System.nanoTime() + seconds * 1_000_000_000L;
                long begun = System.nanoTime();
                while (System.nanoTime() < deadline) {
                    for (int i = 0; i < PACKETS; i++) {
                        passed += decider.decide(4, packets, i * 8, i * 8 + 4, TCP, ports[i]) & 1;
                    }
                    decisions += PACKETS;
                }
                double elapsed = (System.nanoTime() - begun) / 1e9;
                if (round > 0) {
                    perSecond[round - 1] = decisions / elapsed;
                    allowed += passed;
                    decided += decisions;
                }
            }
            double[] sorted = perSecond.clone();
            Arrays.sort(sorted);
            double median = sorted[sorted.length / 2];
            List<String> each = new ArrayList<>();
            for (double value : perSecond) {
                each.add(String.format(Locale.ROOT, "%.2f", value / 1e6));
            }
            System.out.printf(Locale.ROOT, "%-8d %10.0f %14.2f %22s %9d%%   (rounds: %s M/s)%n", count, compileMs,
                    median / 1e6, String.format(Locale.ROOT, "%.0f (%.0f-%.0f)", 1e9 / median, 1e9 / sorted[sorted.length - 1],
                            1e9 / sorted[0]), allowed * 100 / Math.max(1, decided), String.join(", ", each));
            System.out.println("         10.1.0.2 -> 10.2.0.2:5201/tcp: " + why);
        }
    }
}
