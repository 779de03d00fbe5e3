package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanLedger.Step;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanOutput.RejectReason;
import io.isthmus.ipam.plan.PlanOutput.Rejected;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.isthmus.ipam.plan.PlanNetwork.id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A member cluster with a valid certificate lies about the plan: it speaks for another cluster, or publishes
 * holdings outside the supernets. The ledger refuses it, says so (a {@link Rejected} output: counted and logged by
 * the host), records nothing, and what the real owner said stands. Expected plans are written out by hand.
 */
class PlanOriginBindingTest {
    /** pod segments are the /24s of 10.0.0.0/16; service the /20s of 10.96.0.0/16; global the /24s of 100.64.0.0/16. */
    private static PlanNetwork threeClusters() {
        return PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
    }

    private static Claim claim(String claimant, long seq, SegmentKind kind, String cidr) {
        return Claim.of(new ClaimId(id(claimant), seq), kind, Cidr.parse("cidr", cidr), 1_000_000);
    }

    private static ClusterView heldView(String origin, long version, long highestSeq, Claim... held) {
        return new ClusterView(id(origin), version, highestSeq, List.of(held), List.of(), List.of());
    }

    private static Step deliver(PlanNetwork net, String from, String to, PlanMessage message) {
        return net.input(to, new PlanInput.Deliver(id(from), message, net.now));
    }

