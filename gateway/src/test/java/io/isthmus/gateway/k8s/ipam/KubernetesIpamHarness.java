package io.isthmus.gateway.k8s.ipam;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.IpamSettings;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.ipam.cni.CniBackend;
import io.isthmus.ipam.plan.PlanConfig;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanTransport;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.ipam.plan.Supernet;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The Kubernetes side of IPAM with the real IPAM underneath, for KubernetesIpamTest and KubernetesReclaimBench:
 * fabric8's mock API server in CRUD mode (no real API server can run on these machines) holding our CRDs as
 * k8s/deploy declares them, a one-node Pekko cluster on an embedded H2 journal, a one-member address plan holding a
 * pod and an underlay segment, the pod informers as owner liveness, and the CNI backend of node {@code node-a}.
 */
final class KubernetesIpamHarness implements AutoCloseable {
    static final ClusterId EAST = ClusterId.of("east");
    static final Duration WAIT = Duration.ofSeconds(30);

    final KubernetesMockServer server;
    final KubernetesClient client;
    final Path dir;
    ActorSystem<Void> system;
    Ipam ipam;
    io.isthmus.gateway.k8s.KubernetesAdapter kubernetes;
    PoolCniBackend cni;

    private KubernetesIpamHarness() throws Exception {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        dir = Files.createTempDirectory("k8s-ipam-");
    }

    /** With {@code ipamSettings} (say, a short reclaim grace); the pod informers are listing and watching. */
    static KubernetesIpamHarness start(IpamSettings ipamSettings) throws Exception {
        KubernetesIpamHarness h = new KubernetesIpamHarness();
        try {
            h.startIpam(ipamSettings);
        } catch (Exception | Error e) {
            h.close();
            throw e;
        }
        return h;
    }

    private void startIpam(IpamSettings ipamSettings) throws Exception {
        try (Stream<Path> crds = Files.list(Path.of("..", "k8s", "deploy", "crds"))) {
            for (Path crd : crds.sorted().toList()) {
                try (InputStream in = Files.newInputStream(crd)) {
                    client.resource(client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class)).create();
                }
            }
        }
        system = oneNodeCluster(dir);
        PlanConfig planConfig = PlanConfig.of(EAST, new TreeSet<>(List.of(EAST)), Map.of(
                SegmentKind.POD, List.of(Supernet.parse("pod", "10.128.0.0/9", 16)),
                SegmentKind.UNDERLAY, List.of(Supernet.parse("underlay", "172.20.0.0/16", 20))));
        AddressPlan plan = AddressPlan.start(system, planConfig, new NoPeers(), Optional.empty(), Clock.systemUTC(),
                Duration.ofSeconds(5), new io.isthmus.gateway.metrics.Metrics());
        await(() -> plan.claim("pod", "10.128.0.0/16"));
        await(() -> plan.claim("underlay", "172.20.0.0/20"));

