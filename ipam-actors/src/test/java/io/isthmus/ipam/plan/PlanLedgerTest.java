package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.ipam.plan.PlanLedger.Step;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanOutput.Granted;
import io.isthmus.ipam.plan.PlanOutput.Refused;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.isthmus.ipam.plan.PlanNetwork.id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanLedgerTest {

    private static Set<String> heldCidrs(PlanNetwork net) {
        return net.heldByEveryone().values().stream().flatMap(List::stream).map(Claim::cidr).collect(Collectors.toSet());
    }

    private static Granted granted(PlanNetwork net, String requestId) {
        return assertInstanceOf(Granted.class, net.outcomes.get(requestId), () -> requestId + ": " + net.outcomes.get(requestId));
    }

    @Test
    void aLoneClusterHoldsItsClaimAtOnce() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "solo");
        net.request("solo", "r1", "pod", "");
        assertEquals("10.0.0.0/24", granted(net, "r1").segment().cidr());
        assertEquals(List.of("10.0.0.0/24"), net.state("solo").held().stream().map(Claim::cidr).toList());
    }

    @Test
    void concurrentClaimsOfThreeClustersForTheSameSupernetConvergeWithoutOverlap() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        // All three pick the same first free /24 at the same wall time, before hearing of each other.
        net.request("west", "w", "pod", "");
        net.request("east", "e", "pod", "");
        net.request("edge", "g", "pod", "");
        assertEquals(3, net.inFlight.stream().filter(m -> m.message() instanceof ProposeClaim p
                && p.claim().cidr().equals("10.0.0.0/24")).map(m -> m.from()).distinct().count());
        net.settle();
        for (int i = 0; i < 5 && net.outcomes.size() < 3; i++) {
            net.tickAndSettle(1_000);
        }
        Granted east = granted(net, "e");
        Granted west = granted(net, "w");
        Granted edge = granted(net, "g");
        assertEquals(Set.of("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"),
                Set.of(east.segment().cidr(), west.segment().cidr(), edge.segment().cidr()));
        // Equal timestamps: the lower ClusterId wins the contested first segment.
        assertEquals("10.0.0.0/24", east.segment().cidr());
        net.assertNoOverlap("after convergence");
        net.gossipAndSettle();
        for (PlanNetwork.Node node : net.nodes.values()) {
            assertEquals(3, node.state.plan().segments().size(), node.id + " knows every cluster's segment");
        }
        // Equal timestamps all the way: east < edge < west take the segments in that order.
        assertEquals(List.of("east         pod       10.0.0.0/24", "edge         pod       10.0.1.0/24",
                "west         pod       10.0.2.0/24"), net.state("west").plan().describe());
    }

    @Test
    void theEarlierClaimWinsAndTheLaterClaimantMovesOn() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        net.request("west", "w", "pod", "");   // t = now
        net.now += 5;
        net.request("east", "e", "pod", "");   // later, although east sorts first
        net.settle();
        net.tickAndSettle(1_000);
        assertEquals("10.0.0.0/24", granted(net, "w").segment().cidr());
        assertEquals("10.0.1.0/24", granted(net, "e").segment().cidr());
    }

    @Test
    void fiveClustersConvergeDespiteDroppedAndDuplicatedMessages() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c", "d", "e");
        Random random = new Random(7);
        for (String name : List.of("a", "b", "c", "d", "e")) {
            net.request(name, "r-" + name, "pod", "");
            net.request(name, "s-" + name, "service", "");
        }
        for (int round = 0; round < 30 && net.outcomes.size() < 10; round++) {
            for (int i = 0; i < 200 && !net.inFlight.isEmpty(); i++) {
                net.chaosStep(random, 0.2, 0.2);
                net.assertNoOverlap("round " + round);
            }
            net.now += 1_000;
            net.nodes.keySet().forEach(n -> net.input(n, new PlanInput.Tick(net.now)));
        }
        assertEquals(10, net.outcomes.size(), () -> "every request answered: " + net.outcomes);
        assertTrue(net.outcomes.values().stream().allMatch(o -> o instanceof Granted), net.outcomes::toString);
        assertEquals(10, heldCidrs(net).size());
    }

    @Test
    void duplicatesAreIdempotent() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        net.request("east", "e", "pod", "");
        PlanNetwork.InFlight toWest = net.inFlight.stream().filter(m -> m.to().equals(id("west"))).findFirst().orElseThrow();
        Step first = net.input("west", new PlanInput.Deliver(toWest.from(), toWest.message(), net.now));
        Step again = net.input("west", new PlanInput.Deliver(toWest.from(), toWest.message(), net.now));
        assertEquals(1, first.events().size());
        assertEquals(List.of(), again.events(), "a second copy acknowledges again without a new event");
        assertInstanceOf(ClaimAnswer.class, ((PlanOutput.Send) again.outputs().getFirst()).message());
        net.settle();
        net.settle();
        assertEquals(1, net.state("east").held().size());
    }

    @Test
    void partitionTwoThreeMinorityTakesNothingNewAndKeepsWhatItHoldsMajorityContinues() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c", "d", "e");
        net.request("a", "a1", "pod", "");
        net.settle();
        Granted before = granted(net, "a1");
        net.partition(Set.of("a", "b"));

        net.request("a", "a2", "pod", "");
        net.request("b", "b1", "service", "");
        net.request("c", "c1", "pod", "");
        net.settle();
        granted(net, "c1");
        for (int i = 0; i < 9; i++) {
            net.tickAndSettle(1_000);
        }
        assertFalse(net.outcomes.containsKey("a2"), "pending while the deadline has not passed");
        assertEquals(1, net.state("a").pending().size());
        net.request("d", "d1", "pod", "");
        net.settle();
        granted(net, "d1");

        net.tickAndSettle(2_000); // past the 10 s claim timeout
        Refused refused = assertInstanceOf(Refused.class, net.outcomes.get("a2"));
        assertTrue(refused.reason().contains("no majority") && refused.reason().contains("needs 3 of 5"), refused.reason());
        assertInstanceOf(Refused.class, net.outcomes.get("b1"));
        assertEquals(List.of(before.segment().cidr()), net.state("a").held().stream().map(Claim::cidr).toList(),
                "the minority keeps what it held");
        assertEquals(List.of(), net.state("a").pending());
        assertEquals(List.of(), net.state("b").held());
        assertEquals(Set.of("10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"), heldCidrs(net));
        net.assertNoOverlap("during the partition");
    }

    @Test
    void claimsOnBothSidesOfAPartitionStillDoNotOverlapAfterTheHeal() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c", "d", "e");
        net.partition(Set.of("a", "b"));
        // Both sides go for the first /24; only the majority can get it.
        net.request("a", "a1", "pod", "");
        net.request("c", "c1", "pod", "");
        net.settle();
        assertEquals("10.0.0.0/24", granted(net, "c1").segment().cidr());
        assertEquals("10.0.0.0/24", net.state("a").pending().getFirst().cidr(), "a's claim waits in the minority");

        net.heal();
        net.settle();
        net.tickAndSettle(1_000);
        net.assertNoOverlap("after the heal");
        assertEquals("10.0.1.0/24", granted(net, "a1").segment().cidr(), "a moved on to a free segment and got it");
        net.gossipAndSettle();
        for (PlanNetwork.Node node : net.nodes.values()) {
            assertEquals(Set.of("a 10.0.1.0/24", "c 10.0.0.0/24"), node.state.plan().segments().stream()
                    .map(s -> s.holder() + " " + s.cidr()).collect(Collectors.toSet()), node.id + "'s plan");
        }
    }

    @Test
    void aRestartedAcceptorKeepsItsAcks() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        net.request("a", "a1", "pod", "10.0.5.0/24");
        // b acknowledges, but the ack and a's proposal to c are lost: a's claim stays pending.
        deliverOnly(net, "a", "b");
        net.inFlight.clear();
        assertTrue(net.state("b").hasAcknowledged(net.state("a").pending().getFirst().id()));

        net.crash("b");
        net.restart("b");
        assertTrue(net.state("b").hasAcknowledged(net.state("a").pending().getFirst().id()), "the ack survived the restart");

        // c has heard nothing and wants the same segment; b still refuses, so c cannot get a majority.
        net.request("c", "c1", "pod", "10.0.5.0/24");
        PlanNetwork.InFlight toB = net.inFlight.stream().filter(m -> m.to().equals(id("b"))).findFirst().orElseThrow();
        net.inFlight.remove(toB);
        Step answer = net.input("b", new PlanInput.Deliver(toB.from(), toB.message(), net.now));
        ClaimAnswer refusal = (ClaimAnswer) ((PlanOutput.Send) answer.outputs().getFirst()).message();
        assertFalse(refusal.acknowledged());
        assertEquals(PlanMessage.BlockerStatus.PENDING, refusal.blockerStatus());
        assertEquals(id("a"), refusal.blocker().claimant());

        net.settle();
        for (int i = 0; i < 3; i++) {
            net.tickAndSettle(1_000);
        }
        net.assertNoOverlap("after the restart");
        assertEquals("10.0.5.0/24", granted(net, "a1").segment().cidr(), "the earlier claim wins");
        assertInstanceOf(Refused.class, net.outcomes.get("c1"));
    }

    @Test
    void aClaimantRestartedWhilePendingFinishesItsClaim() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        net.request("a", "a1", "pod", "");
        net.crash("a");          // its proposals are lost with it
        net.settle();
        net.restart("a");
        net.tickAndSettle(1_000);  // retransmits from the journal's pending claim
        assertEquals(List.of("10.0.0.0/24"), net.state("a").held().stream().map(Claim::cidr).toList());
        assertEquals(1L, net.state("a").claimSeq());
    }

    @Test
    void aReleasedSegmentCanBeClaimedByAnotherCluster() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        net.request("a", "a1", "pod", "10.0.7.0/24");
        net.settle();
        granted(net, "a1");
        net.request("b", "b1", "pod", "10.0.7.0/24");
        assertTrue(((Refused) net.outcomes.get("b1")).reason().contains("held by a"), net.outcomes.get("b1").toString());

        net.input("a", new PlanInput.ReleaseSegment("10.0.7.0/24"));
        net.settle();
        assertEquals(List.of(), net.state("b").acknowledged().stream().filter(c -> c.claimant().equals(id("a"))).toList(),
                "acceptors freed their acks once a's view showed the release");
        net.request("b", "b2", "pod", "10.0.7.0/24");
        net.settle();
        assertEquals("10.0.7.0/24", granted(net, "b2").segment().cidr());
        net.assertNoOverlap("after release and reclaim");
    }

    @Test
    void registeredOverlappingCidrsAreReportedNamingBothClustersAndBothGetGlobalSegments() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        net.input("east", new PlanInput.RegisterCidr("pod", "10.244.0.0/16"));
        net.input("west", new PlanInput.RegisterCidr("pod", "10.244.0.0/16"));
        net.input("edge", new PlanInput.RegisterCidr("pod", "10.250.0.0/16"));
        net.settle();
        for (String name : List.of("east", "west", "edge")) {
            assertEquals(List.of("pod CIDR 10.244.0.0/16 of east overlaps pod CIDR 10.244.0.0/16 of west"),
                    net.state(name).overlaps().stream().map(CidrOverlap::describe).toList(), name);
        }
        List<String> printed = net.state("edge").plan().describe();
        assertTrue(printed.contains("overlap: pod CIDR 10.244.0.0/16 of east overlaps pod CIDR 10.244.0.0/16 of west"), printed::toString);
        assertTrue(printed.contains(String.format("%-12s %-9s %s (registered: in use before the plan)", "west", "pod", "10.244.0.0/16")),
                printed::toString);
        assertTrue(net.state("east").needsGlobalSegment());
        assertFalse(net.state("edge").needsGlobalSegment());

        net.tickAndSettle(1_000);
        net.tickAndSettle(1_000);
        List<Claim> eastGlobal = net.state("east").held().stream().filter(c -> c.kind() == SegmentKind.GLOBAL).toList();
        List<Claim> westGlobal = net.state("west").held().stream().filter(c -> c.kind() == SegmentKind.GLOBAL).toList();
        assertEquals(1, eastGlobal.size());
        assertEquals(1, westGlobal.size());
        assertFalse(eastGlobal.getFirst().range().overlaps(westGlobal.getFirst().range()));
        assertTrue(net.state("edge").held().isEmpty(), "edge overlaps no one and claims nothing");
        net.tickAndSettle(1_000);
        assertEquals(1, net.state("east").held().size(), "one global segment is enough");
    }

    @Test
    void poolsAreOnlyAllowedInsideSegmentsTheirClusterHolds() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        net.request("a", "a1", "pod", "10.0.1.0/24");
        net.request("b", "b1", "pod", "10.0.2.0/24");
        net.settle();
        net.partition(Set.of("c"));
        net.request("c", "c1", "pod", "10.0.3.0/24");
        PlanState a = net.state("a");
        assertEquals(Optional.empty(), a.whyNotHeld(id("a"), Cidr.parse("t", "10.0.1.128/25")));
        assertTrue(a.whyNotHeld(id("a"), Cidr.parse("t", "10.0.2.0/25")).orElseThrow().contains("held by b"));
        assertTrue(a.whyNotHeld(id("a"), Cidr.parse("t", "10.9.0.0/24")).orElseThrow().contains("a holds pod 10.0.1.0/24"));
        assertEquals(Optional.empty(), a.whyNotHeld(id("b"), Cidr.parse("t", "10.0.2.0/26")), "a knows what b holds");
        assertTrue(net.state("c").whyNotHeld(id("c"), Cidr.parse("t", "10.0.3.0/26")).orElseThrow()
                .contains("has not acknowledged it yet"));
        assertTrue(a.whyNotHeld(id("zz"), Cidr.parse("t", "10.0.3.0/26")).orElseThrow().contains("not a member"));
    }

    @Test
    void badInputNamesFieldAndValueAndChangesNothing() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        PlanState before = net.state("a");
        assertField("cidr", "10.0.0.300/24", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "pod", "10.0.0.300/24", 1)));
        assertField("cidr", "10.0.1.1/24", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "pod", "10.0.1.1/24", 1)));
        assertField("cidr", "10.0.0.0/23", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "pod", "10.0.0.0/23", 1)));
        assertField("cidr", "10.1.0.0/24", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "pod", "10.1.0.0/24", 1)));
        assertField("kind", "vlan", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "vlan", "", 1)));
        assertField("kind", "underlay", () -> PlanLedger.step(before, new PlanInput.RequestSegment("r", "underlay", "", 1)));
        assertField("kind", "global", () -> PlanLedger.step(before, new PlanInput.RegisterCidr("global", "100.64.0.0/24")));
        assertField("cidr", "fd00::1/64", () -> PlanLedger.step(before, new PlanInput.RegisterCidr("pod", "fd00::1/64")));
        assertField("cidr", "10.0.0.0/24", () -> PlanLedger.step(before, new PlanInput.ReleaseSegment("10.0.0.0/24")));
        assertSame(before, net.state("a"));
        assertEquals(0, before.version());
        assertTrue(net.inFlight.isEmpty());
        assertField("pod[0].segment-prefix", "8", () -> Supernet.parse("pod[0]", "10.0.0.0/16", 8));
        assertField("pod[0].segment-prefix", "33", () -> Supernet.parse("pod[0]", "10.0.0.0/16", 33));
        assertField("pod[0].cidr", "10.0.0.0/40", () -> Supernet.parse("pod[0]", "10.0.0.0/40", 24));
    }

    @Test
    void aPeerWithADifferentMemberListIsRefusedAndTheClaimTimesOutWithAClearReason() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "a", "b", "c");
        Claim claim = Claim.of(new ClaimId(id("b"), 1), SegmentKind.POD, Cidr.parse("t", "10.0.9.0/24"), 5);
        Step step = net.input("a", new PlanInput.Deliver(id("b"), new ProposeClaim(claim, List.of(id("a"), id("b"))), 5));
        ClaimAnswer answer = (ClaimAnswer) ((PlanOutput.Send) step.outputs().getFirst()).message();
        assertEquals(PlanMessage.Refusal.MEMBERS_DIFFER, answer.refusal());
        assertEquals(List.of(), step.events());
        Step stranger = net.input("a", new PlanInput.Deliver(id("zz"), new ProposeClaim(claim, List.of()), 5));
        assertEquals(List.of(), stranger.events());
        PlanOutput.Rejected refused = assertInstanceOf(PlanOutput.Rejected.class, stranger.outputs().getFirst());
        assertEquals(PlanOutput.RejectReason.NOT_A_MEMBER, refused.reason());
    }

    @Test
    void ipv6SupernetsWork() {
        SortedSet<ClusterId> members = new TreeSet<>(List.of(id("a"), id("b"), id("c")));
        PlanNetwork net = new PlanNetwork(List.of("a", "b", "c"), self -> PlanConfig.of(self, members, Map.of(
                SegmentKind.POD, List.of(Supernet.parse("pod", "fd00:10::/32", 64)))));
        net.input("c", new PlanInput.RegisterCidr("pod", "fd00:10::/63"));
        net.settle();
        net.request("a", "a1", "pod", "");
        net.request("b", "b1", "pod", "");
        net.settle();
        net.tickAndSettle(1_000);
        net.tickAndSettle(1_000);
        net.assertNoOverlap("ipv6");
        assertEquals(Set.of("fd00:10:0:2::/64", "fd00:10:0:3::/64"), heldCidrs(net), "the registered /63 is skipped");
    }

    private static void deliverOnly(PlanNetwork net, String from, String to) {
        for (int i = 0; i < net.inFlight.size(); i++) {
            PlanNetwork.InFlight m = net.inFlight.get(i);
            if (m.from().equals(id(from)) && m.to().equals(id(to))) {
                net.deliver(i);
                return;
            }
        }
        throw new AssertionError("nothing in flight from " + from + " to " + to);
    }

    static void assertField(String field, String value, org.junit.jupiter.api.function.Executable action) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, action);
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
    }
}
