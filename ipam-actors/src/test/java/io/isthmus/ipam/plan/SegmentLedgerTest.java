package io.isthmus.ipam.plan;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.SegmentLedger.ChangeReply;
import io.isthmus.ipam.plan.SegmentLedger.ClaimReply;
import io.isthmus.ipam.plan.SegmentLedger.PoolRangeVerdict;
import io.isthmus.ipam.plan.SegmentLedger.Rejected;
import io.isthmus.ipam.plan.SegmentLedger.SegmentGranted;
import io.isthmus.testing.SettableClock;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResult;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The entity around the pure ledger: events persisted before anything is sent or answered, recovery from the
 * journal, timers, bad input. Commands, events and replies are checked to survive Jackson CBOR (bound here
 * until ipam-actors has its serialization marker interface).
 */
class SegmentLedgerTest {
    private static final Config CONFIG = ConfigFactory.parseString("""
            pekko.actor.serialization-bindings {
              "io.isthmus.ipam.plan.SegmentLedger$Command" = jackson-cbor
              "io.isthmus.ipam.plan.SegmentLedger$ClaimReply" = jackson-cbor
              "io.isthmus.ipam.plan.SegmentLedger$ChangeReply" = jackson-cbor
              "io.isthmus.ipam.plan.SegmentLedger$PoolRangeVerdict" = jackson-cbor
              "io.isthmus.ipam.plan.PlanEvent" = jackson-cbor
              "io.isthmus.ipam.plan.Plan" = jackson-cbor
            }
            """).withFallback(EventSourcedBehaviorTestKit.config());
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static ActorTestKit testKit;

    private final SettableClock clock = new SettableClock(T0);
    private final RecordingTransport transport = new RecordingTransport();
    private final AtomicReference<Plan> latestPlan = new AtomicReference<>();

    /** What the ledger sent: {@code to} is null for "to all". */
    record Sent(ClusterId to, PlanMessage message) {
    }

    static final class RecordingTransport implements PlanTransport {
        final List<Sent> sent = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void send(ClusterId to, PlanMessage message) {
            sent.add(new Sent(to, message));
        }

        @Override
        public void sendToAll(PlanMessage message) {
            sent.add(new Sent(null, message));
        }

        <T extends PlanMessage> List<T> of(Class<T> type) {
            synchronized (sent) {
                return sent.stream().map(Sent::message).filter(type::isInstance).map(type::cast).toList();
            }
        }
    }

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(CONFIG);
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    private static ClusterId id(String name) {
        return ClusterId.of(name);
    }