        KubernetesIpamSettings settings = new KubernetesIpamSettings(true, KubernetesIpamSettings.OwnerSource.PODS,
                Duration.ofMillis(300), Duration.ZERO);
        kubernetes = io.isthmus.gateway.k8s.KubernetesAdapter.open(new io.isthmus.gateway.config.GatewayConfig.Kubernetes(
                false, "", List.of(), Duration.ofSeconds(30), false, settings), EAST, client, false);
        ipam = Ipam.start(system, EAST, plan, kubernetes.liveness().orElseThrow(), ipamSettings, Clock.systemUTC());
        await(ipam::pools);
        kubernetes.startPools(ipam, plan, Clock.systemUTC());
        cni = new PoolCniBackend(ipam, kubernetes.podKinds((namespace, name) -> OwnerKind.POD), kubernetes.podClaims(),
                "node-a", io.isthmus.gateway.ipam.AllocationTimer.unrecorded());
        eventually("the pod informers list and watch", () -> kubernetes.notReadyReasons().isEmpty());
    }

    /** The IPAM settings of reference.conf (the defaults a gateway runs with). */
    static IpamSettings defaults() {
        return IpamSettings.fromConfig(ConfigFactory.load());
    }

    @Override
    public void close() throws Exception {
        if (kubernetes != null) {
            kubernetes.close();
        }
        if (system != null) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        client.close();
        server.destroy();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path path : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** Creates a running pod (the API server gives it its uid) and waits until the informer has it; returns the uid. */
    String addPod(String namespace, String name, String statefulSet) throws Exception {
        var meta = new ObjectMetaBuilder().withNamespace(namespace).withName(name);
        if (statefulSet != null) {
            meta.withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("StatefulSet")
                    .withName(statefulSet).withUid("uid-set-" + statefulSet).withController(true).build());
        }
        Pod pod = new PodBuilder().withMetadata(meta.build()).withNewStatus().withPhase("Running").endStatus().build();
        String uid = client.resource(pod).create().getMetadata().getUid();
        if (uid == null) {
            throw new AssertionError("the API server gives every pod a uid");
        }
        Owner owner = Owner.of(EAST, namespace, OwnerKind.POD, name, uid);
        eventually("pod " + namespace + "/" + name + " (" + uid + ") is in the informer's cache", () -> {
            try {
                return kubernetes.liveness().orElseThrow().check(List.of(owner)).toCompletableFuture().get()
                        .get(owner) == OwnerLiveness.OwnerState.RUNNING;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        return uid;
    }

    /** A CNI ADD for the pod, as node-a's endpoint serves it (container {@code c-UID}, interface eth1). */
    CniBackend.Lease cniAdd(String pool, String namespace, String name, String uid) throws Exception {
        var attachment = new CniBackend.Attachment("c-" + uid, "eth1");
        var reservation = cni.reserve(new CniBackend.ReserveRequest(pool, "net", attachment,
                        Optional.of(new CniBackend.PodIdentity(namespace, name, uid)), List.of()))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        return cni.commit(reservation).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    List<Lease> leases(String pool) {
        try {
            return ipam.leases(pool).toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    List<Lease> active(String pool) {
        return leases(pool).stream().filter(l -> l.state() == LeaseState.ACTIVE).toList();
    }

    static void eventually(String what, Supplier<Boolean> condition) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!Boolean.TRUE.equals(condition.get())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    static <T> T await(Supplier<java.util.concurrent.CompletionStage<T>> call) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            try {
                return call.get().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    /** A one-member plan has nobody to talk to. */
    private static final class NoPeers implements PlanTransport {
        @Override
        public void send(ClusterId to, PlanMessage message) {
        }

        @Override
        public void sendToAll(PlanMessage message) {
        }
    }

    private static ActorSystem<Void> oneNodeCluster(Path dir) throws Exception {
        Config config = ConfigFactory.parseString("""
                pekko {
                  loglevel = WARNING
                  loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
                  actor.provider = cluster
                  remote.artery { transport = tcp, canonical { hostname = 127.0.0.1, port = 0 } }
                  cluster.jmx.enabled = off
                  coordinated-shutdown { exit-jvm = off, run-by-jvm-shutdown-hook = off }
                }
                """).withFallback(ConfigFactory.parseMap(Map.of("slick-h2.db.url",
                "jdbc:h2:file:" + dir.resolve("journal").toAbsolutePath() + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE")))
                .withFallback(ConfigFactory.parseResourcesAnySyntax("isthmus-pekko.conf"))
                .withFallback(ConfigFactory.parseResources(io.isthmus.ipam.serialization.IpamSchema.RESOURCE))
                .withFallback(ConfigFactory.defaultReference()).resolve();
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "isthmus", config);
        SchemaUtils.createIfNotExists(system).toCompletableFuture().get(30, TimeUnit.SECONDS);
        Cluster cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (cluster.selfMember().status() != MemberStatus.up()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the node did not come up");
            }
            Thread.sleep(20);
        }
        return system;
    }
}
