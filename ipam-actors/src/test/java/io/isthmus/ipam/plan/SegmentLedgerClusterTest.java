package io.isthmus.ipam.plan;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.SegmentLedger.ClaimReply;
import io.isthmus.ipam.plan.SegmentLedger.Rejected;
import io.isthmus.ipam.plan.SegmentLedger.SegmentGranted;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three {@link SegmentLedger} entities in one actor system (in-memory journal, real timers and clock), their
 * transports wired to each other the way peering will: concurrent claims, claims on both sides of a partition,
 * the heal, and a restart of one ledger from its journal.
 */
class SegmentLedgerClusterTest {
    /** Generous: this test runs in real time on a shared 2-core machine, where a busy second is common. */
    private static final Duration CLAIM_TIMEOUT = Duration.ofSeconds(12);
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final List<ClusterId> CLUSTERS = List.of(ClusterId.of("east"), ClusterId.of("west"), ClusterId.of("edge"));

    private final ActorTestKit testKit = ActorTestKit.create(EventSourcedBehaviorTestKit.config()
            .withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING")));
    private final Map<ClusterId, ActorRef<SegmentLedger.Command>> ledgers = new ConcurrentHashMap<>();
    /** Clusters cut off from everyone else. */
    private final Set<ClusterId> isolated = ConcurrentHashMap.newKeySet();

    @AfterEach
    void stop() {
        testKit.shutdownTestKit();
    }

    /** Peering, as far as the ledgers can tell: best effort, nothing across the partition. */
    private PlanTransport transportOf(ClusterId self) {
        return new PlanTransport() {
            @Override
            public void send(ClusterId to, PlanMessage message) {
                ActorRef<SegmentLedger.Command> target = ledgers.get(to);
                if (target != null && !isolated.contains(self) && !isolated.contains(to)) {
                    target.tell(SegmentLedger.received(self, message));
                }
            }

            @Override
            public void sendToAll(PlanMessage message) {
                CLUSTERS.stream().filter(c -> !c.equals(self)).forEach(c -> send(c, message));
            }
        };
    }

    private ActorRef<SegmentLedger.Command> start(ClusterId self) {
        SortedSet<ClusterId> members = new TreeSet<>(CLUSTERS);
        PlanConfig config = new PlanConfig(self, members, Map.of(
                SegmentKind.POD, List.of(Supernet.parse("pod", "10.128.0.0/9", 16)),
                SegmentKind.SERVICE, List.of(Supernet.parse("service", "fd00:96::/108", 112))),
                CLAIM_TIMEOUT, Duration.ofMillis(100), Duration.ofMillis(300));
        ActorRef<SegmentLedger.Command> ledger = testKit.spawn(
                SegmentLedger.create(config, transportOf(self), plan -> { }, Clock.systemUTC()), "ledger-" + self);
        ledgers.put(self, ledger);
        return ledger;
    }

    private Plan plan(ClusterId cluster) {
        TestProbe<Plan> probe = testKit.createTestProbe();
        ledgers.get(cluster).tell(new SegmentLedger.GetPlan(probe.ref()));
        return probe.receiveMessage();
    }

    private TestProbe<ClaimReply> claim(ClusterId at, String kind) {
        TestProbe<ClaimReply> probe = testKit.createTestProbe();
        ledgers.get(at).tell(new SegmentLedger.ClaimSegment(kind, "", probe.ref()));
        return probe;
    }

    private static Segment granted(ClaimReply reply) {
        return assertInstanceOf(SegmentGranted.class, reply, reply::toString).segment();
    }

    private static void assertNoOverlap(List<Segment> segments) {
        for (int i = 0; i < segments.size(); i++) {
            for (int j = i + 1; j < segments.size(); j++) {
                assertFalse(Cidr.parse("a", segments.get(i).cidr()).overlaps(Cidr.parse("b", segments.get(j).cidr())),
                        segments.get(i) + " overlaps " + segments.get(j));
            }
        }
    }

    @Test
    void concurrentClaimsAPartitionItsHealAndARestart() {
        CLUSTERS.forEach(this::start);
        ClusterId east = CLUSTERS.get(0);
        ClusterId west = CLUSTERS.get(1);
        ClusterId edge = CLUSTERS.get(2);

        // Concurrent: two pod and one service segment per cluster, all at once.
        List<TestProbe<ClaimReply>> probes = CLUSTERS.stream()
                .flatMap(c -> List.of(claim(c, "pod"), claim(c, "pod"), claim(c, "service")).stream()).toList();
        List<Segment> granted = probes.stream()
                .map(p -> granted(p.receiveMessage(WAIT))).toList();
        assertEquals(9, granted.size());
        assertNoOverlap(granted);
        assertTrue(granted.stream().anyMatch(s -> s.cidr().equals("fd00:96::/112")));

        // Partition: edge alone takes nothing new, the majority goes on.
        isolated.add(edge);
        TestProbe<ClaimReply> lonely = claim(edge, "pod");
        Segment eastAgain = granted(claim(east, "pod").receiveMessage(WAIT));
        Rejected refused = assertInstanceOf(Rejected.class, lonely.receiveMessage(WAIT));
        assertTrue(refused.reason().contains("no majority"), refused.reason());
        assertEquals(2, plan(edge).segmentsOf(edge).stream().filter(s -> s.kind() == SegmentKind.POD).count(),
                "edge keeps what it held");

        // Heal: everyone learns the whole plan; a new claim of edge succeeds; still no overlap.
        isolated.clear();
        CLUSTERS.forEach(c -> CLUSTERS.stream().filter(p -> !p.equals(c))
                .forEach(p -> ledgers.get(c).tell(new SegmentLedger.PeerConnected(p))));
        Segment edgeAgain = granted(claim(edge, "pod").receiveMessage(WAIT));
        TestProbe<Object> waiter = testKit.createTestProbe();
        waiter.awaitAssert(WAIT, () -> {
            for (ClusterId c : CLUSTERS) {
                assertEquals(11, plan(c).segments().size(), c + "'s plan");
            }
            return null;
        });
        List<Segment> all = plan(west).segments();
        assertNoOverlap(all);
        assertTrue(all.containsAll(List.of(eastAgain, edgeAgain)));

        // Restart: west stops and comes back from its journal with the same segments.
        Set<String> westBefore = plan(west).segmentsOf(west).stream().map(Segment::cidr).collect(Collectors.toSet());
        testKit.stop(ledgers.get(west), Duration.ofSeconds(5));
        ledgers.remove(west);
        start(west);
        assertEquals(westBefore, plan(west).segmentsOf(west).stream().map(Segment::cidr).collect(Collectors.toSet()));
        assertEquals(11, plan(west).segments().size(), "west recovered the others' views too");
    }
}
