package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServiceType;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two clusters' API servers (kubernetes-server-mock, CRUD mode), an McsSync on each, and the clusterset between
 * them in memory: ServiceExports become exports, exports become ServiceImports and EndpointSlices in the other
 * cluster, conditions tell what happened, and restarts and outages neither duplicate nor lose anything.
 */
class McsSyncTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final FakeClusterset clusterset = new FakeClusterset();
    private KubernetesApiMock eastApi;
    private KubernetesApiMock westApi;
    private McsSync east;
    private McsSync west;
    private final List<KubernetesClient> clients = new java.util.ArrayList<>();

    @BeforeEach
    void start() {
        eastApi = KubernetesApiMock.start(McsFixtures.MCS_CRDS);
        westApi = KubernetesApiMock.start(McsFixtures.MCS_CRDS);
        east = sync(EAST, eastApi);
        west = sync(WEST, westApi);
    }

    private McsSync sync(ClusterId self, KubernetesApiMock api) {
        return sync(self, api, List.of());
    }

    private McsSync sync(ClusterId self, KubernetesApiMock api, List<String> namespaces) {
        KubernetesClient client = KubernetesClients.connect(api.url());
        clients.add(client);
        return new McsSync(client, new McsSettings(self, namespaces, Duration.ofSeconds(30), Duration.ofMillis(50)),
                clusterset.registryOf(self), clusterset.view(), Clock.systemUTC()).start();
    }

    @AfterEach
    void stop() {
        east.close();
        west.close();
        clients.forEach(KubernetesClient::close);
        eastApi.close();
        westApi.close();
    }

    private static <T> T await(String what, Supplier<T> probe) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = probe.get();
            if (last != null && !Boolean.FALSE.equals(last)) {
                return last;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what + " (last: " + last + ")");
    }

    private static ServiceImportResource serviceImport(KubernetesApiMock api, String namespace, String name) {
        return api.client().resources(ServiceImportResource.class).inNamespace(namespace).withName(name).get();
    }

    private static List<EndpointSlice> importedSlices(KubernetesApiMock api, String namespace) {
        return api.client().discovery().v1().endpointSlices().inNamespace(namespace)
                .withLabel(Mcs.SERVICE_NAME_LABEL).list().getItems();
    }

    private static Condition condition(KubernetesApiMock api, String namespace, String name, String type) {
        ServiceExportResource se = api.client().resources(ServiceExportResource.class).inNamespace(namespace).withName(name).get();
        if (se == null || se.getStatus() == null) {
            return null;
        }
        return se.getStatus().conditions().stream().filter(c -> c.getType().equals(type)).findFirst().orElse(null);
    }

    private static void exportWeb(KubernetesApiMock api, String clusterIp, String... endpoints) {
        KubernetesClient k = api.client();
        k.resource(McsFixtures.service("shop", "web", clusterIp, "http:80")).create();
        k.resource(McsFixtures.slice("shop", "web", "web-abc12", endpoints)).create();
        k.resource(McsFixtures.serviceExport("shop", "web")).create();
    }

    @Test
    void aServiceExportedInOneClusterIsImportedWithItsEndpointSlicesInTheOther() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5", "!10.244.1.6");

        ServiceImportResource imported = await("ServiceImport shop/web in west",
                () -> serviceImport(westApi, "shop", "web"));
        assertEquals("ClusterSetIP", imported.getSpec().type());
        assertEquals(List.of("10.96.0.10"), imported.getSpec().ips());
        assertEquals(List.of(new ServiceImportSpec.Port("http", "TCP", 80)), imported.getSpec().ports());
        assertEquals(List.of(new ServiceImportStatus.Cluster("east")), await("status of the import",
                () -> serviceImport(westApi, "shop", "web").getStatus() == null ? null
                        : serviceImport(westApi, "shop", "web").getStatus().clusters()));

        List<EndpointSlice> slices = await("the imported slice", () -> importedSlices(westApi, "shop").isEmpty() ? null : importedSlices(westApi, "shop"));
        assertEquals(1, slices.size());
        EndpointSlice slice = slices.getFirst();
        assertEquals("web", slice.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL));
        assertEquals("east", slice.getMetadata().getLabels().get(Mcs.SOURCE_CLUSTER_LABEL));
        assertEquals(List.of("10.96.0.10"), slice.getEndpoints().getFirst().getAddresses());

        Condition valid = await("Valid on the ServiceExport", () -> condition(eastApi, "shop", "web", Mcs.CONDITION_VALID));
        assertEquals("True", valid.getStatus());
        assertEquals("False", await("Conflict", () -> condition(eastApi, "shop", "web", Mcs.CONDITION_CONFLICT)).getStatus());
        // The exporting cluster holds no ServiceImport of its own service (only the others do).
        assertNull(serviceImport(eastApi, "shop", "web"));
    }

    @Test
    void aHeadlessExportCarriesEveryReadyEndpointWithItsHostname() throws Exception {
        eastApi.client().resource(McsFixtures.service("db", "pg", "None", "pg:5432")).create();
        eastApi.client().resource(McsFixtures.slice("db", "pg", "pg-x1", "pg-0=10.244.1.7", "pg-1=10.244.2.7", "!pg-2=10.244.3.7")).create();
        eastApi.client().resource(McsFixtures.serviceExport("db", "pg")).create();

        ServiceImportResource imported = await("ServiceImport db/pg", () -> serviceImport(westApi, "db", "pg"));
        assertEquals("Headless", imported.getSpec().type());
        assertTrue(imported.getSpec().ips().isEmpty());
        EndpointSlice slice = await("slice", () -> importedSlices(westApi, "db").stream().findFirst().orElse(null));
        assertEquals(List.of("pg-0=10.244.1.7", "pg-1=10.244.2.7"), slice.getEndpoints().stream()
                .map(e -> e.getHostname() + "=" + e.getAddresses().getFirst()).toList());
    }

    @Test
    void aServiceExportWithoutItsServiceIsInvalidUntilTheServiceComes() throws Exception {
        eastApi.client().resource(McsFixtures.serviceExport("shop", "cart")).create();
        Condition valid = await("Valid=False", () -> {
            Condition c = condition(eastApi, "shop", "cart", Mcs.CONDITION_VALID);
            return c != null && c.getStatus().equals("False") ? c : null;
        });
        assertEquals("ServiceNotFound", valid.getReason());
        assertTrue(valid.getMessage().contains("shop/cart"), valid.getMessage());
        assertTrue(clusterset.exportsOf(EAST).isEmpty());

        eastApi.client().resource(McsFixtures.service("shop", "cart", "10.96.0.11", "http:80")).create();
        eastApi.client().resource(McsFixtures.slice("shop", "cart", "cart-1", "10.244.1.9")).create();
        await("Valid=True", () -> {
            Condition c = condition(eastApi, "shop", "cart", Mcs.CONDITION_VALID);
            return c != null && c.getStatus().equals("True");
        });
        await("ServiceImport in west", () -> serviceImport(westApi, "shop", "cart"));
    }

    @Test
    void aClusterSetIpServiceWithoutReadyEndpointsIsWithheldAndSaysWhy() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "!10.244.1.5");
        Condition ready = await("Ready=False", () -> condition(eastApi, "shop", "web", Mcs.CONDITION_READY));
        assertEquals("False", ready.getStatus());
        assertEquals("NoReadyEndpoints", ready.getReason());
        assertTrue(clusterset.exportsOf(EAST).isEmpty());

        eastApi.client().resource(McsFixtures.slice("shop", "web", "web-abc12", "10.244.1.5")).update();
        await("offered once an endpoint is ready", () -> serviceImport(westApi, "shop", "web"));
    }

    @Test
    void conflictingExportsSetConflictOnBothSidesAndTheOldestWins() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");
        await("east's export", () -> serviceImport(westApi, "shop", "web"));
        Thread.sleep(1100); // creation times have whole seconds: west's export is the younger one
        westApi.client().resource(McsFixtures.service("shop", "web", "None", "http:80")).create();
        westApi.client().resource(McsFixtures.slice("shop", "web", "web-w1", "10.245.1.5")).create();
        westApi.client().resource(McsFixtures.serviceExport("shop", "web")).create();

        for (KubernetesApiMock api : List.of(eastApi, westApi)) {
            Condition conflict = await("Conflict=True on " + api.url(), () -> {
                Condition c = condition(api, "shop", "web", Mcs.CONDITION_CONFLICT);
                return c != null && c.getStatus().equals("True") ? c : null;
            });
            assertEquals("TypeConflict", conflict.getReason());
            assertTrue(conflict.getMessage().contains("ClusterSetIP in east (the oldest export, used)"), conflict.getMessage());
        }
        // The oldest (east's) type stands in west's import.
        assertEquals("ClusterSetIP", serviceImport(westApi, "shop", "web").getSpec().type());

        westApi.client().resources(ServiceExportResource.class).inNamespace("shop").withName("web").delete();
        await("Conflict=False on east once west withdrew", () -> {
            Condition c = condition(eastApi, "shop", "web", Mcs.CONDITION_CONFLICT);
            return c != null && c.getStatus().equals("False");
        });
    }

    @Test
    void deletingTheServiceExportWithdrawsItAndTheImportsGo() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");
        await("ServiceImport in west", () -> serviceImport(westApi, "shop", "web"));
        await("slice in west", () -> !importedSlices(westApi, "shop").isEmpty());

        eastApi.client().resources(ServiceExportResource.class).inNamespace("shop").withName("web").delete();
        await("withdrawn", () -> clusterset.exportsOf(EAST).isEmpty());
        await("ServiceImport deleted in west", () -> serviceImport(westApi, "shop", "web") == null);
        await("slices deleted in west", () -> importedSlices(westApi, "shop").isEmpty());
    }

    @Test
    void aRestartedSyncResyncsWithoutDuplicatesOrNewWrites() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");
        await("slice in west", () -> !importedSlices(westApi, "shop").isEmpty());
        await("conditions", () -> condition(eastApi, "shop", "web", Mcs.CONDITION_CONFLICT));
        int changes = clusterset.changes();
        String sliceVersion = importedSlices(westApi, "shop").getFirst().getMetadata().getResourceVersion();

        east.close();
        west.close();
        // Meanwhile a second service is exported: the restarted sync must find it from the list alone.
        eastApi.client().resource(McsFixtures.service("shop", "cart", "10.96.0.11", "http:80")).create();
        eastApi.client().resource(McsFixtures.slice("shop", "cart", "cart-1", "10.244.1.9")).create();
        eastApi.client().resource(McsFixtures.serviceExport("shop", "cart")).create();
        east = sync(EAST, eastApi);
        west = sync(WEST, westApi);

        await("cart imported after the restart", () -> serviceImport(westApi, "shop", "cart"));
        await("both synced", () -> east.notReadyReasons().isEmpty() && west.notReadyReasons().isEmpty());
        Thread.sleep(500); // let a full resync run through everything
        assertEquals(changes + 1, clusterset.changes(), "only the new export was written");
        List<EndpointSlice> slices = importedSlices(westApi, "shop");
        assertEquals(List.of("cart-east", "web-east"), slices.stream().map(s -> s.getMetadata().getName()).sorted().toList());
        assertEquals(sliceVersion, slices.stream().filter(s -> s.getMetadata().getName().equals("web-east"))
                .findFirst().orElseThrow().getMetadata().getResourceVersion(), "the unchanged slice was not rewritten");
        assertEquals(1, westApi.client().resources(ServiceImportResource.class).inNamespace("shop").list().getItems()
                .stream().filter(si -> si.getMetadata().getName().equals("web")).count());
    }

    @Test
    void aRestartedSyncStoresEveryServiceExportFoundInOneChange() throws Exception {
        east.close();
        for (int i = 0; i < 40; i++) {
            String name = "svc-" + i;
            eastApi.client().resource(McsFixtures.service("bulk", name, "10.96.1." + i, "http:80")).create();
            eastApi.client().resource(McsFixtures.slice("bulk", name, name + "-1", "10.244.2." + i)).create();
            eastApi.client().resource(McsFixtures.serviceExport("bulk", name)).create();
        }
        int changes = clusterset.changes();

        east = sync(EAST, eastApi);

        await("all 40 exported", () -> clusterset.exportsOf(EAST).size() == 40);
        await("conditions set on the last", () -> condition(eastApi, "bulk", "svc-39", Mcs.CONDITION_CONFLICT));
        assertEquals(changes + 1, clusterset.changes(), "the first resync wrote the 40 as one change");
        Thread.sleep(300); // a later pass finds nothing to write
        assertEquals(changes + 1, clusterset.changes());
    }

    @Test
    void anUnreachableApiServerMakesTheSyncNotReadyAndKeepsTheExports() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");
        await("exported", () -> !clusterset.exportsOf(EAST).isEmpty());
        await("ready", () -> east.notReadyReasons().isEmpty());

        eastApi.stop();
        List<String> reasons = await("not ready", () -> east.notReadyReasons().isEmpty() ? null : east.notReadyReasons());
        assertTrue(reasons.getFirst().contains("watch of") && reasons.getFirst().contains(eastApi.url()), reasons.toString());
        assertFalse(east.status().watching());
        Thread.sleep(500);
        ServiceExport kept = clusterset.exportsOf(EAST).get(new ServiceKey("shop", "web"));
        assertEquals(ServiceType.CLUSTER_SET_IP, kept.type(), "what is known stays exported");

        eastApi.restart();
        await("ready again", () -> east.notReadyReasons().isEmpty());
        // Changes after the outage flow again, through the reopened watches.
        eastApi.client().resources(ServiceExportResource.class).inNamespace("shop").withName("web").delete();
        await("withdrawn after the outage", () -> clusterset.exportsOf(EAST).isEmpty());
    }

    @Test
    void anImportedObjectDeletedOrChangedBySomeoneElseIsPutRight() throws Exception {
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");
        await("slice in west", () -> !importedSlices(westApi, "shop").isEmpty());
        await("ServiceImport in west", () -> serviceImport(westApi, "shop", "web"));

        westApi.client().discovery().v1().endpointSlices().inNamespace("shop").withName("web-east").delete();
        westApi.client().resources(ServiceImportResource.class).inNamespace("shop").withName("web").edit(si -> {
            si.setSpec(new ServiceImportSpec("Headless", si.getSpec().ports(), List.of(), "None"));
            return si;
        });
        await("the slice is back", () -> importedSlices(westApi, "shop").size() == 1);
        await("the spec is back", () -> serviceImport(westApi, "shop", "web").getSpec().type().equals("ClusterSetIP"));
    }

    @Test
    void onlyTheNamespacesInScopeAreWatchedAndOtherExportsAreLeftAlone() throws Exception {
        east.close();
        east = sync(EAST, eastApi, List.of("shop"));
        // An export made another way (isthmus export) in a namespace outside the scope stays.
        clusterset.registryOf(EAST).export(ServiceExport.of(new ServiceKey("db", "pg"), ServiceType.CLUSTER_SET_IP,
                List.of(io.isthmus.api.ServicePort.parse("5432")), List.of(io.isthmus.api.IpLiteral.parse("ip", "10.96.0.50")),
                java.time.Instant.parse("2026-11-26T10:00:00Z")));
        eastApi.client().resource(McsFixtures.service("other", "web", "10.96.0.30", "http:80")).create();
        eastApi.client().resource(McsFixtures.slice("other", "web", "web-1", "10.244.3.5")).create();
        eastApi.client().resource(McsFixtures.serviceExport("other", "web")).create();
        exportWeb(eastApi, "10.96.0.10", "10.244.1.5");

        await("shop/web exported", () -> clusterset.exportsOf(EAST).containsKey(new ServiceKey("shop", "web")));
        await("a full resync has run", () -> east.status().lastFullResyncAt() != null);
        Thread.sleep(300);
        assertEquals(java.util.Set.of(new ServiceKey("shop", "web"), new ServiceKey("db", "pg")), clusterset.exportsOf(EAST).keySet());
        assertNull(condition(eastApi, "other", "web", Mcs.CONDITION_VALID), "a ServiceExport out of scope is not touched");
    }

    @Test
    void aSyncWhoseApiServerNeverAnsweredSaysSoAndDecidesNothing() throws Exception {
        east.close(); // east's working sync would rightly withdraw an export without a ServiceExport
        KubernetesApiMock gone = KubernetesApiMock.start(McsFixtures.MCS_CRDS);
        String url = gone.url();
        gone.close();
        clusterset.registryOf(EAST).export(ServiceExport.of(new ServiceKey("shop", "kept"), ServiceType.CLUSTER_SET_IP,
                List.of(io.isthmus.api.ServicePort.parse("80")), List.of(io.isthmus.api.IpLiteral.parse("ip", "10.96.0.60")),
                java.time.Instant.parse("2026-11-26T10:00:00Z")));
        KubernetesClient client = KubernetesClients.connect(url);
        clients.add(client);
        try (McsSync lonely = new McsSync(client, new McsSettings(EAST, List.of(), Duration.ofSeconds(30), Duration.ofMillis(50)),
                clusterset.registryOf(EAST), clusterset.view(), Clock.systemUTC()).start()) {
            Thread.sleep(1000);
            List<String> reasons = lonely.notReadyReasons();
            assertEquals(5, reasons.size(), reasons.toString());
            assertTrue(reasons.getFirst().contains("ServiceExports not yet listed from " + url), reasons.toString());
            assertFalse(lonely.status().synced());
            assertTrue(clusterset.exportsOf(EAST).containsKey(new ServiceKey("shop", "kept")),
                    "nothing is withdrawn on the strength of an empty picture");
        }
    }
}
