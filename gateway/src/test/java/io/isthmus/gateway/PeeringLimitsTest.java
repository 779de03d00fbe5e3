package io.isthmus.gateway;

import com.typesafe.config.ConfigFactory;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Compressor;
import io.grpc.CompressorRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.JdkSslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.grpc.peering.Export;
import io.isthmus.api.grpc.peering.ExportDelta;
import io.isthmus.api.grpc.peering.ExportSnapshot;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.api.grpc.peering.Port;
import io.isthmus.api.grpc.peering.Protocol;
import io.isthmus.api.grpc.peering.ServiceType;
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

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile member clusters with valid certificates from the clusterset CA, against one real gateway over real mutual
 * TLS: a decompression bomb (a hand-built gzip gRPC frame), a flood of 100,000 exports, exports into kube-system.
 * Each is refused and counted, and the gateway keeps serving another peer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeeringLimitsTest {
    /** Inflated size of the bomb: far past the 16 MiB limit (and past the test JVM's heap, were it inflated whole). */
    private static final long BOMB_BYTES = 1L << 30;

    private Gateway gateway;
    private ActorSystem<Void> peerSystem;
    private ClustersetCa ca;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path dir) {
        this.dir = dir;
        ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        gateway = TestGateways.start("east", dir, dir, "");
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
    }

    @AfterAll
    void stop() {
        peerSystem.terminate();
        gateway.close();
    }

    // ---- decompression bomb ------------------------------------------------------------------------------------

    @Test
    void aGzipBombIsRefusedBeforeItInflatesAndTheGatewayServesTheNextPeer() throws Exception {
        byte[] bomb = gzipOfZeros(BOMB_BYTES);
        assertTrue(bomb.length < 2 << 20, "the bomb's frame is small: " + bomb.length + " bytes");
        long before = rejected("decompressed-oversized");

        RawLink link = RawLink.open(this, "bomber");
        link.send(gzip(hello("bomber").toByteArray()));
        link.send(bomb);
        Status status = link.closed.get(20, TimeUnit.SECONDS);
        link.channel.shutdownNow();

        assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
        assertTrue(String.valueOf(status.getDescription()).contains("inflates to more than 16777216 bytes"), status.toString());
        assertEquals(before + 1, rejected("decompressed-oversized"), gateway.metricsText());
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("bomber")));
        assertTrue(gateway.notReadyReasons().isEmpty(), gateway.notReadyReasons().toString());
        // Another member is served as before.
        CompletableFuture<List<PeerMessage>> west = link("bystander", hello("bystander"), snapshot("bystander", 1, export("shop", "after-bomb", "10.97.0.1")));
        awaitTrue(() -> gateway.mesh().directory().find(new ServiceKey("shop", "after-bomb")).isPresent(),
                "west's export after the bomb is served");
        west.cancel(true);
    }

    @Test
    void anHonestlyCompressedMessageUnderTheLimitIsTaken() throws Exception {
        RawLink link = RawLink.open(this, "zipper");
        link.send(gzip(hello("zipper").toByteArray()));
        link.send(gzip(snapshot("zipper", 1, export("shop", "zipped", "10.97.1.1")).toByteArray()));
        awaitTrue(() -> gateway.mesh().directory().find(new ServiceKey("shop", "zipped")).isPresent(),
                "a gzip-compressed snapshot is inflated and applied");
        assertFalse(link.closed.isDone(), "the link is still open: " + (link.closed.isDone() ? link.closed.get() : ""));
        link.channel.shutdownNow();
    }

    @Test
    void aCompressedMessageThatIsNotGzipClosesTheLink() throws Exception {
        RawLink link = RawLink.open(this, "garbler");
        link.send(gzip(hello("garbler").toByteArray()));
        link.send(new byte[]{1, 2, 3, 4, 5, 6, 7, 8});
        Status status = link.closed.get(20, TimeUnit.SECONDS);
        link.channel.shutdownNow();
        assertEquals(Status.Code.FAILED_PRECONDITION, status.getCode(), status.toString());
        assertTrue(String.valueOf(status.getDescription()).contains("not valid gzip"), status.toString());
        assertTrue(rejected("bad-compression") >= 1);
    }

    // ---- export quota ------------------------------------------------------------------------------------------

    @Test
    void aPeerSending100kExportsIsHeldToTheQuotaAndKeepsWhatItHadBefore() throws Exception {
        long refusedBefore = importsRefused("flood", "exports-per-peer");
        List<Export> few = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            few.add(export("flood", "svc-" + i, "10.96.0." + (i + 1)));
        }
        List<Export> many = new ArrayList<>(100_000);
        for (int i = 0; i < 100_000; i++) {
            many.add(export("flood", "svc-" + i, "10.96." + (i / 250 % 250) + "." + (i % 250 + 1)));
        }
        PeerMessage flood = snapshot("flood", 2, many.toArray(Export[]::new));
        assertTrue(flood.getSerializedSize() < 16 << 20, "the flood fits one message: " + flood.getSerializedSize());
        PeerMessage floodDelta = PeerMessage.newBuilder().setExportDelta(ExportDelta.newBuilder()
                .setOriginCluster("flood").setFromVersion(1).setToVersion(3).addAllUpserted(many)).build();

        CompletableFuture<List<PeerMessage>> call = link("flood", hello("flood"),
                snapshot("flood", 1, few.toArray(Export[]::new)), flood, floodDelta);
        awaitTrue(() -> importsRefused("flood", "exports-per-peer") >= refusedBefore + 2,
                "the snapshot and the delta of 100,000 exports are both refused: " + gateway.metricsText());

        var imported = gateway.mesh().imports().get(ClusterId.of("flood"));
        assertEquals(1, imported.version(), "nothing of the refused messages was applied");
        assertEquals(10, imported.exportSet().size());
        assertTrue(gateway.mesh().directory().find(new ServiceKey("flood", "svc-9")).isPresent());
        assertTrue(gateway.mesh().directory().find(new ServiceKey("flood", "svc-10")).isEmpty());
        assertFalse(call.isDone(), "the link stays up (plan and tunnel messages still ride it)");

        // The condition, as the status API and `isthmus status` show it.
        var status = new com.fasterxml.jackson.databind.ObjectMapper().readTree(admin("api/v1/status"));
        var condition = clusterCondition(status, "flood", "QuotaExceeded");
        assertEquals("True", condition.path("status").asText(), condition.toString());
        assertEquals("exports-per-peer", condition.path("reason").asText());
        assertEquals(50_000, condition.path("limit").asLong());
        assertEquals(100_000, condition.path("requested").asLong());
        assertTrue(condition.path("message").asText().contains("isthmus.peering.limits.max-exports-per-peer"));
        String text = io.isthmus.gateway.cli.StatusCommandAccess.render(status);
        assertTrue(text.contains("flood: QuotaExceeded: exports of flood at version 3 refused: 100000 exports, over "
                + "the limit of 50000"), text);

        // The others are served meanwhile.
        CompletableFuture<List<PeerMessage>> west = link("neighbour", hello("neighbour"), snapshot("neighbour", 1, export("shop", "beside-flood", "10.97.0.2")));
        awaitTrue(() -> gateway.mesh().directory().find(new ServiceKey("shop", "beside-flood")).isPresent(),
                "west is served beside the flood");
        assertTrue(gateway.notReadyReasons().isEmpty(), gateway.notReadyReasons().toString());
        call.cancel(true);
        west.cancel(true);
    }

    @Test
    void anExportWithTooManyEndpointsIsRefusedWithTheMessageThatCarriesIt() throws Exception {
        Export.Builder wide = Export.newBuilder(export("shop", "wide", "10.95.0.1")).setType(ServiceType.HEADLESS)
                .clearEndpoints();
        for (int i = 0; i < 5_001; i++) {
            wide.addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder()
                    .setIp("10.95." + (i / 250) + "." + (i % 250 + 1)));
        }
        CompletableFuture<List<PeerMessage>> call = link("wide", hello("wide"),
                snapshot("wide", 1, wide.build(), export("shop", "narrow", "10.95.100.1")));
        awaitTrue(() -> importsRefused("wide", "endpoints-per-export") >= 1, "refused: " + gateway.metricsText());
        assertFalse(gateway.mesh().imports().containsKey(ClusterId.of("wide")), "nothing of the snapshot applied");
        assertTrue(gateway.mesh().refusals().get(ClusterId.of("wide")).message()
                .contains("export shop/wide with 5001 endpoints"), gateway.mesh().refusals().toString());
        call.cancel(true);
    }

    // ---- import namespaces -------------------------------------------------------------------------------------

    @Test
    void exportsIntoKubeSystemAreNotImportedAndTheConditionNamesTheNamespace() throws Exception {
        long before = importsRefused("sneaky", "namespace");
        CompletableFuture<List<PeerMessage>> call = link("sneaky", hello("sneaky"), snapshot("sneaky", 1,
                export("kube-system", "kube-dns", "10.94.0.10"), export("isthmus-system", "gateway", "10.94.0.11"),
                export("shop", "ordinary", "10.94.0.12")));
        awaitTrue(() -> gateway.mesh().directory().find(new ServiceKey("shop", "ordinary")).isPresent(),
                "the export into an ordinary namespace is served");
        assertTrue(gateway.mesh().directory().find(new ServiceKey("kube-system", "kube-dns")).isEmpty());
        assertTrue(gateway.mesh().directory().find(new ServiceKey("isthmus-system", "gateway")).isEmpty());
        assertEquals(before + 2, importsRefused("sneaky", "namespace"));

        var status = new com.fasterxml.jackson.databind.ObjectMapper().readTree(admin("api/v1/status"));
        var condition = clusterCondition(status, "sneaky", "NamespaceDenied");
        assertEquals("True", condition.path("status").asText(), condition.toString());
        assertTrue(condition.path("message").asText().contains("namespace kube-system is in "
                + "isthmus.peering.import-namespaces.denied"), condition.toString());
        assertEquals("[\"isthmus-system\",\"kube-system\"]", condition.path("namespaces").toString());
        call.cancel(true);
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    @Test
    void aPeerAskingForFullSnapshotsInALoopGetsOneAtMostEverySecond() throws Exception {
        long deferredBefore = sample("isthmus_peering_resyncs_deferred_total");
        List<PeerMessage> requests = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            requests.add(PeerMessage.newBuilder().setResyncRequest(
                    io.isthmus.api.grpc.peering.ResyncRequest.newBuilder().setHaveVersion(0)).build());
        }
        // The 40 requests go once the stream's first snapshot has arrived: a request before the gateway's sending
        // side is up is answered by that first snapshot anyway.
        CompletableFuture<Boolean> firstSnapshot = new CompletableFuture<>();
        PeeringClient client = PeeringClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1",
                gateway.peeringAddress().getPort(), peerSystem).withSslContext(clientTls("resyncer")), peerSystem);
        List<Long> snapshotsAt = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<PeerMessage> received;
        try {
            received = client.link(Source.from(List.of(hello("resyncer"), snapshot("resyncer", 1)))
                            .concat(Source.completionStage(firstSnapshot).flatMapConcat(ready -> Source.from(requests)))
                            .concat(Source.maybe())
                            .mapMaterializedValue(m -> org.apache.pekko.NotUsed.getInstance()))
                    .map(m -> {
                        if (m.getKindCase() == PeerMessage.KindCase.EXPORT_SNAPSHOT) {
                            snapshotsAt.add(System.nanoTime());
                            firstSnapshot.complete(true);
                        }
                        return m;
                    })
                    .takeWithin(Duration.ofMillis(4500))
                    .runWith(Sink.seq(), peerSystem).toCompletableFuture().get(30, TimeUnit.SECONDS);
        } finally {
            client.close();
        }

        // 41 asked (the stream's start and 40 requests at once): the first snapshot at once, one more once a
        // second is over, not one per request; never two within a second.
        String kinds = received.stream().map(m -> m.getKindCase().name()).toList().toString();
        assertTrue(snapshotsAt.size() >= 2 && snapshotsAt.size() <= 3, snapshotsAt.size() + " snapshots: " + kinds);
        for (int i = 1; i < snapshotsAt.size(); i++) {
            long gapMillis = (snapshotsAt.get(i) - snapshotsAt.get(i - 1)) / 1_000_000;
            assertTrue(gapMillis >= 900, "two snapshots " + gapMillis + " ms apart: " + kinds);
        }
        assertTrue(sample("isthmus_peering_resyncs_deferred_total") - deferredBefore >= 1);
    }

    private static com.fasterxml.jackson.databind.JsonNode clusterCondition(com.fasterxml.jackson.databind.JsonNode status,
                                                                          String cluster, String type) {
        for (var from : status.path("imports").path("clusters")) {
            if (from.path("cluster").asText().equals(cluster)) {
                for (var condition : from.path("conditions")) {
                    if (condition.path("type").asText().equals(type)) {
                        return condition;
                    }
                }
            }
        }
        throw new AssertionError("no " + type + " condition for " + cluster + " in " + status.path("imports"));
    }

    private String admin(String path) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + gateway.adminAddress().getPort() + "/" + path)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode(), response.body());
            return response.body();
        }
    }

    private javax.net.ssl.SSLContext clientTls(String cluster) {
        Path tls = dir.resolve("peers").resolve(cluster);
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(tls);
        return MeshTrust.of(ca.certificate(), ca.currentCrl().crl())
                .clientContext(KeyMaterial.load(KeyFiles.in(tls, ClusterId.of(cluster))));
    }

    /** An ordinary link through Pekko gRPC's client, as a gateway makes it; kept open until cancelled. */
    private CompletableFuture<List<PeerMessage>> link(String cluster, PeerMessage... messages) {
        PeeringClient client = PeeringClient.create(GrpcClientSettings.connectToServiceAt(
                "127.0.0.1", gateway.peeringAddress().getPort(), peerSystem).withSslContext(clientTls(cluster)), peerSystem);
        return client.link(Source.from(List.of(messages)).concat(Source.maybe())
                        .mapMaterializedValue(m -> org.apache.pekko.NotUsed.getInstance()))
                .takeWithin(Duration.ofSeconds(60))
                .runWith(Sink.seq(), peerSystem)
                .toCompletableFuture()
                .whenComplete((ok, failure) -> client.close());
    }

    /**
     * A link made with grpc-java directly, whose messages are sent exactly as given, in frames flagged compressed
     * under {@code grpc-encoding: gzip}: the "compressor" passes the bytes through, so the test builds each frame's
     * payload itself.
     */
    private record RawLink(ManagedChannel channel, ClientCall<byte[], PeerMessage> call,
                           CompletableFuture<Status> closed, List<PeerMessage> received) {
        private static final MethodDescriptor<byte[], PeerMessage> LINK = MethodDescriptor.<byte[], PeerMessage>newBuilder()
                .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
                .setFullMethodName("isthmus.peering.v1.Peering/Link")
                .setRequestMarshaller(new MethodDescriptor.Marshaller<>() {
                    @Override
                    public InputStream stream(byte[] value) {
                        return new ByteArrayInputStream(value);
                    }

                    @Override
                    public byte[] parse(InputStream stream) {
                        // Only a server parses requests; this link is the client side, so nothing ever calls it.
                        throw new UnsupportedOperationException("the raw link only sends requests");
                    }
                })
                .setResponseMarshaller(new MethodDescriptor.Marshaller<>() {
                    @Override
                    public InputStream stream(PeerMessage value) {
                        return value.toByteString().newInput();
                    }

                    @Override
                    public PeerMessage parse(InputStream stream) {
                        try {
                            return PeerMessage.parseFrom(stream);
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                })
                .build();

        static RawLink open(PeeringLimitsTest test, String cluster) throws Exception {
            JdkSslContext netty = (JdkSslContext) GrpcSslContexts.configure(GrpcSslContexts.forClient(), SslProvider.JDK).build();
            Field context = JdkSslContext.class.getDeclaredField("sslContext"); // the one Pekko gRPC sets, too
            context.setAccessible(true);
            context.set(netty, test.clientTls(cluster));
            CompressorRegistry compressors = CompressorRegistry.newEmptyInstance();
            compressors.register(new Compressor() {
                @Override
                public String getMessageEncoding() {
                    return "gzip";
                }

                @Override
                public OutputStream compress(OutputStream os) {
                    return os; // the payloads are gzip already, built by the test
                }
            });
            ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", test.gateway.peeringAddress().getPort())
                    .sslContext(netty).compressorRegistry(compressors).build();
            ClientCall<byte[], PeerMessage> call = channel.newCall(LINK, CallOptions.DEFAULT.withCompression("gzip"));
            CompletableFuture<Status> closed = new CompletableFuture<>();
            List<PeerMessage> received = new CopyOnWriteArrayList<>();
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(PeerMessage message) {
                    received.add(message);
                    call.request(1);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.complete(status);
                }
            }, new Metadata());
            call.request(1);
            return new RawLink(channel, call, closed, received);
        }

        void send(byte[] payload) {
            call.sendMessage(payload);
        }
    }

    private static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }

    private static byte[] gzipOfZeros(long size) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] zeros = new byte[1 << 20];
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16)) {
            for (long written = 0; written < size; written += zeros.length) {
                gz.write(zeros);
            }
        }
        return out.toByteArray();
    }

    private static PeerMessage hello(String cluster) {
        return PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId(cluster).setProtocolVersion(1)).build();
    }

    private static PeerMessage snapshot(String origin, long version, Export... exports) {
        return PeerMessage.newBuilder().setExportSnapshot(ExportSnapshot.newBuilder()
                .setOriginCluster(origin).setVersion(version).addAllExports(List.of(exports))).build();
    }

    private static Export export(String namespace, String name, String ip) {
        return Export.newBuilder().setNamespace(namespace).setName(name).setType(ServiceType.CLUSTER_SET_IP)
                .addPorts(Port.newBuilder().setPort(80).setProtocol(Protocol.TCP))
                .addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp(ip)).build();
    }

    private long rejected(String reason) {
        return sample("isthmus_peering_links_rejected_total{reason=\"" + reason + "\"}");
    }

    private long importsRefused(String peer, String reason) {
        return sample("isthmus_peering_imports_refused_total{peer=\"" + peer + "\",reason=\"" + reason + "\"}");
    }

    private long sample(String series) {
        return gateway.metricsText().lines().filter(l -> l.startsWith(series + " "))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(50);
        }
    }
}
