package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.cni.CniBackend;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;
import io.isthmus.k8s.crd.IPPool;
import io.isthmus.k8s.crd.IPPoolSpec;
import io.isthmus.k8s.crd.IPPoolStatus;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Kubernetes side of IPAM against fabric8's mock API server in CRUD mode, with the real IPAM underneath
 * ({@link KubernetesIpamHarness}), and a short reclaim grace (1 s).
 */
class KubernetesIpamTest {
    private static final ClusterId EAST = KubernetesIpamHarness.EAST;
    private static final Duration GRACE = Duration.ofSeconds(1);

    private static KubernetesIpamHarness harness;
    private static KubernetesClient client;
    private static Ipam ipam;
    private static io.isthmus.gateway.k8s.KubernetesAdapter kubernetes;
    private static PoolCniBackend cni;

    @BeforeAll
    static void start() throws Exception {
        harness = KubernetesIpamHarness.start(KubernetesIpamHarness.defaults()
                .withReclaimGrace(GRACE).withReclaimInterval(Duration.ofMillis(200)));
        client = harness.client;
        ipam = harness.ipam;
        kubernetes = harness.kubernetes;
        cni = harness.cni;
    }

    @AfterAll
    static void stop() throws Exception {
        if (harness != null) {
            harness.close();
        }
    }

    @Test
    void anIpPoolWithHostBitsSetIsRefusedNamingTheFieldAndNoPoolIsCreated() throws Exception {
        createPool("host-bits", "pod", List.of("10.128.7.1/24"));
        Condition ready = refused("host-bits");
        assertEquals("InvalidSpec", ready.getReason());
        assertTrue(ready.getMessage().contains("spec.cidrs[0] '10.128.7.1/24'"), ready.getMessage());
        assertTrue(ready.getMessage().contains("did you mean 10.128.7.0/24"), ready.getMessage());
        assertNoPool("host-bits");
    }

    @Test
    void anIpPoolOutsideTheClustersSegmentsIsRefusedAndNoPoolIsCreated() throws Exception {
        createPool("elsewhere", "pod", List.of("10.9.0.0/24"));
        Condition ready = refused("elsewhere");
        assertEquals("OutsideSegments", ready.getReason());
        assertTrue(ready.getMessage().contains("spec.cidrs") && ready.getMessage().contains("10.9.0.0/24"), ready.getMessage());
        assertNoPool("elsewhere");
    }

    @Test
    void anIpPoolInASegmentOfAnotherKindIsRefusedNamingSpecKind() throws Exception {
        createPool("wrong-kind", "underlay", List.of("10.128.9.0/24"));
        Condition ready = refused("wrong-kind");
        assertEquals("OutsideSegments", ready.getReason());
        assertTrue(ready.getMessage().contains("spec.kind 'underlay'"), ready.getMessage());
        assertTrue(ready.getMessage().contains("pod segment 10.128.0.0/16"), ready.getMessage());
        assertNoPool("wrong-kind");
    }

    @Test
    void anIpPoolOverlappingAnotherIsRefusedNamingTheOtherPool() throws Exception {
        createPool("first", "pod", List.of("10.128.20.0/24"));
        eventuallyReady("first");
        createPool("overlapping", "pod", List.of("10.128.20.128/25"));
        Condition ready = refused("overlapping");
        assertEquals("PoolOverlaps", ready.getReason());
        assertTrue(ready.getMessage().contains("overlaps pool first"), ready.getMessage());
        assertNoPool("overlapping");
    }