    /** A ledger for {@code self} in a clusterset of self, west and edge; its own name so journals do not mix. */
    private EventSourcedBehaviorTestKit<SegmentLedger.Command, PlanEvent, PlanState> ledger(
            String self, Duration claimTimeout, Duration retransmit) {
        SortedSet<ClusterId> members = new TreeSet<>(List.of(id(self), id("west"), id("edge")));
        PlanConfig config = new PlanConfig(id(self), members, Map.of(
                SegmentKind.POD, List.of(Supernet.parse("pod", "10.0.0.0/16", 24)),
                SegmentKind.GLOBAL, List.of(Supernet.parse("global", "100.64.0.0/16", 24))),
                claimTimeout, retransmit, Duration.ofHours(1));
        return EventSourcedBehaviorTestKit.create(testKit.system(),
                SegmentLedger.create(config, transport, latestPlan::set, clock),
                EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true).withVerifyState(false));
    }

    private EventSourcedBehaviorTestKit<SegmentLedger.Command, PlanEvent, PlanState> ledger() {
        return ledger("east" + IDS.incrementAndGet(), Duration.ofSeconds(10), Duration.ofHours(1));
    }

    @Test
    void aClaimIsGrantedOnceAMajorityAcknowledgesAndSurvivesARestart() {
        var kit = ledger();
        ClusterId self = kit.getState().self();
        TestProbe<ClaimReply> requester = testKit.createTestProbe();

        CommandResult<SegmentLedger.Command, PlanEvent, PlanState> claimed =
                kit.runCommand(new SegmentLedger.ClaimSegment("pod", "", requester.ref()));
        assertInstanceOf(PlanEvent.RequestOpened.class, claimed.events().get(0));
        Claim claim = assertInstanceOf(PlanEvent.ClaimStarted.class, claimed.events().get(1)).claim();
        assertEquals("10.0.0.0/24", claim.cidr());
        assertEquals(T0.toEpochMilli(), claim.timestamp());
        assertEquals(List.of(claim), transport.of(ProposeClaim.class).stream().map(ProposeClaim::claim).toList());
        requester.expectNoMessage(Duration.ofMillis(100));

        CommandResult<SegmentLedger.Command, PlanEvent, PlanState> acked = kit.runCommand(SegmentLedger.received(id("west"),
                ClaimAnswer.acknowledged(claim, id("west")).signedWith(new AckSignature(id("west"), "c2ln", "Y2VydA=="))));
        assertEquals(List.of(new PlanEvent.AckReceived(claim.id(), id("west"), new AckSignature(id("west"), "c2ln", "Y2VydA==")),
                new PlanEvent.ClaimHeld(claim.id())), acked.events());
        SegmentGranted granted = assertInstanceOf(SegmentGranted.class, requester.receiveMessage());
        assertEquals(new Segment(self, SegmentKind.POD, "10.0.0.0/24"), granted.segment());
        assertEquals(List.of(granted.segment()), latestPlan.get().segments());
        assertTrue(transport.of(LedgerSnapshot.class).getLast().views().getFirst().held().contains(claim),
                "everyone is told the claim is held");
        assertEquals(List.of(new AckSignature(id("west"), "c2ln", "Y2VydA==")),
                transport.of(LedgerSnapshot.class).getLast().views().getFirst().evidenceOf(claim.id()),
                "with west's signed acknowledgement as evidence");

        kit.restart();
        assertEquals(List.of(claim), kit.getState().held());
        assertEquals(1, kit.getState().ownView().evidenceOf(claim.id()).size(), "the evidence is journaled");
        PoolRangeVerdict inside = kit.<PoolRangeVerdict>runCommand(r -> new SegmentLedger.CheckPoolRange(self, "10.0.0.128/25", r)).reply();
        assertEquals(new PoolRangeVerdict(true, ""), inside);
        PoolRangeVerdict outside = kit.<PoolRangeVerdict>runCommand(r -> new SegmentLedger.CheckPoolRange(self, "10.0.1.0/25", r)).reply();
        assertFalse(outside.allowed());
        assertTrue(outside.reason().contains("holds pod 10.0.0.0/24"), outside.reason());
        Plan plan = kit.<Plan>runCommand(SegmentLedger.GetPlan::new).reply();
        assertEquals(List.of(granted.segment()), plan.segments());
    }

    @Test
    void acksGivenSurviveARestartAndStillBlockOverlappingClaims() {
        var kit = ledger();
        ClusterId self = kit.getState().self();
        List<ClusterId> members = List.copyOf(kit.getState().config().members());
        Claim west = Claim.of(new ClaimId(id("west"), 1), SegmentKind.POD, Cidr.parse("t", "10.0.3.0/24"), 100);
        CommandResult<SegmentLedger.Command, PlanEvent, PlanState> acked =
                kit.runCommand(SegmentLedger.received(id("west"), new ProposeClaim(west, members)));
        assertEquals(List.of(new PlanEvent.AckGiven(west)), acked.events());
        assertEquals(new Sent(id("west"), ClaimAnswer.acknowledged(west, self)), transport.sent.getLast());

        kit.restart();
        Claim edge = Claim.of(new ClaimId(id("edge"), 1), SegmentKind.POD, Cidr.parse("t", "10.0.3.0/24"), 200);
        CommandResult<SegmentLedger.Command, PlanEvent, PlanState> refused =
                kit.runCommand(SegmentLedger.received(id("edge"), new ProposeClaim(edge, members)));
        assertTrue(refused.hasNoEvents());
        ClaimAnswer answer = (ClaimAnswer) transport.sent.getLast().message();
        assertFalse(answer.acknowledged());
        assertEquals(west, answer.blocker());
        assertEquals(PlanMessage.BlockerStatus.PENDING, answer.blockerStatus());
    }

    @Test
    void badInputIsRejectedNamingFieldAndValueWithoutEvents() {
        var kit = ledger();
        CommandResultWithReply<SegmentLedger.Command, PlanEvent, PlanState, ClaimReply> kind =
                kit.runCommand(r -> new SegmentLedger.ClaimSegment("vlan", "", r));
        assertTrue(kind.hasNoEvents());
        assertEquals("kind", ((Rejected) kind.reply()).field());
        assertEquals("vlan", ((Rejected) kind.reply()).value());
        Rejected cidr = (Rejected) kit.<ClaimReply>runCommand(r -> new SegmentLedger.ClaimSegment("pod", "10.0.0.0/8", r)).reply();
        assertEquals(List.of("cidr", "10.0.0.0/8"), List.of(cidr.field(), cidr.value()));
        CommandResultWithReply<SegmentLedger.Command, PlanEvent, PlanState, ChangeReply> register =
                kit.runCommand(r -> new SegmentLedger.RegisterCidr("pod", "10.244.0.0/33", r));
        assertTrue(register.hasNoEvents());
        assertEquals("cidr", ((Rejected) register.reply()).field());
        Rejected release = (Rejected) kit.<ChangeReply>runCommand(r -> new SegmentLedger.ReleaseSegment("10.0.0.0/24", r)).reply();
        assertTrue(release.reason().contains("holds no such segment"), release.reason());
        assertEquals(0, kit.getState().version());
        assertTrue(transport.of(ProposeClaim.class).isEmpty());
    }

    @Test
    void aClaimWithoutAMajorityIsRetransmittedThenFailsWithAClearReason() {
        var kit = ledger("east" + IDS.incrementAndGet(), Duration.ofSeconds(2), Duration.ofMillis(50));
        TestProbe<ClaimReply> requester = testKit.createTestProbe();
        kit.runCommand(new SegmentLedger.ClaimSegment("pod", "", requester.ref()));
        requester.awaitAssert(Duration.ofSeconds(5), () -> {
            assertTrue(transport.sent.stream().filter(s -> s.to() != null && s.message() instanceof ProposeClaim).count() >= 4,
                    "retransmitted to west and edge");
            return null;
        });
        clock.set(T0.plusSeconds(3));
        Rejected rejected = assertInstanceOf(Rejected.class, requester.receiveMessage(Duration.ofSeconds(5)));
        assertTrue(rejected.reason().contains("no majority acknowledged pod 10.0.0.0/24 within 2s"), rejected.reason());
        assertTrue(kit.getState().pending().isEmpty());
        assertTrue(kit.getState().held().isEmpty());
    }

    @Test
    void aRegisteredCidrIsInThePlanAndAReconnectingPeerGetsTheLedger() {
        var kit = ledger();
        CommandResultWithReply<SegmentLedger.Command, PlanEvent, PlanState, ChangeReply> registered =
                kit.runCommand(r -> new SegmentLedger.RegisterCidr("pod", "10.244.0.0/16", r));
        assertEquals(SegmentLedger.Done.INSTANCE, registered.reply());
        assertEquals(List.of(new Plan.RegisteredCidr(kit.getState().self(), SegmentKind.POD, "10.244.0.0/16")),
                latestPlan.get().registered());
        kit.runCommand(new SegmentLedger.PeerConnected(id("west")));
        Sent last = transport.sent.getLast();
        assertEquals(id("west"), last.to());
        LedgerSnapshot snapshot = assertInstanceOf(LedgerSnapshot.class, last.message());
        assertEquals(List.of(new Registration(SegmentKind.POD, "10.244.0.0/16")), snapshot.views().getFirst().registered());
    }

    @Test
    void repliesAndThePlanSurviveJacksonCbor() {
        SerializationTestKit serialization = new SerializationTestKit(testKit.system());
        ClusterId east = id("east");
        Claim claim = Claim.of(new ClaimId(east, 3), SegmentKind.POD, Cidr.parse("t", "fd00:10::/64"), 7);
        Plan plan = new Plan(east, new TreeSet<>(List.of(east, id("west"))), List.of(new Segment(east, SegmentKind.POD, "10.0.0.0/24")),
                List.of(claim), List.of(new Plan.RegisteredCidr(id("west"), SegmentKind.SERVICE, "10.96.0.0/12")),
                List.of(new CidrOverlap(east, SegmentKind.POD, "10.244.0.0/16", true, id("west"), SegmentKind.POD, "10.244.0.0/16", true)));
        for (Object message : List.of(plan, new SegmentGranted(new Segment(east, SegmentKind.GLOBAL, "100.64.0.0/24")),
                new Rejected("kind", "vlan", "invalid kind 'vlan'"), SegmentLedger.Done.INSTANCE,
                new PoolRangeVerdict(false, "why"),
                SegmentLedger.received(id("west"), new LedgerSnapshot(id("west"), List.of(new ClusterView(id("west"), 4, 3,
                        List.of(claim), List.of(), List.of(new Registration(SegmentKind.POD, "10.244.0.0/16")))))),
                SegmentLedger.received(id("west"), ClaimAnswer.refused(claim.id(), id("west"), PlanMessage.Refusal.CONFLICT,
                        "overlaps", claim, PlanMessage.BlockerStatus.HELD)),
                SegmentLedger.received(id("west"), new PlanMessage.ContestClaim(claim.id(), claim)))) {
            serialization.verifySerialization(message, true);
        }
    }
}
