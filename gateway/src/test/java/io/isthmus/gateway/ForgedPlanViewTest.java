package io.isthmus.gateway;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.MeshTrust;
import io.isthmus.ipam.plan.AckSignature;
import io.isthmus.ipam.plan.Claim;
import io.isthmus.ipam.plan.ClaimId;
import io.isthmus.ipam.plan.ClusterView;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanWire;
import io.isthmus.ipam.plan.SegmentKind;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A member cluster with a valid clusterset certificate (edge) tells a real gateway (east) that another member (west)
 * holds other segments than west itself says, over real mutual TLS. The forged view is refused and counted, never
 * journaled (it is gone after a restart from the journal, and west's own later views still count), and west's view
 * stands. Held segments outside the supernets are refused too, and so is a member's own view that shows it holding
 * a segment without a majority's signed acknowledgements.
 */
class ForgedPlanViewTest {
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");

    @TempDir
    Path dir;
    private ClustersetCa ca;
    private Gateway gateway;
    private ActorSystem<Void> peerSystem;
    private RoguePeer peers;
    private final List<Link> links = new ArrayList<>();

    @BeforeEach
    void start() {
        ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        gateway = startEast();
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
        peers = new RoguePeer(ca, dir.resolve("peers"), peerSystem);
    }

    private Gateway startEast() {
        return TestGateways.start("east", dir, dir, """
                plan {
                  members = [east, west, edge]
                  supernets.pod = [{cidr = "10.128.0.0/14", segment-prefix = 16}]
                  claim-timeout = 4s
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
    }

    @AfterEach
    void stop() {
        links.forEach(l -> l.link().close());
        peerSystem.terminate();
        gateway.close();
    }

    @Test
    void aMemberSpeakingForAnotherClusterIsRefusedCountedNotJournaledAndTheOwnersViewStands() throws Exception {
        Link west = link(WEST);
        west.send(snapshot(WEST, signedView(WEST, 3, 1, claim(WEST, 1, "10.129.0.0/16"))));
        await(() -> held(), Set.of("west pod 10.129.0.0/16"), "west's own view reaches east");

        Link edge = link(EDGE);
        // edge says west now holds 10.128/16 and 10.130/16 instead, at a version west will not reach for ages.
        edge.send(snapshot(EDGE, view(WEST, 1_000_000, 9, claim(WEST, 8, "10.128.0.0/16"), claim(WEST, 9, "10.130.0.0/16"))));
        // ... and that it holds 8.0.0.0/16 itself, outside every supernet (with west's acknowledgement, a majority).
        Claim outside = claim(EDGE, 1, "8.0.0.0/16");
        edge.send(snapshot(EDGE, withEvidence(view(EDGE, 2, 1, outside), outside, signature(WEST, outside))));
        await(() -> refused("edge", "foreign-origin"), 1L, "the forged view is counted");
        await(() -> refused("edge", "not-a-segment"), 1L, "the out-of-supernet view is counted");
        assertEquals(Set.of("west pod 10.129.0.0/16"), held(), "west's own view stands");

        // west's next view, far below the forged version, is still taken: the forgery left no trace.
        west.send(snapshot(WEST, signedView(WEST, 4, 2, claim(WEST, 1, "10.129.0.0/16"), claim(WEST, 2, "10.131.0.0/16"))));
        await(() -> held(), Set.of("west pod 10.129.0.0/16", "west pod 10.131.0.0/16"), "west's later view");

        // Restarted from its journal, east knows exactly what west said.
        links.forEach(l -> l.link().close());
        links.clear();
        gateway.close();
        gateway = startEast();
        await(() -> held(), Set.of("west pod 10.129.0.0/16", "west pod 10.131.0.0/16"), "the plan recovered from the journal");
        assertEquals(0L, refused("edge", "foreign-origin"), "a fresh process counts from zero");
    }

    @Test
    void aMemberShowingItselfHoldingASegmentWithoutAMajoritysSignedAcknowledgementsIsRefused() throws Exception {
        Link west = link(WEST);
        Claim taken = claim(WEST, 1, "10.129.0.0/16");
        // No evidence at all; west's own signature (the holder's is implied, it counts for nothing more); a signature
        // by edge over another range; edge's signature presented as east's.
        west.send(snapshot(WEST, view(WEST, 3, 1, taken)));
        west.send(snapshot(WEST, withEvidence(view(WEST, 4, 1, taken), taken, signature(WEST, taken))));
        west.send(snapshot(WEST, withEvidence(view(WEST, 5, 1, taken), taken,
                signature(EDGE, claim(WEST, 1, "10.130.0.0/16")))));
        AckSignature edges = signature(EDGE, taken);
        west.send(snapshot(WEST, withEvidence(view(WEST, 6, 1, taken), taken,
                new AckSignature(ClusterId.of("east"), edges.signature(), edges.certificate()))));
        await(() -> refused("west", "no-majority-evidence"), 4L, "each view short of a majority is counted");
        assertEquals(Set.of(), held(), "none of them was taken");

        // edge's real acknowledgement of that very claim makes a majority (west and edge of three).
        west.send(snapshot(WEST, withEvidence(view(WEST, 7, 1, taken), taken, signature(EDGE, taken))));
        await(() -> held(), Set.of("west pod 10.129.0.0/16"), "the view with a majority's evidence is taken");
    }

    // ---- the peers -----------------------------------------------------------------------------------------------

    /** {@code signer}'s acknowledgement of {@code claim}, signed as a real acceptor signs it. */
    private AckSignature signature(ClusterId signer, Claim claim) throws Exception {
        KeyMaterial.Signed signed = peers.keys(signer).sign(AckSignature.statement(claim, signer,
                List.of(ClusterId.of("east"), WEST, EDGE)));
        return new AckSignature(signer, Base64.getEncoder().encodeToString(signed.signature()),
                Base64.getEncoder().encodeToString(signed.certificate().getEncoded()));
    }

    /** A view whose held claims each carry edge's signed acknowledgement: with the holder's own, a majority of 3. */
    private ClusterView signedView(ClusterId origin, long version, long highestSeq, Claim... held) throws Exception {
        List<AckSignature.HeldEvidence> evidence = new ArrayList<>();
        for (Claim claim : held) {
            evidence.add(new AckSignature.HeldEvidence(claim.id(), List.of(signature(EDGE, claim))));
        }
        return new ClusterView(origin, version, highestSeq, List.of(held), List.of(), List.of(), evidence);
    }

    private static ClusterView withEvidence(ClusterView view, Claim claim, AckSignature... acks) {
        return new ClusterView(view.origin(), view.version(), view.highestClaimSeq(), view.held(), view.pending(),
                view.registered(), List.of(new AckSignature.HeldEvidence(claim.id(), List.of(acks))));
    }

    /** A link to east with {@code cluster}'s certificate; plan messages offered as the test goes. */
    private record Link(RoguePeer.Link link) {
        void send(PlanMessage message) {
            link.send(PeerMessage.newBuilder().setPlan(PlanWire.toProto(message)).build());
        }
    }

    private Link link(ClusterId cluster) {
        Link link = new Link(peers.link(cluster, gateway.peeringAddress().getPort()));
        links.add(link);
        return link;
    }

    private static PlanMessage.LedgerSnapshot snapshot(ClusterId sender, ClusterView view) {
        return new PlanMessage.LedgerSnapshot(sender, List.of(view));
    }

    private static ClusterView view(ClusterId origin, long version, long highestSeq, Claim... held) {
        return new ClusterView(origin, version, highestSeq, List.of(held), List.of(), List.of());
    }

    private static Claim claim(ClusterId claimant, long seq, String cidr) {
        return Claim.of(new ClaimId(claimant, seq), SegmentKind.POD, Cidr.parse("cidr", cidr), 1_700_000_000_000L + seq);
    }

    // ---- what east says ------------------------------------------------------------------------------------------

    private Set<String> held() {
        return gateway.addressPlan().current().toCompletableFuture().join().segments().stream()
                .map(s -> s.holder() + " " + s.kind().label() + " " + s.cidr()).collect(Collectors.toCollection(TreeSet::new));
    }

    private long refused(String peer, String reason) {
        String series = "isthmus_plan_messages_refused_total{peer=\"" + peer + "\",reason=\"" + reason + "\"} ";
        return gateway.metricsText().lines().filter(l -> l.startsWith(series))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(series.length()))).sum();
    }

    private static <T> void await(Supplier<T> actual, T expected, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        T last = actual.get();
        while (!expected.equals(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what + ": expected " + expected + ", got " + last);
            }
            Thread.sleep(100);
            last = actual.get();
        }
    }
}