    @Test
    void aValidIpPoolBecomesAPoolOfTheGatewayAndItsStatusFollowsTheUsage() throws Exception {
        IPPool pool = pool("green", new IPPoolSpec("underlay", List.of("172.20.1.0/24"), List.of("172.20.1.200-172.20.1.254"),
                List.of("172.20.1.100"), List.of("172.20.1.1"), List.of(new IPPoolSpec.PoolRoute("0.0.0.0/0", "172.20.1.1"))));
        client.resource(pool).create();
        IPPoolStatus status = eventuallyReady("green");
        PoolSpec spec = ipam.pool("green").toCompletableFuture().get(10, TimeUnit.SECONDS).spec();
        assertEquals("[172.20.1.0/24]", spec.cidrs().toString());
        assertEquals(1, spec.exclude().size());
        assertEquals("197", status.size()); // 254 hosts less 55 excluded, the gateway and the reserved address
        assertEquals(List.of("underlay 172.20.0.0/20"), status.segments());
        assertEquals(0L, status.allocated());

        String web = addPod("shop", "web-1", null);
        CniBackend.Lease lease = cniAdd("green", "shop", "web-1", web);
        assertEquals("172.20.1.2", lease.addressing().ips().getFirst().address().getHostAddress());
        eventually("status.allocated counts the lease", () -> Long.valueOf(1).equals(status("green").allocated()));
    }

    @Test
    void aDeletedPodsAddressIsReleasedWithinTheGraceWithoutACniDel() throws Exception {
        createPool("blue", "pod", List.of("10.128.30.0/24"));
        eventuallyReady("blue");
        cniAdd("blue", "shop", "cart-1", addPod("shop", "cart-1", null));
        cniAdd("blue", "shop", "cart-2", addPod("shop", "cart-2", null));
        assertEquals(2, active("blue").size());

        client.pods().inNamespace("shop").withName("cart-1").delete();
        long deleted = System.nanoTime();
        eventually("cart-1's lease is reclaimed", () -> active("blue").stream().noneMatch(l -> l.owner().name().equals("cart-1")));
        Duration took = Duration.ofNanos(System.nanoTime() - deleted);
        // grace + one reclaim interval + one informer event; generous against a loaded machine
        assertTrue(took.compareTo(GRACE.plusSeconds(10)) < 0, "reclaimed after " + took);
        assertTrue(took.compareTo(GRACE) >= 0, "reclaimed before the grace was over: " + took);
        assertEquals(List.of("cart-2"), active("blue").stream().map(l -> l.owner().name()).toList(),
                "the pod that still exists keeps its address");
        assertTrue(ipam.reclaims("blue").toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .anyMatch(r -> r.owner().name().equals("cart-1")));
    }

    @Test
    void aStatefulSetPodRecreatedWithAnotherUidGetsTheSameAddress() throws Exception {
        createPool("data", "pod", List.of("10.128.40.0/24"));
        eventuallyReady("data");
        client.resource(statefulSet("db", "db", 2)).create();
        String first = addPod("db", "db-0", "db");
        String address = ip(cniAdd("data", "db", "db-0", first));
        cniAdd("data", "db", "db-1", addPod("db", "db-1", "db"));
        Lease held = active("data").stream().filter(l -> l.owner().name().equals("db-0")).findFirst().orElseThrow();
        assertEquals(OwnerKind.STATEFUL_POD, held.owner().kind(), "recognized by its controller, the StatefulSet");

        // The pod goes (no CNI DEL); its StatefulSet still wants ordinal 0: the address waits for the next incarnation.
        client.pods().inNamespace("db").withName("db-0").delete();
        Thread.sleep(GRACE.multipliedBy(3).toMillis());
        assertTrue(leases("data").stream().anyMatch(l -> l.owner().name().equals("db-0")), "kept for the identity");
        String second = addPod("db", "db-0", "db");
        assertNotEquals(first, second, "a new incarnation");
        assertEquals(address, ip(cniAdd("data", "db", "db-0", second)));

        // Scaled down to one replica and db-1 deleted: ordinal 1 is no longer wanted, so its address is reclaimed.
        StatefulSet scaled = client.apps().statefulSets().inNamespace("db").withName("db").get();
        scaled.getSpec().setReplicas(1);
        client.resource(scaled).update();
        client.pods().inNamespace("db").withName("db-1").delete();
        eventually("db-1's address is reclaimed", () -> leases("data").stream().noneMatch(l -> l.owner().name().equals("db-1")));
        assertTrue(active("data").stream().anyMatch(l -> l.owner().name().equals("db-0")));
    }

