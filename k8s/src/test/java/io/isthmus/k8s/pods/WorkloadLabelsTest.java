package io.isthmus.k8s.pods;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WorkloadLabels} against the mock API server (CRUD mode). */
class WorkloadLabelsTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private KubernetesApiMock api;
    private KubernetesClient client;
    private WorkloadLabels labels;

    @BeforeEach
    void start() {
        api = KubernetesApiMock.start(List.of());
        client = api.client();
    }

    @AfterEach
    void stop() {
        if (labels != null) {
            labels.close();
        }
        api.close();
    }

    @Test
    void podsByAddressWithTheirLabelsAndNamespacesWithTheirs() throws Exception {
        namespace("shop", Map.of("team", "web"));
        pod("shop", "web-1", "Running", false, Map.of("app", "web"), "10.1.0.5", "fd00::5");
        pod("shop", "cart-1", "Pending", false, Map.of("app", "cart"), "10.1.0.6");
        pod("shop", "no-ip-yet", "Pending", false, Map.of("app", "cart"));
        pod("shop", "job", "Succeeded", false, Map.of("app", "job"), "10.1.0.7");
        pod("kube-system", "proxy", "Running", true, Map.of("app", "proxy"), "192.168.1.10");
        labels = WorkloadLabels.start(client, Duration.ZERO);

        WorkloadLabels.Snapshot first = await(s -> s.pods().size() == 3);
        assertEquals(Map.of(
                        ip("10.1.0.5"), new WorkloadLabels.LabelledPod("shop", "web-1", Map.of("app", "web")),
                        ip("fd00::5"), new WorkloadLabels.LabelledPod("shop", "web-1", Map.of("app", "web")),
                        ip("10.1.0.6"), new WorkloadLabels.LabelledPod("shop", "cart-1", Map.of("app", "cart"))),
                first.pods(), "finished and host-network pods are left out");
        assertEquals(Map.of("shop", Map.of("team", "web")), first.namespaces());
        await(s -> labels.notReadyReasons().isEmpty()); // listed, and the watches open
        assertSame(first, labels.snapshot(), "nothing changed: the same snapshot, the same version");

        // A pod's labels change; the version moves once.
        Pod web = client.pods().inNamespace("shop").withName("web-1").get();
        web.getMetadata().setLabels(Map.of("app", "web", "tier", "front"));
        client.resource(web).update();
        WorkloadLabels.Snapshot relabelled = await(s -> s.pods().get(ip("10.1.0.5")).labels().containsKey("tier"));
        assertEquals(first.version() + 1, relabelled.version());

        // An update that changes nothing in what is kept (an annotation) keeps the version.
        Pod annotated = client.pods().inNamespace("shop").withName("cart-1").get();
        annotated.getMetadata().setAnnotations(Map.of("note", "x"));
        client.resource(annotated).update();
        Thread.sleep(300);
        assertEquals(relabelled.version(), labels.snapshot().version());

        // Namespace labels change; a namespace appears.
        var shop = client.namespaces().withName("shop").get();
        shop.getMetadata().setLabels(Map.of("team", "checkout"));
        client.resource(shop).update();
        namespace("db", Map.of());
        WorkloadLabels.Snapshot namespaces = await(s -> s.namespaces().size() == 2
                && "checkout".equals(s.namespaces().get("shop").get("team")));
        assertEquals(Map.of("shop", Map.of("team", "checkout"), "db", Map.of()), namespaces.namespaces());

        // Deleted pods are gone.
        client.pods().inNamespace("shop").withName("web-1").delete();
        WorkloadLabels.Snapshot deleted = await(s -> !s.pods().containsKey(ip("10.1.0.5")));
        assertEquals(Map.of(ip("10.1.0.6"), new WorkloadLabels.LabelledPod("shop", "cart-1", Map.of("app", "cart"))),
                deleted.pods());
        assertTrue(deleted.version() > namespaces.version());
    }

    @Test
    void aPodThatFinishesLeavesAndItsAddressWithIt() {
        pod("shop", "web-1", "Running", false, Map.of("app", "web"), "10.1.0.5");
        labels = WorkloadLabels.start(client, Duration.ZERO);
        WorkloadLabels.Snapshot listed = await(s -> s.pods().size() == 1);
        assertTrue(listed.version() >= 1);
        Pod web = client.pods().inNamespace("shop").withName("web-1").get();
        web.getStatus().setPhase("Failed");
        client.resource(web).updateStatus();
        await(s -> s.pods().isEmpty());
    }

    // ---- helpers ----

    private static InetAddress ip(String literal) {
        return InetAddress.ofLiteral(literal);
    }

    private void namespace(String name, Map<String, String> labels) {
        client.resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata().build())
                .create();
    }

    private void pod(String namespace, String name, String phase, boolean hostNetwork, Map<String, String> labels,
                     String... ips) {
        PodBuilder pod = new PodBuilder().withNewMetadata().withNamespace(namespace).withName(name).withLabels(labels)
                .endMetadata().withNewSpec().withHostNetwork(hostNetwork).endSpec().withNewStatus().withPhase(phase)
                .endStatus();
        if (ips.length > 0) {
            pod.editStatus().withPodIP(ips[0]).endStatus();
            for (String ip : ips) {
                pod.editStatus().addNewPodIP().withIp(ip).endPodIP().endStatus();
            }
        }
        client.resource(pod.build()).create();
    }

    private WorkloadLabels.Snapshot await(Predicate<WorkloadLabels.Snapshot> done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            WorkloadLabels.Snapshot snapshot = labels.snapshot();
            if (done.test(snapshot)) {
                return snapshot;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out; the last snapshot: " + snapshot);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }
}
