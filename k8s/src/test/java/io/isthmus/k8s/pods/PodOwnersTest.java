package io.isthmus.k8s.pods;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.apps.StatefulSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PodOwners} against fabric8's mock API server in CRUD mode. */
class PodOwnersTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private KubernetesMockServer server;
    private KubernetesClient client;
    private PodOwners owners;

    @BeforeEach
    void start() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        if (owners != null) {
            owners.close();
        }
        client.close();
        server.destroy();
    }

    @Test
    void answersForPodsAndStatefulSetPodsAndLeavesOutWhatItCannotKnow() throws Exception {
        client.resource(new StatefulSetBuilder().withNewMetadata().withNamespace("db").withName("pg").endMetadata()
                .withNewSpec().withReplicas(2).withNewOrdinals(5).endSpec().build()).create();
        String web = pod("shop", "web", "Running", null);
        String job = pod("shop", "job", "Succeeded", null);
        String pg5 = pod("db", "pg-5", "Running", "pg");
        owners = PodOwners.start(client, Duration.ZERO);
        eventually(owners::inSync);

        Owner webNow = Owner.of(EAST, "shop", OwnerKind.POD, "web", web);
        Owner webBefore = Owner.of(EAST, "shop", OwnerKind.POD, "web", "an-older-uid");
        Owner finished = Owner.of(EAST, "shop", OwnerKind.POD, "job", job);
        Owner deleted = Owner.of(EAST, "shop", OwnerKind.POD, "gone", "uid-gone");
        Owner noUid = Owner.of(EAST, "cni", OwnerKind.POD, "c0ffee", "");
        Owner pg5Now = Owner.of(EAST, "db", OwnerKind.STATEFUL_POD, "pg-5", pg5);
        Owner pg5Before = Owner.of(EAST, "db", OwnerKind.STATEFUL_POD, "pg-5", "an-older-uid");
        Owner pg6Away = Owner.of(EAST, "db", OwnerKind.STATEFUL_POD, "pg-6", "uid-pg-6");
        Owner pg7 = Owner.of(EAST, "db", OwnerKind.STATEFUL_POD, "pg-7", "uid-pg-7");
        Owner pg4 = Owner.of(EAST, "db", OwnerKind.STATEFUL_POD, "pg-4", "uid-pg-4");
        Owner vm = Owner.of(EAST, "vms", OwnerKind.VIRTUAL_MACHINE, "vm1", "i-1");

        Map<Owner, PodOwners.Presence> answer = owners.check(List.of(webNow, webBefore, finished, deleted, noUid,
                pg5Now, pg5Before, pg6Away, pg7, pg4, vm));
        assertEquals(Map.of(webNow, PodOwners.Presence.RUNNING, webBefore, PodOwners.Presence.GONE,
                finished, PodOwners.Presence.GONE, deleted, PodOwners.Presence.GONE,
                pg5Now, PodOwners.Presence.RUNNING, pg5Before, PodOwners.Presence.IDENTITY_KEPT,
                pg6Away, PodOwners.Presence.IDENTITY_KEPT, // ordinals 5 and 6 wanted (start 5, 2 replicas), no pod yet
                pg7, PodOwners.Presence.GONE, pg4, PodOwners.Presence.GONE), answer,
                "no answer for owners without uid or VMs: they are never reclaimed");
        assertEquals(Optional.of(OwnerKind.STATEFUL_POD), owners.kindOf("db", "pg-5"));
        assertEquals(Optional.of(OwnerKind.POD), owners.kindOf("shop", "web"));
        assertEquals(Optional.empty(), owners.kindOf("shop", "not-there"));
    }

    @Test
    void answersNothingWhileTheApiServerIsAway() throws Exception {
        String web = pod("shop", "web", "Running", null);
        owners = PodOwners.start(client, Duration.ZERO);
        eventually(owners::inSync);
        Owner running = Owner.of(EAST, "shop", OwnerKind.POD, "web", web);
        Owner gone = Owner.of(EAST, "shop", OwnerKind.POD, "gone", "uid-gone");
        assertEquals(Map.of(running, PodOwners.Presence.RUNNING, gone, PodOwners.Presence.GONE),
                owners.check(List.of(running, gone)));

        server.destroy(); // the watch drops; the informer retries and is not in sync meanwhile
        eventually(() -> !owners.inSync());
        assertEquals(Map.of(), owners.check(List.of(running, gone)), "a stale cache must not make owners look gone");
    }

    @Test
    void startsWhileTheApiServerIsAwayAndSyncsOnceItIsThere() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
            port = free.getLocalPort();
        }
        KubernetesClient early = new io.fabric8.kubernetes.client.KubernetesClientBuilder().withConfig(
                new io.fabric8.kubernetes.client.ConfigBuilder(client.getConfiguration())
                        .withMasterUrl("http://127.0.0.1:" + port).build()).build();
        try {
            owners = PodOwners.start(early, Duration.ZERO);
            Owner someone = Owner.of(EAST, "shop", OwnerKind.POD, "web", "uid-web");
            Thread.sleep(1000);
            assertEquals(Map.of(), owners.check(List.of(someone)), "nothing known, nothing answered");

            KubernetesMockServer late = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                    new KubernetesCrudDispatcher(List.of()), false);
            late.init(InetAddress.getLoopbackAddress(), port);
            try {
                eventually(owners::inSync);
                assertEquals(Map.of(someone, PodOwners.Presence.GONE), owners.check(List.of(someone)));
            } finally {
                owners.close();
                owners = null;
                late.destroy();
            }
        } finally {
            early.close();
        }
    }

    private String pod(String namespace, String name, String phase, String statefulSet) {
        var meta = new ObjectMetaBuilder().withNamespace(namespace).withName(name);
        if (statefulSet != null) {
            meta.withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("apps/v1").withKind("StatefulSet")
                    .withName(statefulSet).withUid("uid-" + statefulSet).withController(true).build());
        }
        Pod pod = new PodBuilder().withMetadata(meta.build()).withNewStatus().withPhase(phase).endStatus().build();
        return client.resource(pod).create().getMetadata().getUid();
    }

    private static void eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within 30 s");
            Thread.sleep(50);
        }
    }
}