    private static Set<String> segments(PlanNetwork net, String at) {
        return net.state(at).plan().segments().stream().map(s -> s.holder() + " " + s.kind().label() + " " + s.cidr())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static Rejected onlyRejection(Step step, RejectReason reason) {
        List<Rejected> rejected = step.outputs().stream().filter(o -> o instanceof Rejected).map(o -> (Rejected) o).toList();
        assertEquals(1, rejected.size(), step.outputs().toString());
        assertEquals(reason, rejected.getFirst().reason(), rejected.getFirst().detail());
        return rejected.getFirst();
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

    @Test
    void aViewOfAnotherClusterIsRefusedNotJournaledAndTheOwnersLaterViewsStillCount() {
        PlanNetwork net = threeClusters();
        net.request("west", "w1", "pod", "10.0.5.0/24");
        net.settle();
        assertEquals(Set.of("west pod 10.0.5.0/24"), segments(net, "east"));
        int journal = net.node("east").journal.size();

        // edge claims west moved to 10.0.9.0/24, at a version far ahead of anything west will ever send.
        Step forged = deliver(net, "edge", "east", new LedgerSnapshot(id("edge"), List.of(
                heldView("west", 1_000_000, 99, claim("west", 7, SegmentKind.POD, "10.0.9.0/24")))));

        Rejected rejected = onlyRejection(forged, RejectReason.FOREIGN_ORIGIN);
        assertEquals(id("edge"), rejected.from());
        assertTrue(rejected.detail().contains("view of west"), rejected.detail());
        assertEquals(List.of(), forged.events(), "nothing of the forged view is journaled");
        assertEquals(journal, net.node("east").journal.size());
        assertEquals(Set.of("west pod 10.0.5.0/24"), segments(net, "east"));

        // west's own next view (version far below the forged one) is still taken.
        net.request("west", "w2", "pod", "10.0.6.0/24");
        net.settle();
        assertEquals(Set.of("west pod 10.0.5.0/24", "west pod 10.0.6.0/24"), segments(net, "east"));
    }

    @Test
    void aForgedViewCannotFreeAnAcknowledgementSoTwoClustersNeverHoldTheSameRange() {
        PlanNetwork net = threeClusters();
        net.request("west", "w1", "pod", "10.0.5.0/24");
        deliverOnly(net, "west", "east"); // east acknowledges west's claim; the answer is still on its way
        assertTrue(net.state("east").hasAcknowledged(new ClaimId(id("west"), 1)));

        // edge "proves" west's claim over (issued, neither held nor pending), then claims the same range.
        Step forged = deliver(net, "edge", "east", new LedgerSnapshot(id("edge"), List.of(heldView("west", 50, 1))));
        onlyRejection(forged, RejectReason.FOREIGN_ORIGIN);
        assertTrue(net.state("east").hasAcknowledged(new ClaimId(id("west"), 1)), "east keeps its ack for west");

        Claim grab = claim("edge", 1, SegmentKind.POD, "10.0.5.0/24");
        Step proposal = deliver(net, "edge", "east", new ProposeClaim(grab, List.of(id("east"), id("edge"), id("west"))));
        ClaimAnswer answer = (ClaimAnswer) ((PlanOutput.Send) proposal.outputs().getFirst()).message();
        assertFalse(answer.acknowledged(), "east does not acknowledge edge's overlapping claim: " + answer);
        assertEquals(PlanMessage.Refusal.CONFLICT, answer.refusal());

        net.settle();
        assertEquals(Set.of("west pod 10.0.5.0/24"), segments(net, "east"));
        net.assertNoOverlap("after the forgery");
    }

    @Test
    void aSnapshotSentInAnotherClustersNameIsRefused() {
        PlanNetwork net = threeClusters();
        Step step = deliver(net, "edge", "east", new LedgerSnapshot(id("west"), List.of(
                heldView("west", 3, 1, claim("west", 1, SegmentKind.POD, "10.0.1.0/24")))));
        onlyRejection(step, RejectReason.SENDER_MISMATCH);
        assertEquals(List.of(), step.events());
        assertEquals(Set.of(), segments(net, "east"));
    }

    @Test
    void heldOrPendingClaimsThatAreNotSegmentsOfTheSupernetsRefuseTheWholeView() {
        PlanNetwork net = threeClusters();
        List<ClusterView> lies = List.of(
                heldView("edge", 2, 1, claim("edge", 1, SegmentKind.POD, "8.0.0.0/24")),       // outside every supernet
                heldView("edge", 3, 1, claim("edge", 1, SegmentKind.POD, "10.0.0.0/16")),      // the whole supernet, not a /24
                heldView("edge", 4, 1, claim("edge", 1, SegmentKind.POD, "10.0.7.128/25")),    // inside, but smaller than a segment
                heldView("edge", 5, 1, claim("edge", 1, SegmentKind.SERVICE, "10.0.7.0/24")),  // a pod range passed off as service
                heldView("edge", 6, 2, claim("edge", 1, SegmentKind.POD, "10.0.8.0/24"),       // one good, one bad: all refused
                        claim("edge", 2, SegmentKind.GLOBAL, "0.0.0.0/0")),
                new ClusterView(id("edge"), 7, 1, List.of(), List.of(claim("edge", 1, SegmentKind.POD, "192.168.0.0/24")), List.of()));
        for (ClusterView lie : lies) {
            Step step = deliver(net, "edge", "east", new LedgerSnapshot(id("edge"), List.of(lie)));
            onlyRejection(step, RejectReason.NOT_A_SEGMENT);
            assertEquals(List.of(), step.events(), "view " + lie.version());
        }
        Step foreignClaim = deliver(net, "edge", "east", new LedgerSnapshot(id("edge"), List.of(
                heldView("edge", 8, 1, claim("west", 1, SegmentKind.POD, "10.0.3.0/24")))));
        onlyRejection(foreignClaim, RejectReason.FOREIGN_ORIGIN);
        assertEquals(Set.of(), segments(net, "east"));

        // A true view of edge, at a version below the refused ones, is taken: they left no trace.
        Step honest = deliver(net, "edge", "east", new LedgerSnapshot(id("edge"), List.of(
                heldView("edge", 2, 1, claim("edge", 1, SegmentKind.POD, "10.0.8.0/24")))));
        assertEquals(1, honest.events().size(), honest.events().toString());
        assertInstanceOf(PlanEvent.ViewMerged.class, honest.events().getFirst());
        assertEquals(Set.of("edge pod 10.0.8.0/24"), segments(net, "east"));
    }

    @Test
    void aProposalForARangeOutsideTheSupernetsIsRefusedNotAcknowledged() {
        PlanNetwork net = threeClusters();
        List<ClusterId> members = List.of(id("east"), id("edge"), id("west"));
        for (Claim grab : List.of(claim("edge", 1, SegmentKind.POD, "8.0.0.0/7"),
                claim("edge", 2, SegmentKind.POD, "10.0.0.0/16"),
                claim("edge", 3, SegmentKind.UNDERLAY, "10.0.4.0/24"))) { // no underlay supernet here
            Step step = deliver(net, "edge", "east", new ProposeClaim(grab, members));
            onlyRejection(step, RejectReason.NOT_A_SEGMENT);
            assertEquals(List.of(), step.events(), grab.cidr());
            ClaimAnswer answer = step.outputs().stream().filter(o -> o instanceof PlanOutput.Send)
                    .map(o -> (ClaimAnswer) ((PlanOutput.Send) o).message()).findFirst().orElseThrow();
            assertFalse(answer.acknowledged());
            assertEquals(PlanMessage.Refusal.NOT_A_SEGMENT, answer.refusal());
        }
        assertFalse(net.state("east").hasAcknowledged(new ClaimId(id("edge"), 1)));
    }

    @Test
    void honestClustersSendOnlyTheirOwnViewAndAnEchoOfThePeersSoNothingIsRefused() {
        PlanNetwork net = threeClusters();
        net.request("east", "e", "pod", "");
        net.request("west", "w", "pod", "");
        net.request("edge", "g", "pod", "");
        for (int i = 0; i < 5; i++) {
            net.tickAndSettle(1_000);
        }
        net.gossipAndSettle();
        Step gossip = net.input("east", PlanInput.Gossip.INSTANCE);
        LedgerSnapshot all = (LedgerSnapshot) ((PlanOutput.SendToAll) gossip.outputs().getFirst()).message();
        assertEquals(List.of(id("east")), all.views().stream().map(ClusterView::origin).toList());
        Step connected = net.input("east", new PlanInput.PeerConnected(id("west")));
        LedgerSnapshot toWest = (LedgerSnapshot) ((PlanOutput.Send) connected.outputs().getFirst()).message();
        assertEquals(List.of(id("east"), id("west")), toWest.views().stream().map(ClusterView::origin).toList());
        net.settle();
        assertEquals(List.of(), net.rejected);
        for (String at : List.of("east", "west", "edge")) {
            assertEquals(3, segments(net, at).size(), at + " knows every cluster's segment: " + segments(net, at));
        }
    }
}
