package io.isthmus.loadtest.policy;

import com.fasterxml.jackson.databind.JsonNode;

import java.net.URI;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Policy propagation across clusters: {@code changes} policy changes, one at a time, posted at the origin (each a new
 * revision of the policy {@code bench-propagation}, which applies to the origin's cluster only and so changes no
 * flow of the other arms). One poller thread per receiver reads {@code /api/v1/status} continuously ({@code poll-ms}
 * between answers) and notes when the version it holds ({@code policy.version}) and the table its tunnel enforces
 * ({@code tunnel.policy}) change, stamped with the answer's arrival. A change's time at a receiver runs from just
 * before its POST was sent until the first answer that shows its version; the next change is posted once every
 * receiver holds (and, where named in {@code tunnels}, enforces) it, or after 10 s (then counted as not reached).
 */
final class Propagation {
    private static final long PATIENCE_NANOS = 10_000_000_000L;

    private Propagation() {
    }

    /** What one poll saw, when it arrived. */
    record Seen(long atNanos, String held, String enforced) {
    }

    static void run(Map<String, String> origin, Map<String, String> receivers, List<String> tunnels, int changes,
                    int pollMillis) throws Exception {
        if (origin.size() != 1) {
            throw new IllegalArgumentException("--origin names one gateway, got " + origin.keySet());
        }
        if (changes < 1 || changes > 1000) {
            throw new IllegalArgumentException("--changes must be 1..1000, got " + changes);
        }
        URI originAdmin = URI.create(origin.values().iterator().next());
        String originName = origin.keySet().iterator().next();
        AtomicBoolean stop = new AtomicBoolean();
        Map<String, ConcurrentLinkedQueue<Seen>> seen = new LinkedHashMap<>();
        List<Thread> pollers = new ArrayList<>();
        for (Map.Entry<String, String> receiver : receivers.entrySet()) {
            ConcurrentLinkedQueue<Seen> log = new ConcurrentLinkedQueue<>();
            seen.put(receiver.getKey(), log);
            URI admin = URI.create(receiver.getValue());
            pollers.add(Thread.ofPlatform().name("poll-" + receiver.getKey()).daemon().start(() -> {
                String lastHeld = "";
                String lastEnforced = "";
                while (!stop.get()) {
                    try {
                        JsonNode status = PolicyBench.status(admin);
                        long at = System.nanoTime();
                        String held = status.path("policy").path("version").asText();
                        String enforced = status.path("tunnel").path("policy").asText("");
                        if (!held.equals(lastHeld) || !enforced.equals(lastEnforced)) {
                            log.add(new Seen(at, held, enforced));
                            lastHeld = held;
                            lastEnforced = enforced;
                        }
                        Thread.sleep(pollMillis);
                    } catch (InterruptedException e) {
                        return;
                    } catch (Exception e) {
                        System.err.println("  poll of " + admin + " failed: " + e.getMessage());
                    }
                }
            }));
        }
        Map<String, List<Long>> heldNanos = new LinkedHashMap<>();
        Map<String, List<Long>> enforcedNanos = new LinkedHashMap<>();
        receivers.keySet().forEach(name -> {
            heldNanos.put(name, new ArrayList<>());
            enforcedNanos.put(name, new ArrayList<>());
        });
        List<Long> allHeld = new ArrayList<>();
        List<Long> allEnforced = new ArrayList<>();
        List<Long> posts = new ArrayList<>();
        int missed = 0;
        System.out.printf(Locale.ROOT, "  %d changes at %s, one at a time; %s polled every %d ms after each answer%n",
                changes, originName, String.join(", ", receivers.keySet()), pollMillis);
        try {
            for (int i = 1; i <= changes; i++) {
                String body = """
                        {"metadata": {"name": "bench-propagation"}, "spec": {"order": 10000,
                         "appliesTo": {"clusters": ["%s"]},
                         "ingress": [{"action": "Deny", "ports": [{"protocol": "TCP", "port": %d}]}]}}
                        """.formatted(originName, 1000 + i);
                long sent = System.nanoTime();
                String version = PolicyBench.apply(originAdmin, body);
                posts.add(System.nanoTime() - sent);
                long latestHeld = 0;
                long latestEnforced = 0;
                for (String name : receivers.keySet()) {
                    long held = firstAt(seen.get(name), sent, version, false);
                    long enforced = tunnels.contains(name) ? firstAt(seen.get(name), sent, version, true) : 0;
                    if (held < 0 || enforced < 0) {
                        missed++;
                        System.err.printf("  change %d (%s) not %s at %s within 10 s%n", i, version,
                                held < 0 ? "held" : "enforced", name);
                        continue;
                    }
                    heldNanos.get(name).add(held - sent);
                    latestHeld = Math.max(latestHeld, held - sent);
                    if (tunnels.contains(name)) {
                        enforcedNanos.get(name).add(enforced - sent);
                        latestEnforced = Math.max(latestEnforced, enforced - sent);
                    }
                }
                allHeld.add(latestHeld);
                if (!tunnels.isEmpty()) {
                    allEnforced.add(latestEnforced);
                }
                if (i % 25 == 0) {
                    System.out.printf(Locale.ROOT, "  ... %d changes; this one held everywhere after %.1f ms%n", i,
                            latestHeld / 1e6);
                }
            }
        } finally {
            stop.set(true);
            for (Thread poller : pollers) {
                poller.join(5000);
            }
        }
        System.out.printf(Locale.ROOT, "  %-34s %8s %8s %8s %8s%n", "from sending the POST until", "p50 ms", "p99 ms",
                "max ms", "samples");
        row("the origin answered the POST", posts);
        for (String name : receivers.keySet()) {
            row(name + " holds the version", heldNanos.get(name));
            if (tunnels.contains(name)) {
                row(name + "'s tunnel enforces it", enforcedNanos.get(name));
            }
        }
        row("all receivers hold it", allHeld);
        if (!tunnels.isEmpty()) {
            row("all receivers' tunnels enforce it", allEnforced);
        }
        if (missed > 0) {
            System.out.println("  " + missed + " receiver(s) x change(s) not reached within 10 s (left out above)");
        }
    }

    /** When the poll log first shows {@code version} after {@code sent} (waits up to 10 s); -1 if it never did. */
    private static long firstAt(ConcurrentLinkedQueue<Seen> log, long sent, String version, boolean enforced)
            throws InterruptedException {
        long deadline = sent + PATIENCE_NANOS;
        while (System.nanoTime() < deadline) {
            for (Seen seen : log) {
                boolean match = enforced ? seen.enforced().startsWith("policy " + version + " ")
                        : seen.held().equals(version);
                if (seen.atNanos() >= sent && match) {
                    return seen.atNanos();
                }
            }
            Thread.sleep(1);
        }
        return -1;
    }

    private static void row(String what, List<Long> nanos) {
        long[] sorted = nanos.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        System.out.printf(Locale.ROOT, "  %-34s %8s %8s %8s %8d%n", what, ms(sorted, 0.50), ms(sorted, 0.99),
                ms(sorted, 1.0), sorted.length);
    }

    /** Nearest rank. */
    private static String ms(long[] sorted, double p) {
        if (sorted.length == 0) {
            return "-";
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return String.format(Locale.ROOT, "%.1f", sorted[Math.clamp(rank - 1, 0, sorted.length - 1)] / 1e6);
    }
}
