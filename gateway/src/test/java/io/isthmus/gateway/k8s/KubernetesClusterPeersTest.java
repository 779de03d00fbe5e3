package io.isthmus.gateway.k8s;

import com.typesafe.config.ConfigFactory;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.k8s.crd.ClusterPeer;
import io.isthmus.k8s.crd.ClusterPeerReconciler;
import io.isthmus.k8s.crd.ClusterPeerSpec;
import io.isthmus.k8s.crd.IsthmusResources;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two real gateways peered over mutual TLS, west with no configured peer and {@code kubernetes.peers = on} against
 * its API server (fabric8's kubernetes-server-mock in CRUD mode): a ClusterPeer naming east's peering address makes
 * the link (west imports east's export, the ClusterPeer says Linked=True); deleting it closes the link for good; a
 * bad address, this very cluster, or a CA bundle that is not the clusterset CA are refused in Valid, naming the field.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubernetesClusterPeersTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final CustomResourceDefinitionContext CLUSTER_PEERS = new CustomResourceDefinitionContext.Builder()
            .withGroup(IsthmusResources.GROUP).withVersion(IsthmusResources.VERSION).withKind("ClusterPeer")
            .withPlural("clusterpeers").withScope("Cluster").withStatusSubresource(true).build();

    private KubernetesApiMock westApi;
    private Gateway east;
    private Gateway west;
    private String eastAddress;
    private Path otherCa;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        westApi = KubernetesApiMock.start(List.of(CLUSTER_PEERS));
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        otherCa = dir.resolve("other-ca");
        ClustersetCa.init(otherCa);
        east = gateway(dir, ca, "east", "");
        west = gateway(dir, ca, "west", "kubernetes { peers = on, master-url = \"" + westApi.url() + "\" }");
        eastAddress = "127.0.0.1:" + east.peeringAddress().getPort();
        ServiceExport export = ServiceExport.of(new ServiceKey("shop", "web"), ServiceType.CLUSTER_SET_IP,
                List.of(new ServicePort("http", 80, Protocol.TCP)), List.of(InetAddress.ofLiteral("10.96.0.10")),
                Instant.now());
        east.exports().<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(export, replyTo),
                Duration.ofSeconds(10)).toCompletableFuture().get(15, TimeUnit.SECONDS);
        // The clusterset CA as an operator would publish it, in a Secret of west's API server.
        westApi.client().resource(new SecretBuilder().withNewMetadata().withNamespace("isthmus")
                .withName("clusterset-ca").endMetadata()
                .withData(Map.of("ca.crt", Base64.getEncoder().encodeToString(Files.readAllBytes(
                        dir.resolve("ca").resolve(ClustersetCa.CA_CERTIFICATE))))).build()).create();
        westApi.client().resource(new ConfigMapBuilder().withNewMetadata().withNamespace("isthmus")
                .withName("another-ca").endMetadata()
                .withData(Map.of("ca.crt", Files.readString(otherCa.resolve(ClustersetCa.CA_CERTIFICATE),
                        StandardCharsets.US_ASCII))).build()).create();
    }

    private static Gateway gateway(Path dir, ClustersetCa ca, String cluster, String more) {
        Path data = dir.resolve(cluster);
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(data.resolve("tls"));
        return Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = 0
                  peering { port = 0, peers = [], reconnect-max-backoff = 1s }
                  dns.port = 0
                  replicas.port = 0
                  %s
                }
                """.formatted(cluster, data.toString().replace("\\", "/"), more)), dir));
    }

    @AfterAll
    void stop() {
        for (AutoCloseable part : new AutoCloseable[]{west, east, westApi}) {
            try {
                if (part != null) {
                    part.close();
                }
            } catch (Exception ignored) {
                // stopping anyway
            }
        }
    }

    private void createClusterPeer(String name, List<String> addresses, ClusterPeerSpec.CaBundleRef ca) {
        ClusterPeer peer = new ClusterPeer();
        peer.setMetadata(new ObjectMetaBuilder().withName(name).build());
        peer.setSpec(new ClusterPeerSpec(name, addresses, ca));
        westApi.client().resource(peer).create();
    }

    private static ClusterPeerSpec.CaBundleRef secretCa() {
        return new ClusterPeerSpec.CaBundleRef(new ClusterPeerSpec.KeyRef("isthmus", "clusterset-ca", null), null);
    }

    private Condition condition(String name, String type) {
        ClusterPeer peer = westApi.client().resources(ClusterPeer.class).withName(name).get();
        return peer == null || peer.getStatus() == null || peer.getStatus().conditions() == null ? null
                : peer.getStatus().conditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElse(null);
    }

    private Condition awaitCondition(String name, String type, String status, String reason) throws InterruptedException {
        return await(name + " " + type + "=" + status + " " + reason, () -> {
            Condition c = condition(name, type);
            return c != null && c.getStatus().equals(status) && c.getReason().equals(reason) ? c : null;
        });
    }

    private Optional<MeshView.Link> westLinkTo(String address) {
        return west.mesh().links().values().stream()
                .filter(l -> l.direction() == MeshView.Direction.OUTBOUND && l.address().equals(address)).findFirst();
    }

    private static <T> T await(String what, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = probe.get();
            } catch (RuntimeException e) {
                last = null;
            }
            if (last != null && !Boolean.FALSE.equals(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what + " (last: " + last + ")");
    }

    @Test
    @Order(1)
    void aClusterPeerMakesTheLinkAndSaysLinked() throws Exception {
        Thread.sleep(2000);
        assertTrue(west.mesh().links().isEmpty(), "west dials nobody before a ClusterPeer: " + west.mesh().links());

        createClusterPeer("east", List.of(eastAddress), secretCa());

        await("west imports east's export", () -> Optional.ofNullable(west.mesh().imports().get(ClusterId.of("east")))
                .filter(r -> r.exports().size() == 1).orElse(null));
        Condition linked = awaitCondition("east", ClusterPeerReconciler.LINKED, "True", "Up");
        assertTrue(linked.getMessage().contains(eastAddress), linked.getMessage());
        Condition valid = awaitCondition("east", ClusterPeerReconciler.VALID, "True", "Valid");
        assertTrue(valid.getMessage().contains("clusterset CA"), valid.getMessage());
        assertEquals("Up", westApi.client().resources(ClusterPeer.class).withName("east").get().getStatus().linkState());
    }

    @Test
    @Order(2)
    void deletingTheClusterPeerClosesTheLinkForGood() throws Exception {
        westApi.client().resources(ClusterPeer.class).withName("east").delete();

        await("west's link to east down", () -> westLinkTo(eastAddress).filter(l -> l.state() == LinkState.DOWN).orElse(null));
        await("east's inbound link from west gone", () -> east.mesh().links().values().stream()
                .noneMatch(l -> ClusterId.of("west").equals(l.remote())));
        // reconnect-max-backoff is 1 s: a link still running would be up again within this.
        Thread.sleep(3000);
        assertEquals(LinkState.DOWN, westLinkTo(eastAddress).orElseThrow().state());
        assertTrue(east.mesh().links().values().stream().noneMatch(l -> ClusterId.of("west").equals(l.remote())),
                "east still has a link from west: " + east.mesh().links());
    }

    @Test
    @Order(3)
    void aBadAddressOrThisVeryClusterIsRefusedNamingTheFieldAndNotDialled() throws Exception {
        createClusterPeer("north", List.of("north.example:7071", "no port here"), secretCa());
        createClusterPeer("west", List.of("127.0.0.1:7071"), secretCa());

        Condition bad = awaitCondition("north", ClusterPeerReconciler.VALID, "False", "InvalidAddress");
        assertTrue(bad.getMessage().contains("spec.addresses[1] 'no port here'"), bad.getMessage());
        awaitCondition("north", ClusterPeerReconciler.LINKED, "False", "NotDialled");
        Condition self = awaitCondition("west", ClusterPeerReconciler.VALID, "False", "SelfPeer");
        assertTrue(self.getMessage().contains("spec.clusterId 'west'"), self.getMessage());
        assertFalse(westLinkTo("north.example:7071").isPresent(), "a refused ClusterPeer was dialled");
        assertFalse(westLinkTo("127.0.0.1:7071").isPresent(), "west dialled itself");
    }

    @Test
    @Order(4)
    void aCaBundleThatIsNotTheClustersetCaSaysTheLinksWillFailTheTlsCheck() throws Exception {
        createClusterPeer("east", List.of(eastAddress), new ClusterPeerSpec.CaBundleRef(null,
                new ClusterPeerSpec.KeyRef("isthmus", "another-ca", null)));

        Condition mismatch = awaitCondition("east", ClusterPeerReconciler.VALID, "False", "CaMismatch");
        assertTrue(mismatch.getMessage().contains("ConfigMap isthmus/another-ca")
                && mismatch.getMessage().contains("TLS check"), mismatch.getMessage());
        // Peering trusts the clusterset CA, not the bundle: the link is dialled anyway, and comes up with east.
        awaitCondition("east", ClusterPeerReconciler.LINKED, "True", "Up");

        westApi.client().resources(ClusterPeer.class).withName("east").edit(p -> {
            p.setSpec(new ClusterPeerSpec("east", p.getSpec().addresses(), new ClusterPeerSpec.CaBundleRef(null,
                    new ClusterPeerSpec.KeyRef("isthmus", "missing", null))));
            return p;
        });
        Condition missing = awaitCondition("east", ClusterPeerReconciler.VALID, "False", "CaBundleNotFound");
        assertTrue(missing.getMessage().contains("spec.caBundle.configMapRef: ConfigMap isthmus/missing does not exist"),
                missing.getMessage());
    }
}
