package io.isthmus.gateway.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.k8s.crd.GlobalNetworkPolicy;
import io.isthmus.k8s.crd.GlobalNetworkPolicySpec;
import io.isthmus.k8s.crd.GlobalNetworkPolicyStatus;
import io.isthmus.k8s.crd.IsthmusResources;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real gateway (east) with {@code kubernetes.policies} on (the default) against its API server (fabric8's mock in
 * CRUD mode): a GlobalNetworkPolicy object becomes east's edit of the policy book (the admin API shows it with
 * origin east), a spec edit makes one new revision, an edit that leaves the policy as it is makes none, the status
 * carries the version east enforces, an invalid spec is refused naming the field and value and changes nothing, and
 * deleting the object deletes the policy. The API server's pod and namespace labels decide selectors.
 */
class KubernetesPoliciesTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CustomResourceDefinitionContext POLICIES = new CustomResourceDefinitionContext.Builder()
            .withGroup(IsthmusResources.GROUP).withVersion(IsthmusResources.VERSION).withKind("GlobalNetworkPolicy")
            .withPlural("globalnetworkpolicies").withScope("Cluster").withStatusSubresource(true).build();
    private static final CustomResourceDefinitionContext CLUSTER_PEERS = new CustomResourceDefinitionContext.Builder()
            .withGroup(IsthmusResources.GROUP).withVersion(IsthmusResources.VERSION).withKind("ClusterPeer")
            .withPlural("clusterpeers").withScope("Cluster").withStatusSubresource(true).build();

    @TempDir
    Path dir;
    private KubernetesApiMock api;
    private Gateway east;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeEach
    void start() {
        api = KubernetesApiMock.start(List.of(POLICIES, CLUSTER_PEERS));
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        Path data = dir.resolve("east");
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(data.resolve("tls"));
        // The client opens for the ClusterPeers; policies = on is the default.
        east = TestGateways.start("east", data, data, "kubernetes { peers = on, master-url = \"" + api.url()
                + "\", resync-interval = 1s }");
    }

    @AfterEach
    void stop() {
        if (east != null) {
            east.close();
        }
        api.close();
        http.close();
    }

    @Test
    void anObjectIsThisClustersEditOfTheBookOncePerGenerationAndDeletingItDeletesThePolicy() throws Exception {
        create("allow-web", spec(null, 80, null));
        JsonNode held = awaitJson("allow-web in the book", () -> get("api/v1/policies/allow-web"),
                policy -> policy.path("status").path("revision").asInt() == 1);
        assertEquals("east", held.path("status").path("origin").asText());
        assertEquals(List.of("shop"), List.of(held.path("spec").path("appliesTo").path("namespaces").get(0).asText()));
        assertEquals("shop/web", held.path("spec").path("ingress").get(0).path("peers").get(0).path("services").get(0)
                .asText());
        assertEquals("web", held.path("spec").path("appliesTo").path("podSelector").path("matchLabels").path("app")
                .asText());

        GlobalNetworkPolicy inForce = awaitStatus("allow-web", s -> "True".equals(status(s, "InForce"))
                && bookVersion().equals(s.version()));
        assertEquals(1L, inForce.getStatus().revision());
        assertEquals("east", inForce.getStatus().origin());
        assertEquals(List.of(new GlobalNetworkPolicyStatus.ClusterVersion("east", bookVersion())),
                inForce.getStatus().clusters());
        assertTrue(bookVersion().startsWith("1:"), bookVersion());

        // A spec edit: one new revision, the status follows.
        edit("allow-web", spec(null, 443, null));
        awaitJson("revision 2", () -> get("api/v1/policies/allow-web"),
                policy -> policy.path("status").path("revision").asInt() == 2
                        && policy.path("spec").path("ingress").get(0).path("ports").get(0).path("port").asInt() == 443);
        GlobalNetworkPolicy second = awaitStatus("allow-web", s -> Long.valueOf(2).equals(s.revision())
                && bookVersion().equals(s.version()) && Long.valueOf(2).equals(s.observedGeneration()));
        assertEquals(2L, second.getMetadata().getGeneration());

        // A new generation whose policy is the one in force (order 1000 is the default): nothing written.
        String before = bookVersion();
        edit("allow-web", spec(1000, 443, null));
        GlobalNetworkPolicy same = awaitStatus("allow-web", s -> Long.valueOf(3).equals(s.observedGeneration()));
        assertTrue(condition(same.getStatus(), "Accepted").getMessage().contains("nothing written"),
                condition(same.getStatus(), "Accepted").getMessage());
        Thread.sleep(2_500); // two resyncs
        assertEquals(2, get("api/v1/policies/allow-web").path("status").path("revision").asInt());
        assertEquals(before, bookVersion());

        // Deleting the object deletes the policy.
        api.client().resources(GlobalNetworkPolicy.class).withName("allow-web").delete();
        awaitJson("the policy deleted", () -> JSON.createObjectNode().put("code", code("api/v1/policies/allow-web")),
                answer -> answer.path("code").asInt() == 404);
        assertTrue(bookVersion().startsWith("0:"), bookVersion());
    }

    @Test
    void anInvalidSpecIsRefusedNamingTheFieldAndValueAndNothingIsWritten() throws Exception {
        String before = bookVersion();
        create("bad-ports", spec(null, 443, 80));
        GlobalNetworkPolicy refused = awaitStatus("bad-ports", s -> status(s, "Accepted") != null);
        Condition accepted = condition(refused.getStatus(), "Accepted");
        assertEquals("False", accepted.getStatus());
        assertEquals("Invalid", accepted.getReason());
        assertTrue(accepted.getMessage().contains("spec.ingress[0].ports[0].endPort '80'"), accepted.getMessage());
        assertEquals("NotInBook", condition(refused.getStatus(), "InForce").getReason());
        assertNull(refused.getStatus().revision());
        assertEquals(404, code("api/v1/policies/bad-ports"));
        assertEquals(before, bookVersion());
    }

    @Test
    void podAndNamespaceLabelsFromTheApiServerDecideSelectorsAndNameThePodInExplain() throws Exception {
        api.client().namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder().withNewMetadata()
                .withName("shop").addToLabels("team", "payments").endMetadata().build()).create();
        api.client().pods().inNamespace("shop").resource(new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata().withName("web-1").withNamespace("shop").addToLabels("app", "web").endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("x").endContainer().endSpec()
                .withNewStatus().withPhase("Running").withPodIP("10.1.0.5").addNewPodIP("10.1.0.5").endStatus().build())
                .create();
        GlobalNetworkPolicy policy = new GlobalNetworkPolicy();
        policy.setMetadata(new ObjectMetaBuilder().withName("web-no-plain-http").build());
        var web = new GlobalNetworkPolicySpec.Peers(null, null,
                new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("team", "payments").build(),
                new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", "web").build(),
                null, null);
        policy.setSpec(new GlobalNetworkPolicySpec(null, web, List.of(), List.of(new GlobalNetworkPolicySpec.Rule("Deny",
                List.of(), List.of(new GlobalNetworkPolicySpec.Port("TCP", 80, null))))));
        api.client().resource(policy).create();

        JsonNode byAddress = awaitJson("the pod's labels in the identities",
                () -> get("api/v1/explain?from=10.1.0.5&to=192.0.2.1&protocol=TCP&port=80"),
                answer -> answer.path("egress").path("rule").asText().equals("web-no-plain-http spec.egress[0]"));
        assertTrue(!byAddress.path("allowed").asBoolean(), byAddress.toString());
        JsonNode byName = get("api/v1/explain?from=east/shop/web-1&to=192.0.2.1&protocol=TCP&port=80");
        assertEquals("10.1.0.5", byName.path("from").path("address").asText(), byName.toString());
        assertEquals("web-no-plain-http spec.egress[0]", byName.path("egress").path("rule").asText());

        // Relabelled: the selector no longer matches, the default decides.
        var pod = api.client().pods().inNamespace("shop").withName("web-1").get();
        pod.getMetadata().getLabels().put("app", "batch");
        api.client().resource(pod).update();
        awaitJson("the new labels in the identities",
                () -> get("api/v1/explain?from=10.1.0.5&to=192.0.2.1&protocol=TCP&port=80"),
                answer -> answer.path("egress").path("rule").isMissingNode() && answer.path("allowed").asBoolean());
    }

    // ---- helpers ----

    private static GlobalNetworkPolicySpec spec(Integer order, int port, Integer endPort) {
        var appliesTo = new GlobalNetworkPolicySpec.Peers(null, List.of("shop"), null,
                new io.fabric8.kubernetes.api.model.LabelSelectorBuilder().addToMatchLabels("app", "web").build(),
                null, null);
        var from = new GlobalNetworkPolicySpec.Peers(List.of("west"), null, null, null, List.of("shop/web"), null);
        return new GlobalNetworkPolicySpec(order, appliesTo, List.of(new GlobalNetworkPolicySpec.Rule("Allow",
                List.of(from), List.of(new GlobalNetworkPolicySpec.Port("TCP", port, endPort)))), null);
    }

    private void create(String name, GlobalNetworkPolicySpec spec) {
        GlobalNetworkPolicy policy = new GlobalNetworkPolicy();
        policy.setMetadata(new ObjectMetaBuilder().withName(name).build());
        policy.setSpec(spec);
        api.client().resource(policy).create();
    }

    private void edit(String name, GlobalNetworkPolicySpec spec) {
        GlobalNetworkPolicy policy = api.client().resources(GlobalNetworkPolicy.class).withName(name).get();
        policy.setSpec(spec);
        api.client().resource(policy).update();
    }

    private static Condition condition(GlobalNetworkPolicyStatus status, String type) {
        return status == null || status.conditions() == null ? null
                : status.conditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    private static String status(GlobalNetworkPolicyStatus status, String type) {
        Condition condition = condition(status, type);
        return condition == null ? null : condition.getStatus();
    }

    private String bookVersion() {
        return get("api/v1/policies").path("version").asText();
    }

    private GlobalNetworkPolicy awaitStatus(String name, Predicate<GlobalNetworkPolicyStatus> done) {
        GlobalNetworkPolicy[] found = new GlobalNetworkPolicy[1];
        await("the status of " + name, () -> {
            found[0] = api.client().resources(GlobalNetworkPolicy.class).withName(name).get();
            return found[0] != null && found[0].getStatus() != null && done.test(found[0].getStatus());
        });
        return found[0];
    }

    private static JsonNode awaitJson(String what, Supplier<JsonNode> read, Predicate<JsonNode> done) {
        JsonNode[] last = new JsonNode[1];
        await(what, () -> {
            last[0] = read.get();
            return done.test(last[0]);
        });
        return last[0];
    }

    private static void await(String what, Supplier<Boolean> done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private HttpResponse<String> send(String path) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + east.adminAddress().getPort()
                    + "/" + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError("GET " + path + ": " + e, e);
        }
    }

    private JsonNode get(String path) {
        HttpResponse<String> response = send(path);
        try {
            return response.statusCode() == 200 ? JSON.readTree(response.body()) : JSON.createObjectNode();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private int code(String path) {
        return send(path).statusCode();
    }
}