    @Test
    void aCniAddIsServedOnlyForAPodTheApiKnowsWithTheClaimedUid() throws Exception {
        createPool("claims", "pod", List.of("10.128.50.0/24"));
        eventuallyReady("claims");
        String uid = addPod("shop", "pay-1", null);

        CniBackendException wrongUid = refusedAdd("claims", "c-forged", Optional.of(
                new CniBackend.PodIdentity("shop", "pay-1", "not-" + uid)));
        assertEquals(CniBackendError.POD_NOT_CONFIRMED, wrongUid.error());
        assertTrue(wrongUid.detail().contains("has uid " + uid + ", not the claimed not-" + uid), wrongUid.detail());
        CniBackendException noPod = refusedAdd("claims", "c-ghost", Optional.of(
                new CniBackend.PodIdentity("shop", "ghost-1", "uid-ghost")));
        assertEquals(CniBackendError.POD_NOT_CONFIRMED, noPod.error());
        assertTrue(noPod.detail().contains("no pod shop/ghost-1"), noPod.detail());
        CniBackendException noUid = refusedAdd("claims", "c-nouid", Optional.of(
                new CniBackend.PodIdentity("shop", "pay-1", "")));
        assertTrue(noUid.detail().contains("K8S_POD_UID"), noUid.detail());
        CniBackendException anonymous = refusedAdd("claims", "c-anon", Optional.empty());
        assertEquals(CniBackendError.POD_NOT_CONFIRMED, anonymous.error());
        assertEquals(List.of(), leases("claims"), "nothing was reserved for a claim the API does not back");

        assertEquals("10.128.50.1", ip(cniAdd("claims", "shop", "pay-1", uid)), "the true claim is served (the lowest address)");
    }

