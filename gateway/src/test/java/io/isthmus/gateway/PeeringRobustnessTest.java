package io.isthmus.gateway;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.grpc.peering.Export;
import io.isthmus.api.grpc.peering.ExportSnapshot;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.api.grpc.peering.Port;
import io.isthmus.api.grpc.peering.Protocol;
import io.isthmus.api.grpc.peering.ServiceType;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.MeshTrust;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A peer that breaks the protocol or sends garbage is cut off, with a reason, and changes nothing. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeeringRobustnessTest {
    private Gateway gateway;
    private ActorSystem<Void> peerSystem;
    private ClustersetCa ca;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) {
        this.dir = dir;
        ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        GatewayConfig config = TestGateways.config("east", dir, dir, "");
        gateway = Gateway.start(config);
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
    }

    @AfterAll
    void stop() {
        peerSystem.terminate();
        gateway.close();
    }

    /** A client TLS context presenting a fresh certificate for {@code cluster} from {@code issuer}. */
    private javax.net.ssl.SSLContext clientTls(ClustersetCa issuer, String cluster) {
        Path tls = dir.resolve("peers").resolve(issuer == ca ? "ours" : "theirs").resolve(cluster);
        issuer.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(tls);
        KeyFiles files = KeyFiles.in(tls, ClusterId.of(cluster));
        // The client trusts our CA (it must accept the gateway's certificate) whoever issued its own.
        return MeshTrust.of(ca.certificate(), ca.currentCrl().crl()).clientContext(KeyMaterial.load(files));
    }

    /** Opens a link as {@code cluster}, sends {@code messages} and keeps our side open; returns how it ended. */
    private CompletableFuture<List<PeerMessage>> link(String cluster, PeerMessage... messages) {
        return link(clientTls(ca, cluster), messages);
    }

    private CompletableFuture<List<PeerMessage>> link(javax.net.ssl.SSLContext tls, PeerMessage... messages) {
        PeeringClient client = PeeringClient.create(GrpcClientSettings.connectToServiceAt(
                "127.0.0.1", gateway.peeringAddress().getPort(), peerSystem).withSslContext(tls), peerSystem);
        return client.link(Source.from(List.of(messages)).concat(Source.maybe()).mapMaterializedValue(m -> org.apache.pekko.NotUsed.getInstance()))
                .takeWithin(Duration.ofSeconds(10))
                .runWith(Sink.seq(), peerSystem)
                .toCompletableFuture()
                .whenComplete((ok, failure) -> client.close());
    }

    private static PeerMessage hello(String cluster, int version) {
        return PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId(cluster).setProtocolVersion(version)).build();
    }

    private static PeerMessage snapshot(String origin, long version, Export... exports) {
        return PeerMessage.newBuilder().setExportSnapshot(ExportSnapshot.newBuilder()
                .setOriginCluster(origin).setVersion(version).addAllExports(List.of(exports))).build();
    }

    private static Export export(String namespace, String name, String ip) {
        return Export.newBuilder().setNamespace(namespace).setName(name).setType(ServiceType.CLUSTER_SET_IP)
                .addPorts(Port.newBuilder().setPort(80).setProtocol(Protocol.TCP)).addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp(ip)).build();
    }

    private String rejection(CompletableFuture<List<PeerMessage>> call) throws Exception {
        try {
            List<PeerMessage> received = call.get(15, TimeUnit.SECONDS);
            throw new AssertionError("the gateway kept the link open; received " + received.size() + " messages");
        } catch (ExecutionException e) {
            return String.valueOf(e.getCause().getMessage());
        }
    }

    private long rejected(String reason) {
        String metrics = gateway.metricsText();
        return metrics.lines().filter(l -> l.startsWith("isthmus_peering_links_rejected_total{reason=\"" + reason + "\"}"))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void aPeerSpeakingAnotherProtocolVersionIsToldWhyAndCutOff() throws Exception {
        String why = rejection(link("west", hello("west", 99)));
        assertTrue(why.contains("FAILED_PRECONDITION") && why.contains("version 99"), why);
        assertTrue(rejected("unsupported-version") >= 1);
    }

    @Test
    void aNewerPeerWhoseRangeStillHoldsOurVersionPeersAtOurVersion() throws Exception {
        PeerMessage newer = PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId("newer")
                .setMinProtocolVersion(1).setProtocolVersion(3)).build();
        link("newer", newer, snapshot("newer", 1, export("shop", "cart", "10.0.0.9")));
        io.isthmus.testing.Await.until("newer's export imported", Duration.ofSeconds(15),
                () -> gateway.mesh().imports().containsKey(ClusterId.of("newer")));
        assertTrue(gateway.mesh().links().values().stream().anyMatch(l -> ClusterId.of("newer").equals(l.remote())
                && l.detail().contains("protocol version 1")), gateway.mesh().links().toString());
    }

    @Test
    void aPeerWhoseRangeIsAboveOursIsToldBothRanges() throws Exception {
        PeerMessage ahead = PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId("ahead")
                .setMinProtocolVersion(2).setProtocolVersion(3)).build();
        String why = rejection(link("ahead", ahead));
        assertTrue(why.contains("versions 2 to 3") && why.contains("this gateway speaks version 1"), why);
    }

    @Test
    void exportsBeforeHelloAreRejected() throws Exception {
        String why = rejection(link("nohello", snapshot("nohello", 1, export("shop", "x", "10.0.0.1"))));
        assertTrue(why.contains("before hello"), why);
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("nohello")));
    }

    @Test
    void aPeerClaimingOurOwnClusterIdIsRejected() throws Exception {
        String why = rejection(link("east", hello("east", 1)));
        assertTrue(why.contains("own cluster"), why);
    }

    @Test
    void anInvalidExportIsRejectedWholeAndNothingOfTheSnapshotIsApplied() throws Exception {
        String why = rejection(link("mallory", hello("mallory", 1),
                snapshot("mallory", 5, export("shop", "good", "10.0.0.1"), export("shop", "bad", "not-an-ip"))));
        assertTrue(why.contains("export shop/bad ip") && why.contains("not-an-ip"), why);
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("mallory")), gateway.mesh().imports().toString());
    }

    @Test
    void aPeerMaySendOnlyItsOwnExports() throws Exception {
        String why = rejection(link("forger", hello("forger", 1), snapshot("edge", 1, export("shop", "x", "10.0.0.1"))));
        assertTrue(why.contains("may only send its own"), why);
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("edge")));
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("forger")));
    }

    @Test
    void garbageBytesOnThePeeringPortDoNotHurtTheGateway() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            try (Socket socket = new Socket("127.0.0.1", gateway.peeringAddress().getPort())) {
                socket.setSoTimeout(2000);
                byte[] junk = new byte[1 + random.nextInt(4096)];
                random.nextBytes(junk);
                OutputStream out = socket.getOutputStream();
                out.write(i % 2 == 0 ? junk : ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + new String(junk)).getBytes());
                out.flush();
            } catch (java.io.IOException closedByGateway) {
                // the gateway may close first: that is fine
            }
        }
        assertTrue(gateway.notReadyReasons().isEmpty(), gateway.notReadyReasons().toString());
        // And a well-behaved peer still gets through afterwards.
        CompletableFuture<List<PeerMessage>> good = link("west", hello("west", 1), snapshot("west", 7, export("shop", "cart", "10.97.0.1")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (gateway.mesh().directory().find(new ServiceKey("shop", "cart")).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals("10.97.0.1", gateway.mesh().directory().find(new ServiceKey("shop", "cart")).orElseThrow()
                .addresses().getFirst().getHostAddress());
        good.cancel(true);
    }

    @Test
    void aPeerPresentingAnotherClustersCertificateIsRejected() throws Exception {
        String why = rejection(link(clientTls(ca, "west"), hello("edge", 1)));
        assertTrue(why.contains("certificate is for cluster 'west'"), why);
        assertTrue(rejected("certificate-mismatch") >= 1);
    }

    @Test
    void aCertificateFromAnotherCaFailsTheHandshake() throws Exception {
        ClustersetCa other = ClustersetCa.init(dir.resolve("other-ca"));
        CompletableFuture<List<PeerMessage>> call = link(clientTls(other, "west"), hello("west", 1));
        String why = rejection(call);
        assertTrue(why.contains("UNAVAILABLE") || why.toLowerCase().contains("handshake") || why.contains("closed"), why);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (tlsRejected("untrusted-issuer") == 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(tlsRejected("untrusted-issuer") >= 1, gateway.metricsText());
    }

    @Test
    void revokingAClusterCutsItsOpenLinkAndRefusesItsNextHandshake() throws Exception {
        javax.net.ssl.SSLContext victimTls = clientTls(ca, "victim");
        CompletableFuture<List<PeerMessage>> open = link(victimTls, hello("victim", 1),
                snapshot("victim", 3, export("shop", "victim-svc", "10.99.0.1")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (gateway.mesh().directory().find(new ServiceKey("shop", "victim-svc")).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(gateway.mesh().directory().find(new ServiceKey("shop", "victim-svc")).isPresent());

        long revokedAt = System.nanoTime();
        gateway.tls().acceptCrl(ca.revoke(ClusterId.of("victim")).pem().getBytes());
        String why = rejection(open);
        double seconds = (System.nanoTime() - revokedAt) / 1e9;
        assertTrue(why.contains("revoked"), why);
        assertTrue(seconds < 5, "cut after " + seconds + " s");

        rejection(link(victimTls, hello("victim", 1)));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (tlsRejected("revoked") == 0 && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertTrue(tlsRejected("revoked") >= 1, "the revoked certificate's next handshake is refused");
        // A stale CRL (older number) is refused.
        org.junit.jupiter.api.Assertions.assertThrows(io.isthmus.gateway.pki.PkiException.class,
                () -> gateway.tls().acceptCrl(ca.currentCrl().pem().getBytes()));
    }

    @Test
    void anOversizedMessageIsRefusedBeforeItIsBufferedAndChangesNothing() throws Exception {
        String huge = "x".repeat((int) io.isthmus.gateway.peering.PeeringLimits.DEFAULT_MAX_MESSAGE_BYTES + 1024);
        Export bloated = Export.newBuilder(export("shop", "bloated", "10.0.0.1"))
                .setEndpoints(0, io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp("10.0.0.1").setHostname(huge))
                .build();
        // The peer is still sending when we cut it off, so it sees its stream reset rather than our status;
        // the reason is in our log and metrics.
        rejection(link("hoarder", hello("hoarder", 1), snapshot("hoarder", 1, bloated)));
        assertTrue(rejected("oversized") >= 1, gateway.metricsText());
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("hoarder")));
    }

    @Test
    void aLongStreamOfOrdinaryMessagesIsNotCutByTheMessageLimit() throws Exception {
        // 100 snapshots of about 100 KiB each: more than 9 MiB on one stream, above pekko-http's default 8 MiB
        // request body limit, which must not apply to a long-lived peering stream.
        int snapshots = 100;
        PeerMessage[] messages = new PeerMessage[snapshots + 1];
        messages[0] = hello("chatty", 1);
        long bytes = 0;
        for (int version = 1; version <= snapshots; version++) {
            Export[] exports = new Export[300];
            for (int i = 0; i < exports.length; i++) {
                Export.Builder builder = Export.newBuilder(export("shop", "svc-" + i, "10.98.1." + (1 + i % 250)))
                        .setType(ServiceType.HEADLESS);
                for (int e = 0; e < 4; e++) {
                    builder.addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder()
                            .setIp("10.98.2." + (1 + e)).setHostname("replica-" + e + "-" + "a".repeat(50)));
                }
                exports[i] = builder.build();
            }
            exports[0] = export("shop", "svc-0", "10.98.9." + version);
            messages[version] = snapshot("chatty", version, exports);
            bytes += messages[version].getSerializedSize();
        }
        assertTrue(bytes > 9L << 20, "the stream carries " + bytes + " bytes");
        String last = "10.98.9." + snapshots;
        CompletableFuture<List<PeerMessage>> call = link("chatty", messages);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!gateway.mesh().directory().find(new ServiceKey("shop", "svc-0"))
                .map(s -> s.addresses().toString()).orElse("").contains(last) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(call.isDone(), "the link ended: " + (call.isDone() ? call.handle((ok, e) -> String.valueOf(e)).join() : ""));
        assertTrue(gateway.mesh().directory().find(new ServiceKey("shop", "svc-0")).orElseThrow()
                .addresses().toString().contains(last), "the last of 300 snapshots was applied");
        assertFalse(call.isDone(), "the link is still open: " + (call.isDone() ? call.handle((ok, e) -> String.valueOf(e)).join() : ""));
        call.cancel(true);
    }

    private long tlsRejected(String rule) {
        return gateway.metricsText().lines()
                .filter(l -> l.startsWith("isthmus_peering_tls_rejected_total{rule=\"" + rule + "\"}"))
                .mapToLong(l -> Long.parseLong(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
