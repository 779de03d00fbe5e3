package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanLedger.Step;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded random schedules: requests, releases, registrations, ticks, gossip, lost, duplicated and reordered
 * messages, partitions and heals, crashes and restarts from the journal, 3 or 5 clusters competing for a pod
 * supernet of only four /24s. After every single step: no two held segments overlap, and no cluster lost a
 * segment it did not release. At the end (healed, everyone up): every request was answered and every cluster's
 * plan shows exactly what the clusters hold. A failing seed is named, so it can be replayed alone.
 */
class PlanScheduleTest {
    private static final int SEEDS = 200;
    private static final int STEPS = 400;

    @Test
    void noTwoClustersEverHoldOverlappingSegmentsUnderRandomSchedules() {
        long[] counts = new long[3]; // held, withdrawn (contention), messages delivered
        for (long seed = 0; seed < SEEDS; seed++) {
            run(seed, counts);
        }
        // The schedules must have been contested ones, or the invariant held for want of trying.
        assertTrue(counts[0] > SEEDS * 3L, "claims held: " + counts[0]);
        assertTrue(counts[1] > SEEDS, "claims withdrawn: " + counts[1]);
        assertTrue(counts[2] > SEEDS * 50L, "messages delivered: " + counts[2]);
    }

    private static void run(long seed, long[] counts) {
        Random random = new Random(seed);
        String[] names = random.nextBoolean() ? new String[]{"a", "b", "c"} : new String[]{"a", "b", "c", "d", "e"};
        PlanNetwork net = PlanNetwork.of("10.0.0.0/22", names);
        // Each seed its own weather: how lossy the network is, how often a request names a segment.
        double drop = random.nextBoolean() ? 0.1 : 0.3;
        double specific = random.nextInt(4) == 0 ? 0.33 : 0.67;
        List<String> requests = new ArrayList<>();
        Set<ClaimId> released = new HashSet<>();
        for (int step = 0; step < STEPS; step++) {
            String at = names[random.nextInt(names.length)];
            List<Set<ClaimId>> heldBefore = heldIds(net);
            int dice = random.nextInt(100);
            if (dice < 50) {
                net.chaosStep(random, drop, 0.1);
            } else if (dice < 60) {
                boolean global = random.nextInt(5) == 0;
                String cidr = random.nextDouble() < specific ? (global ? "100.64." + random.nextInt(4) + ".0/24"
                        : "10.0." + random.nextInt(4) + ".0/24") : "";
                String id = "s" + seed + "-" + step;
                Step result = net.request(at, id, global ? "global" : "pod", cidr);
                if (net.node(at).up) {
                    requests.add(id);
                }
                assertTrue(result.events().isEmpty() || result.events().getFirst() instanceof PlanEvent.RequestOpened);
            } else if (dice < 72) {
                net.now += random.nextInt(1_500);
                net.input(at, new PlanInput.Tick(net.now));
            } else if (dice < 76) {
                net.input(at, PlanInput.Gossip.INSTANCE);
            } else if (dice < 79) {
                Set<String> minority = new HashSet<>();
                for (String name : names) {
                    if (random.nextInt(3) == 0) {
                        minority.add(name);
                    }
                }
                net.partition(minority);
            } else if (dice < 82) {
                net.heal();
            } else if (dice < 85) {
                net.crash(at);
            } else if (dice < 89) {
                if (!net.node(at).up) {
                    net.restart(at);
                    net.input(at, PlanInput.Gossip.INSTANCE); // what the entity does after recovery
                }
            } else if (dice < 94) {
                List<Claim> held = net.state(at).held();
                if (net.node(at).up && !held.isEmpty()) {
                    Claim victim = held.get(random.nextInt(held.size()));
                    released.add(victim.id());
                    net.input(at, new PlanInput.ReleaseSegment(victim.cidr()));
                }
            } else if (dice < 95) {
                try {
                    net.input(at, new PlanInput.RegisterCidr("service", "10.0." + random.nextInt(4) + ".128/25"));
                } catch (io.isthmus.api.InvalidFieldException refused) {
                    // inside a segment another cluster holds (as `at` knows it): refused, nothing happened
                }
            } else {
                int other = (List.of(names).indexOf(at) + 1 + random.nextInt(names.length - 1)) % names.length;
                net.input(at, new PlanInput.PeerConnected(ClusterId.of(names[other])));
            }
            String when = "seed " + seed + ", step " + step;
            net.assertNoOverlap(when);
            assertNothingTakenAway(net, heldBefore, released, when);
        }

        // Everyone back, the network whole: every request ends, and every plan agrees with what is held.
        for (String name : names) {
            if (!net.node(name).up) {
                net.restart(name);
            }
        }
        net.heal();
        net.settle();
        for (int i = 0; i < 15; i++) {
            net.tickAndSettle(1_000);
        }
        net.gossipAndSettle();
        String when = "seed " + seed + ", at the end";
        net.assertNoOverlap(when);
        for (String id : requests) {
            assertTrue(net.outcomes.containsKey(id), when + ": request " + id + " was never answered\n" + net.describe());
        }
        Set<String> truth = net.heldByEveryone().entrySet().stream()
                .flatMap(e -> e.getValue().stream().map(c -> e.getKey() + " " + c.cidr())).collect(Collectors.toSet());
        for (PlanNetwork.Node node : net.nodes.values()) {
            assertEquals(truth, node.state.plan().segments().stream().map(s -> s.holder() + " " + s.cidr())
                    .collect(Collectors.toSet()), when + ": the plan as " + node.id + " sees it");
            assertTrue(node.state.pending().isEmpty(), when + ": " + node.id + " still has pending claims");
        }
        // Honest clusters, however lossy the network, never send what an origin-bound ledger refuses.
        assertEquals(List.of(), net.rejected, when + ": refused between honest clusters");
        for (PlanNetwork.Node node : net.nodes.values()) {
            counts[0] += node.journal.stream().filter(e -> e instanceof PlanEvent.ClaimHeld).count();
            counts[1] += node.journal.stream().filter(e -> e instanceof PlanEvent.ClaimWithdrawn).count();
        }
        counts[2] += net.delivered;
    }

    private static List<Set<ClaimId>> heldIds(PlanNetwork net) {
        return net.nodes.values().stream()
                .map(n -> n.state.held().stream().map(Claim::id).collect(Collectors.toSet())).toList();
    }

    private static void assertNothingTakenAway(PlanNetwork net, List<Set<ClaimId>> before, Set<ClaimId> released, String when) {
        List<Set<ClaimId>> after = heldIds(net);
        for (int i = 0; i < before.size(); i++) {
            for (ClaimId id : before.get(i)) {
                if (!after.get(i).contains(id) && !released.contains(id)) {
                    throw new AssertionError(when + ": " + id + " was held and is gone without a release\n" + net.describe());
                }
            }
        }
    }
}
