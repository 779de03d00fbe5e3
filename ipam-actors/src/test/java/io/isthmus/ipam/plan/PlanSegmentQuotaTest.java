package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanOutput.RejectReason;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.isthmus.ipam.plan.PlanNetwork.id;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code plan.max-segments-per-member}: no member takes a supernet for itself, whether it asks its own ledger, proposes
 * claims to the others, or publishes a view holding more. Here the quota is 2 pod segments on every cluster but
 * west, which is configured (or hacked) to allow itself 10.
 */
class PlanSegmentQuotaTest {
    private static PlanNetwork network() {
        SortedSet<ClusterId> members = new TreeSet<>(List.of(id("east"), id("west"), id("edge")));
        return new PlanNetwork(List.of("east", "west", "edge"), self -> new PlanConfig(self, members,
                Map.of(SegmentKind.POD, List.of(Supernet.parse("pod", "10.0.0.0/16", 24))),
                PlanConfig.DEFAULT_CLAIM_TIMEOUT, PlanConfig.DEFAULT_RETRANSMIT_INTERVAL,
                PlanConfig.DEFAULT_GOSSIP_INTERVAL, RegistrationBounds.DEFAULT, self.equals(id("west")) ? 10 : 2));
    }

    private static Set<String> segments(PlanNetwork net, String at) {
        return net.state(at).plan().segments().stream().map(s -> s.holder() + " " + s.cidr())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static long rejections(PlanNetwork net, String at, RejectReason reason) {
        return net.rejected.stream().filter(r -> r.startsWith(at + ": ") && r.contains("reason=" + reason)).count();
    }

    @Test
    void aClusterCannotAskItsOwnLedgerForMoreThanItsQuota() {
        PlanNetwork net = network();
        net.request("east", "e1", "pod", "10.0.1.0/24");
        net.request("east", "e2", "pod", "");
        net.settle();
        net.request("east", "e3", "pod", "10.0.3.0/24");
        net.settle();

        assertInstanceOf(PlanOutput.Granted.class, net.outcomes.get("e1"));
        assertInstanceOf(PlanOutput.Granted.class, net.outcomes.get("e2"));
        PlanOutput.Refused third = assertInstanceOf(PlanOutput.Refused.class, net.outcomes.get("e3"));
        assertTrue(third.reason().contains("plan.max-segments-per-member (2)"), third.reason());
        assertEquals(2, net.state("east").held().size());
        assertEquals(segments(net, "east"), segments(net, "west"));
    }

    @Test
    void claimsBeyondTheQuotaGetNoAcknowledgementAndNeverHold() {
        PlanNetwork net = network();
        net.request("west", "w1", "pod", "10.0.1.0/24");
        net.request("west", "w2", "pod", "10.0.2.0/24");
        net.settle();
        // west's own ledger allows 10: its third claim goes out, and east and edge refuse it.
        net.request("west", "w3", "pod", "10.0.3.0/24");
        net.settle();
        // With every acceptor refusing, it fails at the claim timeout, as any claim without a majority does.
        net.tickAndSettle(PlanConfig.DEFAULT_CLAIM_TIMEOUT.toMillis() + 1);

        assertInstanceOf(PlanOutput.Refused.class, net.outcomes.get("w3"), String.valueOf(net.outcomes.get("w3")));
        Set<String> expected = Set.of("west 10.0.1.0/24", "west 10.0.2.0/24");
        assertEquals(expected, segments(net, "east"));
        assertEquals(expected, segments(net, "edge"));
        assertEquals(expected, segments(net, "west"));
        assertTrue(rejections(net, "east", RejectReason.SEGMENT_QUOTA) >= 1, net.rejected.toString());
        assertTrue(rejections(net, "edge", RejectReason.SEGMENT_QUOTA) >= 1, net.rejected.toString());
        // The range is free for someone else.
        net.request("edge", "g1", "pod", "10.0.3.0/24");
        net.settle();
        assertInstanceOf(PlanOutput.Granted.class, net.outcomes.get("g1"));
    }

    @Test
    void aViewHoldingMoreThanTheQuotaIsRefusedWhole() {
        PlanNetwork net = network();
        List<Claim> held = List.of(claim("west", 1, "10.0.1.0/24"), claim("west", 2, "10.0.2.0/24"),
                claim("west", 3, "10.0.3.0/24"));
        int journal = net.node("east").journal.size();

        var step = net.input("east", new PlanInput.Deliver(id("west"), new LedgerSnapshot(id("west"), List.of(
                new ClusterView(id("west"), 5, 3, held, List.of(), List.of()))), net.now));

        assertTrue(step.outputs().stream().anyMatch(o -> o instanceof PlanOutput.Rejected r
                && r.reason() == RejectReason.SEGMENT_QUOTA && r.detail().contains("3 pod segments")), step.outputs().toString());
        assertEquals(Set.of(), segments(net, "east"));
        assertEquals(journal, net.node("east").journal.size(), "nothing of the view is journaled");
        // A proposal straight to an acceptor that already knows two held segments of west is refused too.
        net.input("east", new PlanInput.Deliver(id("west"), new LedgerSnapshot(id("west"), List.of(
                new ClusterView(id("west"), 6, 2, held.subList(0, 2), List.of(), List.of()))), net.now));
        var proposal = net.input("east", new PlanInput.Deliver(id("west"),
                new ProposeClaim(held.get(2), List.of(id("east"), id("edge"), id("west"))), net.now));
        assertTrue(proposal.outputs().stream().anyMatch(o -> o instanceof PlanOutput.Send s
                && s.message() instanceof PlanMessage.ClaimAnswer a && a.refusal() == PlanMessage.Refusal.SEGMENT_QUOTA),
                proposal.outputs().toString());
    }

    private static Claim claim(String claimant, long seq, String cidr) {
        return Claim.of(new ClaimId(id(claimant), seq), SegmentKind.POD, Cidr.parse("cidr", cidr), 1_000_000);
    }
}
