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
import io.isthmus.gateway.config.GatewayConfigLoader;
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

    @BeforeAll
    void start(@TempDir Path dir) {
        GatewayConfig config = GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = east
                  data-dir = "%s"
                  admin.port = 0
                  peering.port = 0
                  dns.port = 0
                  replicas.port = 0
                }
                """.formatted(dir.toString().replace("\\", "/"))), dir);
        gateway = Gateway.start(config);
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
    }

    @AfterAll
    void stop() {
        peerSystem.terminate();
        gateway.close();
    }

    /** Opens a link, sends {@code messages} and keeps our side open; returns how the gateway ended the call. */
    private CompletableFuture<List<PeerMessage>> link(PeerMessage... messages) {
        PeeringClient client = PeeringClient.create(GrpcClientSettings.connectToServiceAt(
                "127.0.0.1", gateway.peeringAddress().getPort(), peerSystem).withTls(false), peerSystem);
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
        String why = rejection(link(hello("west", 99)));
        assertTrue(why.contains("FAILED_PRECONDITION") && why.contains("version 99"), why);
        assertTrue(rejected("unsupported-version") >= 1);
    }

    @Test
    void exportsBeforeHelloAreRejected() throws Exception {
        String why = rejection(link(snapshot("nohello", 1, export("shop", "x", "10.0.0.1"))));
        assertTrue(why.contains("before hello"), why);
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("nohello")));
    }

    @Test
    void aPeerClaimingOurOwnClusterIdIsRejected() throws Exception {
        String why = rejection(link(hello("east", 1)));
        assertTrue(why.contains("own cluster"), why);
    }

    @Test
    void anInvalidExportIsRejectedWholeAndNothingOfTheSnapshotIsApplied() throws Exception {
        String why = rejection(link(hello("mallory", 1),
                snapshot("mallory", 5, export("shop", "good", "10.0.0.1"), export("shop", "bad", "not-an-ip"))));
        assertTrue(why.contains("export shop/bad ip") && why.contains("not-an-ip"), why);
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("mallory")), gateway.mesh().imports().toString());
    }

    @Test
    void aPeerMaySendOnlyItsOwnExports() throws Exception {
        String why = rejection(link(hello("forger", 1), snapshot("edge", 1, export("shop", "x", "10.0.0.1"))));
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
        CompletableFuture<List<PeerMessage>> good = link(hello("west", 1), snapshot("west", 7, export("shop", "cart", "10.97.0.1")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (gateway.mesh().directory().find(new ServiceKey("shop", "cart")).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals("10.97.0.1", gateway.mesh().directory().find(new ServiceKey("shop", "cart")).orElseThrow()
                .addresses().getFirst().getHostAddress());
        good.cancel(true);
    }
}
