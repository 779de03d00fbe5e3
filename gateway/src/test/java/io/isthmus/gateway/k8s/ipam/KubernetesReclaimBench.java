package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.isthmus.api.ipam.Lease;
import io.isthmus.ipam.IpamSettings;
import io.isthmus.ipam.cni.CniBackend;
import io.isthmus.k8s.crd.IPPool;
import io.isthmus.k8s.crd.IPPoolSpec;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Owner death to address free, end to end through Kubernetes, with the reclaim settings a gateway runs with
 * (reference.conf): N pods get addresses by CNI ADD from a pool made from an IPPool, then
 * <ol>
 *   <li>all N pods are deleted in the API server (fabric8's mock in CRUD mode), with no CNI DEL: the pod informer
 *       sees them go, the reclaimer confirms each with a GET and frees it after the grace; timed per address from
 *       the delete to the lease being gone, polled every 100 ms;
 *   <li>N more pods' sandboxes vanish without a DEL while the pods stay (a runtime that lost them): the runtime's
 *       CNI GC, listing none of them, frees them; timed from the GC call to its answer (every release durable).
 * </ol>
 * Not in the suite (a benchmark); run it with the test classpath:
 * <pre>
 * KubernetesReclaimBench [--pods 100]
 * </pre>
 */
public final class KubernetesReclaimBench {
    private KubernetesReclaimBench() {
    }

    public static void main(String[] args) throws Exception {
        int pods = 100;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--pods" -> pods = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--pods N)");
            }
        }
        IpamSettings settings = KubernetesIpamHarness.defaults();
        System.out.printf(Locale.ROOT, "reclaim-grace %s, reclaim-interval %s (reference.conf); %d pods per phase%n",
                settings.reclaimGrace(), settings.reclaimInterval(), pods);
        try (KubernetesIpamHarness h = KubernetesIpamHarness.start(settings)) {
            IPPool pool = new IPPool();
            pool.setMetadata(new ObjectMetaBuilder().withName("bench").build());
            pool.setSpec(new IPPoolSpec("pod", List.of("10.128.64.0/22"), null, null, null, null));
            h.client.resource(pool).create();
            KubernetesIpamHarness.eventually("pool bench exists", () -> {
                try {
                    return h.ipam.pools().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                            .anyMatch(p -> p.name().equals("bench"));
                } catch (Exception e) {
                    return false;
                }
            });

            // ---- 1. pods deleted in the API server, no DEL ----
            List<String> deleted = podsWithLeases(h, "gone-", pods);
            long start = System.nanoTime();
            for (String name : deleted) {
                h.client.pods().inNamespace("bench").withName(name).delete();
            }
            Map<String, Long> freedAt = new HashMap<>();
            long deadline = start + TimeUnit.SECONDS.toNanos(120);
            while (freedAt.size() < deleted.size() && System.nanoTime() < deadline) {
                Set<String> held = new HashSet<>();
                for (Lease lease : h.active("bench")) {
                    held.add(lease.owner().name());
                }
                long now = System.nanoTime();
                for (String name : deleted) {
                    if (!held.contains(name)) {
                        freedAt.putIfAbsent(name, now - start);
                    }
                }
                Thread.sleep(100);
            }
            List<Long> times = freedAt.values().stream().sorted().toList();
            System.out.printf(Locale.ROOT, "pod deleted in Kubernetes -> address free: %d of %d freed within 120 s; "
                            + "min %.1f s, p50 %.1f s, max %.1f s (goal: <= 30 s)%n", times.size(), deleted.size(),
                    seconds(times, 0.0), seconds(times, 0.5), seconds(times, 1.0));

            // ---- 2. sandboxes gone without a DEL: the runtime's GC ----
            List<String> lost = podsWithLeases(h, "lost-", pods);
            long gcStart = System.nanoTime();
            CniBackend.GcResult result = h.cni.gc(new CniBackend.GcRequest("bench", "net", Set.of()))
                    .toCompletableFuture().get(60, TimeUnit.SECONDS);
            long gcTook = System.nanoTime() - gcStart;
            long stillHeld = h.active("bench").stream().filter(l -> lost.contains(l.owner().name())).count();
            System.out.printf(Locale.ROOT, "sandbox gone without DEL -> CNI GC: %d freed, %d of the %d still held, "
                    + "GC answered in %.2f s (every release durable)%n", result.freed().size(), stillHeld, lost.size(),
                    gcTook / 1e9);
        }
        System.exit(0);
    }

    /** {@code count} running pods named PREFIX0.., each with an address from a CNI ADD in pool bench. */
    private static List<String> podsWithLeases(KubernetesIpamHarness h, String prefix, int count) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            String name = prefix + i;
            h.cniAdd("bench", "bench", name, h.addPod("bench", name, null));
            names.add(name);
        }
        return names;
    }

    private static double seconds(List<Long> sorted, double quantile) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int index = (int) Math.min(sorted.size() - 1, Math.round(quantile * (sorted.size() - 1)));
        return sorted.get(index) / 1e9;
    }
}
