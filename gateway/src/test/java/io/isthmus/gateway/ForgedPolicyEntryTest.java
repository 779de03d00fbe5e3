package io.isthmus.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.policy.PolicyEntry;
import io.isthmus.api.grpc.policy.PolicySync;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyMaterial;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member cluster with a valid clusterset certificate (edge) sends a real gateway (east) policy entries: one without
 * a seal, one written in west's name but sealed by edge, one sealed by west and then altered. All are refused and
 * counted; an entry edge writes and seals in its own name, and one west sealed that edge relays unchanged, are taken.
 */
class ForgedPolicyEntryTest {
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");
    private static final String POLICY = """
            {"apiVersion":"isthmus.io/v1alpha1","kind":"GlobalNetworkPolicy","metadata":{"name":"%s"},"spec":{"order":1000,"appliesTo":{},"ingress":[{"action":"Deny"}]}}""";

    @TempDir
    Path dir;
    private Gateway east;
    private ActorSystem<Void> peerSystem;
    private RoguePeer peers;

    @BeforeEach
    void start() {
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        east = TestGateways.start("east", dir, dir, "");
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
        peers = new RoguePeer(ca, dir.resolve("peers"), peerSystem);
    }

    @AfterEach
    void stop() {
        peerSystem.terminate();
        east.close();
    }

    @Test
    void entriesNotSealedByTheirOriginAreRefusedAndCountedAndSealedOnesAreTaken() throws Exception {
        RoguePeer.Link edge = peers.link(EDGE, east.peeringAddress().getPort());
        send(edge, entry("unsealed", 1, EDGE, null));
        send(edge, entry("in-wests-name", 1, WEST, EDGE));
        PolicyEntry altered = entry("altered", 1, WEST, WEST).toBuilder()
                .setPolicyJson(POLICY.formatted("altered").replace("Deny", "Allow")).build();
        send(edge, altered);
        await(() -> refused("edge", "unsealed"), 3L, "the three forged entries are counted");
        assertEquals("0:empty", version(), "none of them is in the book");

        send(edge, entry("edges-own", 1, EDGE, EDGE));
        send(edge, entry("relayed-from-west", 1, WEST, WEST));
        await(this::version, "2:", "both sealed entries in the book", v -> v.substring(0, 2));
        assertEquals(3L, refused("edge", "unsealed"));
    }

    // ---- the entries ---------------------------------------------------------------------------------------------

    /** An entry of {@code name} by {@code origin}, sealed as a gateway seals it by {@code sealer} (null: none). */
    private PolicyEntry entry(String name, long revision, ClusterId origin, ClusterId sealer) throws Exception {
        String json = POLICY.formatted(name);
        PolicyEntry.Builder entry = PolicyEntry.newBuilder().setName(name).setPolicyJson(json).setRevision(revision)
                .setOriginCluster(origin.value());
        if (sealer != null) {
            // The statement as policy/README says an origin signs it (written out here, not taken from the code).
            String canonical = io.isthmus.policy.PolicyCodec.canonicalJson(io.isthmus.policy.PolicyCodec.readOne(json));
            byte[] statement = ("isthmus-policy-entry/1\n" + name + "\n" + revision + "\n" + origin.value() + "\n"
                    + canonical).getBytes(StandardCharsets.UTF_8);
            KeyMaterial.Signed signed = peers.keys(sealer).sign(statement);
            entry.setSignature(ByteString.copyFrom(signed.signature()))
                    .setCertificate(ByteString.copyFrom(signed.certificate().getEncoded()));
        }
        return entry.build();
    }

    private static void send(RoguePeer.Link link, PolicyEntry entry) {
        link.send(PeerMessage.newBuilder().setPolicy(PolicySync.newBuilder().addEntries(entry).setBookVersion("x")).build());
    }

    // ---- what east says ------------------------------------------------------------------------------------------

    private String version() {
        return east.policies().book().version();
    }

    private long refused(String peer, String reason) {
        String series = "isthmus_policy_entries_refused_total{peer=\"" + peer + "\",reason=\"" + reason + "\"} ";
        return east.metricsText().lines().filter(l -> l.startsWith(series))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(series.length()))).sum();
    }

    private static <T> void await(Supplier<T> actual, T expected, String what) throws InterruptedException {
        await(actual, expected, what, v -> v);
    }

    private static <T, V> void await(Supplier<T> actual, V expected, String what,
                                     java.util.function.Function<T, V> view) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        V last = view.apply(actual.get());
        while (!expected.equals(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what + ": expected " + expected + ", got " + last);
            }
            Thread.sleep(100);
            last = view.apply(actual.get());
        }
    }
}