    @Test
    void aCniDelFromAnotherContainerLeavesThePodsLeaseAndItsOwnContainerFreesIt() throws Exception {
        createPool("bound", "pod", List.of("10.128.60.0/24"));
        eventuallyReady("bound");
        String uid = addPod("shop", "cart-9", null);
        cniAdd("bound", "shop", "cart-9", uid);
        var pod = Optional.of(new CniBackend.PodIdentity("shop", "cart-9", uid));
        var foreign = new CniBackend.Attachment("c-intruder", "eth1");
        var failure = assertThrows(java.util.concurrent.ExecutionException.class, () -> cni.release(
                new CniBackend.ReleaseRequest("bound", "net", foreign, pod)).toCompletableFuture().get(10, TimeUnit.SECONDS));
        CniBackendException refused = assertInstanceOf(CniBackendException.class, failure.getCause());
        assertEquals(CniBackendError.NOT_OWNER, refused.error());
        assertTrue(refused.detail().contains("container node-a/net/c-" + uid + "/eth1 does"), refused.detail());
        assertEquals(1, active("bound").size(), "the lease stays");
        assertEquals("node-a/net/c-" + uid + "/eth1", active("bound").getFirst().attachment(), "node/network/container/ifname");

        cni.release(new CniBackend.ReleaseRequest("bound", "net", new CniBackend.Attachment("c-" + uid, "eth1"), pod))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), leases("bound"), "the holder's own DEL frees it");
    }

    // ---- helpers ----

    private static CniBackendException refusedAdd(String pool, String container, Optional<CniBackend.PodIdentity> pod) {
        var failure = assertThrows(java.util.concurrent.ExecutionException.class, () -> cni.reserve(
                new CniBackend.ReserveRequest(pool, "net", new CniBackend.Attachment(container, "eth1"), pod, List.of()))
                .toCompletableFuture().get(10, TimeUnit.SECONDS));
        return assertInstanceOf(CniBackendException.class, failure.getCause(), failure.toString());
    }

    private static IPPool pool(String name, IPPoolSpec spec) {
        IPPool pool = new IPPool();
        pool.setMetadata(new ObjectMetaBuilder().withName(name).build());
        pool.setSpec(spec);
        return pool;
    }

    @Test
    void aDeletedIpPoolDeletesItsEmptyPoolButNeverOneThatHoldsLeases() throws Exception {
        createPool("gone-empty", "underlay", List.of("172.20.4.0/24"));
        eventuallyReady("gone-empty");
        createPool("gone-held", "underlay", List.of("172.20.5.0/24"));
        eventuallyReady("gone-held");
        String uid = addPod("shop", "held-1", null);
        cniAdd("gone-held", "shop", "held-1", uid);

        client.resources(IPPool.class).withName("gone-empty").delete();
        client.resources(IPPool.class).withName("gone-held").delete();
        eventually("the empty pool is deleted with its IPPool", () -> {
            try {
                return ipam.pools().toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                        .noneMatch(p -> p.name().equals("gone-empty"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(500); // both deletions were reconciled in order; give the second its turn
        var leases = ipam.leases("gone-held").toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertEquals(1, leases.size(), "a pool with a lease stays, lease and all: " + leases);
    }

    private static void createPool(String name, String kind, List<String> cidrs) {
        client.resource(pool(name, new IPPoolSpec(kind, cidrs, null, null, null, null))).create();
    }

    private static IPPoolStatus status(String name) {
        IPPool pool = client.resources(IPPool.class).withName(name).get();
        return pool == null ? null : pool.getStatus();
    }

    private static Optional<Condition> readyCondition(String name) {
        IPPoolStatus status = status(name);
        return status == null || status.conditions() == null ? Optional.empty()
                : status.conditions().stream().filter(c -> c.getType().equals("Ready")).findFirst();
    }

    private static Condition refused(String name) throws Exception {
        eventually("IPPool " + name + " has a Ready condition", () -> readyCondition(name).isPresent());
        Condition ready = readyCondition(name).orElseThrow();
        assertEquals("False", ready.getStatus(), ready.getMessage());
        assertEquals(1L, ready.getObservedGeneration() == null ? 1L : ready.getObservedGeneration());
        return ready;
    }

    private static IPPoolStatus eventuallyReady(String name) throws Exception {
        eventually("IPPool " + name + " is Ready", () -> readyCondition(name).map(c -> c.getStatus().equals("True")).orElse(false));
        return status(name);
    }

    private static void assertNoPool(String name) throws Exception {
        List<String> pools = ipam.pools().toCompletableFuture().get(10, TimeUnit.SECONDS).stream().map(PoolSpec::name).toList();
        assertFalse(pools.contains(name), "no pool " + name + " in " + pools);
    }

    private static String addPod(String namespace, String name, String statefulSet) throws Exception {
        return harness.addPod(namespace, name, statefulSet);
    }

    private static StatefulSet statefulSet(String namespace, String name, int replicas) {
        return new StatefulSetBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
                .withNewSpec().withReplicas(replicas).withServiceName(name).endSpec().build();
    }

    private static CniBackend.Lease cniAdd(String pool, String namespace, String name, String uid) throws Exception {
        return harness.cniAdd(pool, namespace, name, uid);
    }

    private static String ip(CniBackend.Lease lease) {
        return lease.addressing().ips().getFirst().address().getHostAddress();
    }

    private static List<Lease> leases(String pool) {
        return harness.leases(pool);
    }

    private static List<Lease> active(String pool) {
        return harness.active(pool);
    }

    private static void eventually(String what, Supplier<Boolean> condition) throws InterruptedException {
        KubernetesIpamHarness.eventually(what, condition);
    }
}
