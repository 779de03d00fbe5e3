package io.isthmus.gateway.k8s;

import com.typesafe.config.ConfigFactory;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.k8s.mcs.Mcs;
import io.isthmus.k8s.mcs.ServiceExportResource;
import io.isthmus.k8s.mcs.ServiceImportResource;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two clusters, each an API server (fabric8's kubernetes-server-mock in CRUD mode: no real API server can run here)
 * and a real gateway with the Kubernetes sync on, peered over mutual TLS. A ServiceExport in east becomes a
 * ServiceImport and EndpointSlices in west and a DNS answer from west's gateway (asked with the real dig); a
 * conflicting export in west sets Conflict on both; deleting withdraws; an API server restart (every watch cut)
 * resyncs without duplicates; an unreachable API server makes the gateway not ready while DNS goes on answering.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubernetesMcsAcrossClustersTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final List<CustomResourceDefinitionContext> MCS_CRDS = List.of(
            new CustomResourceDefinitionContext.Builder().withGroup(Mcs.GROUP).withVersion(Mcs.VERSION)
                    .withKind("ServiceExport").withPlural("serviceexports").withScope("Namespaced")
                    .withStatusSubresource(true).build(),
            new CustomResourceDefinitionContext.Builder().withGroup(Mcs.GROUP).withVersion(Mcs.VERSION)
                    .withKind("ServiceImport").withPlural("serviceimports").withScope("Namespaced")
                    .withStatusSubresource(true).build());

    private KubernetesApiMock eastApi;
    private KubernetesApiMock westApi;
    private Gateway east;
    private Gateway west;

    @BeforeAll
    void start(@TempDir Path dir) {
        eastApi = KubernetesApiMock.start(MCS_CRDS);
        westApi = KubernetesApiMock.start(MCS_CRDS);
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        east = gateway(dir, ca, "east", eastApi, "");
        west = gateway(dir, ca, "west", westApi, "\"127.0.0.1:" + east.peeringAddress().getPort() + "\"");
    }

    private static Gateway gateway(Path dir, ClustersetCa ca, String cluster, KubernetesApiMock api, String peers) {
        Path data = dir.resolve(cluster);
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(data.resolve("tls"));
        return Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = 0
                  admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                  peering { port = 0, peers = [%s], reconnect-max-backoff = 1s }
                  dns.port = 0
                  replicas.port = 0
                  kubernetes { enabled = true, master-url = "%s", resync-interval = 5s }
                }
                """.formatted(cluster, data.toString().replace("\\", "/"), peers, api.url())), dir));
    }

    @AfterAll
    void stop() {
        for (AutoCloseable part : new AutoCloseable[]{west, east, westApi, eastApi}) {
            try {
                if (part != null) {
                    part.close();
                }
            } catch (Exception ignored) {
                // stopping anyway
            }
        }
    }

    // --- what the tests write, as a user and the cluster's controllers would --------------------------------

    private static void createService(KubernetesClient k, String name, String clusterIp, int port, String... readyIps) {
        createService(k, "shop", name, clusterIp, port, readyIps);
    }

    private static void createService(KubernetesClient k, String namespace, String name, String clusterIp, int port,
                                      String... readyIps) {
        k.resource(new ServiceBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec().withType("ClusterIP").withClusterIP(clusterIp)
                .withPorts(new ServicePortBuilder().withName("http").withProtocol("TCP").withPort(port).build())
                .endSpec().build()).create();
        k.resource(new EndpointSliceBuilder()
                .withMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name + "-x7k2p")
                        .withLabels(Map.of(Mcs.KUBERNETES_SERVICE_NAME_LABEL, name)).build())
                .withAddressType("IPv4")
                .withEndpoints(java.util.Arrays.stream(readyIps).map(ip -> new EndpointBuilder().withAddresses(ip)
                        .withNewConditions().withReady(true).endConditions().build()).toList())
                .build()).create();
    }

    private static void createServiceExport(KubernetesClient k, String name) {
        createServiceExport(k, "shop", name);
    }

    private static void createServiceExport(KubernetesClient k, String namespace, String name) {
        ServiceExportResource export = new ServiceExportResource();
        export.setMetadata(new ObjectMetaBuilder().withNamespace(namespace).withName(name).build());
        k.resource(export).create();
    }

    private static void deleteServiceExport(KubernetesClient k, String name) {
        k.resources(ServiceExportResource.class).inNamespace("shop").withName(name).delete();
    }

    private static ServiceImportResource serviceImport(KubernetesApiMock api, String name) {
        return api.client().resources(ServiceImportResource.class).inNamespace("shop").withName(name).get();
    }

    private static List<EndpointSlice> importedSlices(KubernetesApiMock api, String service) {
        return api.client().discovery().v1().endpointSlices().inNamespace("shop")
                .withLabel(Mcs.SERVICE_NAME_LABEL, service).list().getItems();
    }

    private static Condition condition(KubernetesApiMock api, String name, String type) {
        ServiceExportResource se = api.client().resources(ServiceExportResource.class).inNamespace("shop").withName(name).get();
        return se == null || se.getStatus() == null ? null
                : se.getStatus().conditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElse(null);
    }

    private static <T> T await(String what, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = probe.get();
            } catch (RuntimeException e) {
                last = null; // e.g. the API server is restarting
            }
            if (last != null && !Boolean.FALSE.equals(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what + " (last: " + last + ")");
    }

    /** The real dig against a gateway's DNS server: the A records, as {@code +short} prints them. */
    private static List<String> dig(Gateway gateway, String name) {
        try {
            Process dig = new ProcessBuilder("dig", "@127.0.0.1", "-p", Integer.toString(gateway.dns().localAddress().getPort()),
                    "+time=2", "+tries=1", "+short", name, "A").redirectErrorStream(true).start();
            String out = new String(dig.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!dig.waitFor(10, TimeUnit.SECONDS) || dig.exitValue() != 0) {
                throw new AssertionError("dig failed: " + out);
            }
            return out.lines().filter(l -> !l.isBlank()).sorted().toList();
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot run dig (package bind9-dnsutils): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    private static HttpResponse<String> get(Gateway gateway, String path) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    // --- the tests, in order: each builds on what the one before left -------------------------------------

    @Test
    @Order(1)
    void aServiceExportInEastBecomesAServiceImportSlicesAndDnsInWest() throws Exception {
        createService(eastApi.client(), "web", "10.96.0.10", 80, "10.244.1.5", "10.244.1.6");
        createServiceExport(eastApi.client(), "web");

        ServiceImportResource imported = await("ServiceImport shop/web in west", () -> serviceImport(westApi, "web"));
        assertEquals("ClusterSetIP", imported.getSpec().type());
        assertEquals(List.of("10.96.0.10"), imported.getSpec().ips());
        EndpointSlice slice = await("the imported EndpointSlice in west",
                () -> importedSlices(westApi, "web").stream().findFirst().orElse(null));
        assertEquals("east", slice.getMetadata().getLabels().get(Mcs.SOURCE_CLUSTER_LABEL));
        assertEquals(List.of("10.96.0.10"), slice.getEndpoints().getFirst().getAddresses());

        assertEquals(List.of("10.96.0.10"), await("west's DNS answers",
                () -> dig(west, "web.shop.svc.clusterset.local").isEmpty() ? null : dig(west, "web.shop.svc.clusterset.local")));
        assertEquals("True", await("Valid", () -> condition(eastApi, "web", Mcs.CONDITION_VALID)).getStatus());
        assertEquals("True", await("Ready", () -> condition(eastApi, "web", Mcs.CONDITION_READY)).getStatus());

        String status = get(east, "/api/v1/status").body();
        assertTrue(status.contains("\"kubernetes\"") && status.contains("\"offered\" : 1"), status);
        java.io.StringWriter table = new java.io.StringWriter();
        int exit = io.isthmus.gateway.cli.IsthmusCli.run(new java.io.PrintWriter(table, true),
                new java.io.PrintWriter(new java.io.StringWriter(), true),
                "status", "--admin", "http://127.0.0.1:" + east.adminAddress().getPort());
        assertEquals(0, exit, table.toString());
        assertTrue(table.toString().contains("kubernetes " + eastApi.url()) && table.toString().contains("  synced")
                && table.toString().contains("ServiceExports 1 (offered 1)"), table.toString());
    }

    @Test
    @Order(2)
    void aConflictingExportInWestSetsConflictOnBothSides() throws Exception {
        Thread.sleep(1100); // creation times have whole seconds: west's ServiceExport must be the younger one
        createService(westApi.client(), "web", "10.97.0.10", 8080, "10.245.1.5");
        createServiceExport(westApi.client(), "web");

        for (KubernetesApiMock api : List.of(eastApi, westApi)) {
            Condition conflict = await("Conflict=True in " + api.url(), () -> {
                Condition c = condition(api, "web", Mcs.CONDITION_CONFLICT);
                return c != null && c.getStatus().equals("True") ? c : null;
            });
            assertEquals("PortConflict", conflict.getReason());
            assertTrue(conflict.getMessage().contains("http:80/TCP in east (older, used)"), conflict.getMessage());
        }
        // East's port stands; the import lists both clusters' IPs.
        ServiceImportResource imported = await("west's import with both clusters",
                () -> serviceImport(westApi, "web").getSpec().ips().size() == 2 ? serviceImport(westApi, "web") : null);
        assertEquals(80, imported.getSpec().ports().getFirst().port());
    }

    @Test
    @Order(3)
    void deletingTheServiceExportsWithdrawsThemEverywhere() throws Exception {
        deleteServiceExport(westApi.client(), "web");
        await("Conflict=False in east", () -> {
            Condition c = condition(eastApi, "web", Mcs.CONDITION_CONFLICT);
            return c != null && c.getStatus().equals("False");
        });
        deleteServiceExport(eastApi.client(), "web");
        await("ServiceImport gone from west", () -> serviceImport(westApi, "web") == null);
        await("slices gone from west", () -> importedSlices(westApi, "web").isEmpty());
        await("no DNS answer in west", () -> dig(west, "web.shop.svc.clusterset.local").isEmpty());
        assertTrue(east.mesh().own().find(new io.isthmus.api.ServiceKey("shop", "web")).isEmpty());
    }

    @Test
    @Order(4)
    void anApiServerRestartCutsEveryWatchAndTheResyncDuplicatesNothing() throws Exception {
        createService(eastApi.client(), "api", "10.96.0.20", 443, "10.244.2.5");
        createServiceExport(eastApi.client(), "api");
        await("api imported in west", () -> importedSlices(westApi, "api").size() == 1);
        await("east ready", () -> east.notReadyReasons().isEmpty());
        long exportsVersion = east.mesh().own().version();
        String sliceVersion = importedSlices(westApi, "api").getFirst().getMetadata().getResourceVersion();

        eastApi.stop();
        westApi.stop();
        Thread.sleep(300);
        eastApi.restart();
        westApi.restart();
        await("east ready again", () -> east.notReadyReasons().isEmpty());
        await("west ready again", () -> west.notReadyReasons().isEmpty());
        Thread.sleep(1000);

        assertEquals(exportsVersion, east.mesh().own().version(), "no export was written again");
        List<EndpointSlice> slices = importedSlices(westApi, "api");
        assertEquals(1, slices.size(), slices.toString());
        assertEquals(sliceVersion, slices.getFirst().getMetadata().getResourceVersion(), "the slice was not rewritten");
        assertEquals(1, westApi.client().resources(ServiceImportResource.class).inNamespace("shop").list().getItems().size());

        // The reopened watches carry changes again: a new port reaches west's import.
        eastApi.client().services().inNamespace("shop").withName("api").edit(s -> {
            s.getSpec().getPorts().getFirst().setPort(8443);
            return s;
        });
        await("the new port in west", () -> serviceImport(westApi, "api").getSpec().ports().getFirst().port() == 8443);
    }

    @Test
    @Order(5)
    void anUnreachableApiServerMakesTheGatewayNotReadyWhileDnsStillAnswers() throws Exception {
        eastApi.stop();
        try {
            List<String> reasons = await("east not ready", () -> east.notReadyReasons().isEmpty() ? null : east.notReadyReasons());
            assertTrue(reasons.stream().anyMatch(r -> r.startsWith("kubernetes mcs-exports: watch of") && r.contains(eastApi.url())), reasons.toString());
            HttpResponse<String> readyz = get(east, "/readyz");
            assertEquals(503, readyz.statusCode());
            assertTrue(readyz.body().contains("kubernetes"), readyz.body());
            assertTrue(get(east, "/api/v1/status").body().contains("\"watching\" : false"));

            // What is known is still served, here and in west.
            assertEquals(List.of("10.96.0.20"), dig(east, "api.shop.svc.clusterset.local"));
            assertEquals(List.of("10.96.0.20"), dig(west, "api.shop.svc.clusterset.local"));
            assertTrue(east.mesh().own().find(new io.isthmus.api.ServiceKey("shop", "api")).isPresent());
        } finally {
            eastApi.restart();
        }
        await("east ready once the API server is back", () -> east.notReadyReasons().isEmpty());
        assertEquals(200, get(east, "/readyz").statusCode());
    }

    @Test
    @Order(6)
    void anExportIntoKubeSystemIsNotImportedAndWestSaysWhy() throws Exception {
        await("east ready", () -> east.notReadyReasons().isEmpty());
        createService(eastApi.client(), "kube-system", "metrics", "10.96.0.30", 443, "10.244.1.30");
        createServiceExport(eastApi.client(), "kube-system", "metrics");
        await("east offers kube-system/metrics", () ->
                east.mesh().own().find(new io.isthmus.api.ServiceKey("kube-system", "metrics")).isPresent());
        // A witness exported after it: once west imports the witness, it has had the kube-system export too.
        createService(eastApi.client(), "witness", "10.96.0.31", 80, "10.244.1.31");
        createServiceExport(eastApi.client(), "witness");
        await("ServiceImport shop/witness in west", () -> serviceImport(westApi, "witness"));

        var fromEast = west.mesh().imports().get(ClusterId.of("east"));
        assertTrue(fromEast.denied().find(new io.isthmus.api.ServiceKey("kube-system", "metrics")).isPresent(),
                "west received it and set it aside");
        assertTrue(west.mesh().directory().find(new io.isthmus.api.ServiceKey("kube-system", "metrics")).isEmpty());
        assertEquals(List.of(), westApi.client().resources(ServiceImportResource.class).inNamespace("kube-system")
                .list().getItems(), "no ServiceImport written into kube-system");
        assertEquals(List.of(), westApi.client().discovery().v1().endpointSlices().inNamespace("kube-system")
                .withLabel(Mcs.SERVICE_NAME_LABEL, "metrics").list().getItems());
        assertEquals(List.of(), dig(west, "metrics.kube-system.svc.clusterset.local"));
        String status = get(west, "/api/v1/status").body();
        assertTrue(status.contains("\"NamespaceDenied\"") && status.contains("namespace kube-system is in "
                + "isthmus.peering.import-namespaces.denied"), status);
    }
}
