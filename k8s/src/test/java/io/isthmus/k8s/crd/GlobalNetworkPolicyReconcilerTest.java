package io.isthmus.k8s.crd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.CustomResourceDefinitionContext;
import io.isthmus.api.ClusterId;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GlobalNetworkPolicyReconciler} against the mock API server (CRUD mode, status subresource) and a hand-written
 * book ({@link FakeBook}) that records every call: one apply per generation, deletion of what the object put in
 * force only, invalid specs refused in Accepted, the versions and other clusters' edits in the status.
 */
class GlobalNetworkPolicyReconcilerTest {
    private static final CustomResourceDefinitionContext POLICIES = new CustomResourceDefinitionContext.Builder()
            .withGroup(IsthmusResources.GROUP).withVersion(IsthmusResources.VERSION).withKind("GlobalNetworkPolicy")
            .withPlural("globalnetworkpolicies").withScope("Cluster").withStatusSubresource(true).build();
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration RESYNC = Duration.ofMillis(300);

    private KubernetesApiMock api;
    private KubernetesClient client;
    private FakeBook book;
    private Controller<String> controller;

    @BeforeEach
    void start() {
        api = KubernetesApiMock.start(List.of(POLICIES));
        client = api.client();
        book = new FakeBook();
        controller = startController();
    }

    private Controller<String> startController() {
        return GlobalNetworkPolicyReconciler.start(client, book, RESYNC, Duration.ofMillis(50), Clock.systemUTC());
    }

    @AfterEach
    void stop() {
        if (controller != null) {
            controller.close();
        }
        api.close();
    }

    @Test
    void appliesEachGenerationOnceWhateverResyncsStatusWritesAndRestartsHappen() throws Exception {
        create("allow-web", 100, 80, null);
        GlobalNetworkPolicy seen = awaitStatus("allow-web", s -> s.observedGeneration() != null
                && condition(s, "InForce") != null && "True".equals(condition(s, "InForce").getStatus()));
        assertEquals(1L, seen.getMetadata().getGeneration());
        assertEquals(1, book.applies.size());
        Condition accepted = condition(seen.getStatus(), "Accepted");
        assertEquals("True", accepted.getStatus());
        assertEquals("Applied", accepted.getReason());
        assertEquals(1L, seen.getStatus().revision());
        assertEquals("east", seen.getStatus().origin());
        assertEquals(book.version(), seen.getStatus().version());
        // The object's text holds what the book reads: apiVersion, kind, name, the whole spec.
        JsonNode sent = new ObjectMapper().readTree(book.applies.getFirst());
        assertEquals(IsthmusResources.API_VERSION, sent.path("apiVersion").asText());
        assertEquals("GlobalNetworkPolicy", sent.path("kind").asText());
        assertEquals("allow-web", sent.path("metadata").path("name").asText());
        assertEquals(List.of("shop"), names(sent.path("spec").path("appliesTo").path("namespaces")));
        assertEquals(List.of("shop/web"), names(sent.path("spec").path("ingress").get(0).path("peers").get(0)
                .path("services")));
        assertEquals(80, sent.path("spec").path("ingress").get(0).path("ports").get(0).path("port").asInt());

        Thread.sleep(RESYNC.multipliedBy(4).toMillis()); // several full resyncs and version polls
        assertEquals(1, book.applies.size(), "a resync or the status write made a new apply");

        edit("allow-web", 200, 443, null);
        GlobalNetworkPolicy edited = awaitStatus("allow-web", s -> Long.valueOf(2).equals(s.observedGeneration())
                && Long.valueOf(2).equals(s.revision()));
        assertEquals(2L, edited.getMetadata().getGeneration());
        assertEquals(2, book.applies.size());

        // A label change is no new generation: nothing applied.
        GlobalNetworkPolicy labelled = client.resources(GlobalNetworkPolicy.class).withName("allow-web").get();
        labelled.getMetadata().setLabels(Map.of("team", "web"));
        client.resource(labelled).update();
        Thread.sleep(RESYNC.multipliedBy(3).toMillis());
        assertEquals(2L, client.resources(GlobalNetworkPolicy.class).withName("allow-web").get().getMetadata().getGeneration());
        assertEquals(2, book.applies.size());

        // A restarted controller remembers nothing but the status: still no new apply.
        controller.close();
        controller = startController();
        Thread.sleep(RESYNC.multipliedBy(4).toMillis());
        assertEquals(2, book.applies.size(), "a restart re-applied an applied generation");
        assertTrue(controller.notReadyReasons().isEmpty(), controller.notReadyReasons().toString());
    }

    @Test
    void identicalSpecInForceWritesNothingAndSaysSo() {
        book.put("shared", 4, WEST, spec(100, 80, null)); // west wrote the very same policy
        create("shared", 100, 80, null);
        GlobalNetworkPolicy seen = awaitStatus("shared", s -> condition(s, "InForce") != null
                && "True".equals(condition(s, "InForce").getStatus()));
        assertEquals(1, book.applies.size());
        assertEquals(0, book.written, "the book wrote a revision for a policy it already held");
        assertEquals(4L, seen.getStatus().revision());
        assertEquals("west", seen.getStatus().origin());
        assertTrue(condition(seen.getStatus(), "Accepted").getMessage().contains("nothing written"));
    }

    @Test
    void deletingTheObjectDeletesThePolicyItPutInForce() {
        create("deny-db", 100, 5432, null);
        awaitStatus("deny-db", s -> Long.valueOf(1).equals(s.revision()));
        client.resources(GlobalNetworkPolicy.class).withName("deny-db").delete();
        await("the tombstone", () -> book.entries.containsKey("deny-db") && book.entries.get("deny-db").spec() == null);
        assertEquals(2L, book.entries.get("deny-db").revision());
        assertEquals(EAST, book.entries.get("deny-db").origin());
        assertEquals(List.of("deny-db"), book.deletes);
    }

    @Test
    void deletingTheObjectLeavesAnotherClustersLaterEdit() throws Exception {
        create("deny-db", 100, 5432, null);
        awaitStatus("deny-db", s -> Long.valueOf(1).equals(s.revision()));
        book.put("deny-db", 2, WEST, spec(100, 6432, null)); // west edited it later
        GlobalNetworkPolicy superseded = awaitStatus("deny-db", s -> condition(s, "InForce") != null
                && "Superseded".equals(condition(s, "InForce").getReason()));
        String message = condition(superseded.getStatus(), "InForce").getMessage();
        assertTrue(message.contains("revision 2 by cluster west"), message);
        assertEquals("west", superseded.getStatus().origin());
        assertEquals(1, book.applies.size(), "another cluster's edit must not make this cluster apply again");

        client.resources(GlobalNetworkPolicy.class).withName("deny-db").delete();
        await("the delete is looked at", () -> book.deletes.contains("deny-db"));
        Thread.sleep(200);
        assertEquals(WEST, book.entries.get("deny-db").origin());
        assertNotNull(book.entries.get("deny-db").spec(), "west's edit was deleted");
    }

    @Test
    void anInvalidSpecIsRefusedNamingTheFieldAndNothingIsApplied() throws Exception {
        create("bad-ports", 100, 8080, 80);
        GlobalNetworkPolicy refused = awaitStatus("bad-ports", s -> condition(s, "Accepted") != null);
        Condition accepted = condition(refused.getStatus(), "Accepted");
        assertEquals("False", accepted.getStatus());
        assertEquals("Invalid", accepted.getReason());
        assertEquals("invalid spec.ingress[0].ports[0].endPort '80': must be 8080..65535 (not below port)",
                accepted.getMessage());
        assertEquals(1L, refused.getStatus().observedGeneration());
        assertEquals("NotInBook", condition(refused.getStatus(), "InForce").getReason());
        assertNull(refused.getStatus().revision());
        assertTrue(book.entries.isEmpty());
        Thread.sleep(RESYNC.multipliedBy(3).toMillis());
        assertEquals(1, book.applies.size(), "a refused generation is not tried again");

        edit("bad-ports", 100, 8080, 8090); // fixed
        GlobalNetworkPolicy fixed = awaitStatus("bad-ports", s -> condition(s, "Accepted") != null
                && "True".equals(condition(s, "Accepted").getStatus()));
        assertEquals(2L, fixed.getStatus().observedGeneration());
        assertEquals(1L, fixed.getStatus().revision());
    }

    @Test
    void theStatusFollowsTheVersionsEachClusterReports() {
        create("allow-web", 100, 80, null);
        awaitStatus("allow-web", s -> s.clusters() != null && s.clusters().size() == 1);
        book.report(WEST, "7:0123456789ab");
        GlobalNetworkPolicy seen = awaitStatus("allow-web", s -> s.clusters() != null && s.clusters().size() == 2);
        assertEquals(List.of(new GlobalNetworkPolicyStatus.ClusterVersion("east", book.version()),
                new GlobalNetworkPolicyStatus.ClusterVersion("west", "7:0123456789ab")), seen.getStatus().clusters());
        assertEquals(book.version(), seen.getStatus().version());
    }

    // ---- helpers ----

    private static List<String> names(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(item -> out.add(item.asText()));
        return out;
    }

    private static GlobalNetworkPolicySpec spec(int order, int port, Integer endPort) {
        var appliesTo = new GlobalNetworkPolicySpec.Peers(null, List.of("shop"), null,
                new LabelSelectorBuilder().addToMatchLabels("app", "web").build(), null, null);
        var from = new GlobalNetworkPolicySpec.Peers(List.of("west"), null, null, null, List.of("shop/web"), null);
        return new GlobalNetworkPolicySpec(order, appliesTo, List.of(new GlobalNetworkPolicySpec.Rule("Allow",
                List.of(from), List.of(new GlobalNetworkPolicySpec.Port("TCP", port, endPort)))), null);
    }

    private void create(String name, int order, int port, Integer endPort) {
        GlobalNetworkPolicy policy = new GlobalNetworkPolicy();
        policy.setMetadata(new ObjectMetaBuilder().withName(name).build());
        policy.setSpec(spec(order, port, endPort));
        client.resource(policy).create();
    }

    private void edit(String name, int order, int port, Integer endPort) {
        GlobalNetworkPolicy policy = client.resources(GlobalNetworkPolicy.class).withName(name).get();
        policy.setSpec(spec(order, port, endPort));
        client.resource(policy).update();
    }

    private static Condition condition(GlobalNetworkPolicyStatus status, String type) {
        return status == null || status.conditions() == null ? null
                : status.conditions().stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    private GlobalNetworkPolicy awaitStatus(String name, java.util.function.Predicate<GlobalNetworkPolicyStatus> done) {
        GlobalNetworkPolicy[] found = new GlobalNetworkPolicy[1];
        await("the status of " + name, () -> {
            GlobalNetworkPolicy policy = client.resources(GlobalNetworkPolicy.class).withName(name).get();
            found[0] = policy;
            return policy != null && policy.getStatus() != null && done.test(policy.getStatus());
        });
        return found[0];
    }

    private static void await(String what, Supplier<Boolean> done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    /**
     * A naive book: per name the latest entry (spec as JSON, or null for a deletion), writes by this cluster one
     * revision on, policies compared as JSON trees. Invalid: an endPort below its port (the real check is the
     * gateway's). Every call recorded.
     */
    static final class FakeBook implements PolicyDocuments {
        record Entry(long revision, ClusterId origin, JsonNode spec) {
        }

        private final ObjectMapper json = new ObjectMapper();
        final Map<String, Entry> entries = new java.util.concurrent.ConcurrentHashMap<>();
        final List<String> applies = new CopyOnWriteArrayList<>();
        final List<String> deletes = new CopyOnWriteArrayList<>();
        final Map<ClusterId, String> reported = new java.util.concurrent.ConcurrentHashMap<>();
        volatile int written;
        private volatile int changes;

        synchronized void put(String name, long revision, ClusterId origin, GlobalNetworkPolicySpec spec) {
            entries.put(name, new Entry(revision, origin, json.valueToTree(spec)));
            changes++;
        }

        void report(ClusterId cluster, String version) {
            reported.put(cluster, version);
        }

        String version() {
            return "book-" + changes;
        }

        private JsonNode specOf(String object) {
            try {
                return json.readTree(object).path("spec");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public synchronized Applied apply(String name, String object) {
            applies.add(object);
            JsonNode spec = specOf(object);
            for (String side : List.of("ingress", "egress")) {
                for (int r = 0; r < spec.path(side).size(); r++) {
                    JsonNode ports = spec.path(side).get(r).path("ports");
                    for (int p = 0; p < ports.size(); p++) {
                        JsonNode port = ports.get(p);
                        if (port.has("endPort") && port.path("endPort").asInt() < port.path("port").asInt()) {
                            return new Invalid("invalid spec." + side + "[" + r + "].ports[" + p + "].endPort '"
                                    + port.path("endPort").asInt() + "': must be " + port.path("port").asInt()
                                    + "..65535 (not below port)");
                        }
                    }
                }
            }
            Entry held = entries.get(name);
            if (held != null && spec.equals(held.spec())) {
                return new Unchanged(held.revision(), held.origin());
            }
            long revision = held == null ? 1 : held.revision() + 1;
            entries.put(name, new Entry(revision, ClusterId.of("east"), spec));
            written++;
            changes++;
            return new Written(revision);
        }

        @Override
        public synchronized Optional<Long> delete(String name, String object) {
            deletes.add(name);
            Entry held = entries.get(name);
            if (held == null || !specOf(object).equals(held.spec())) {
                return Optional.empty();
            }
            entries.put(name, new Entry(held.revision() + 1, ClusterId.of("east"), null));
            changes++;
            return Optional.of(held.revision() + 1);
        }

        @Override
        public synchronized Standing standing(String name, String object) {
            Entry held = entries.get(name);
            Map<ClusterId, String> clusters = new HashMap<>(reported);
            clusters.put(ClusterId.of("east"), version());
            return new Standing(Optional.ofNullable(held).map(e -> new PolicyDocuments.Entry(e.revision(), e.origin(),
                    e.spec() == null)), held != null && held.spec() != null && specOf(object).equals(held.spec()),
                    version(), clusters);
        }

        @Override
        public String versionStamp() {
            return version() + " " + new java.util.TreeMap<>(reported);
        }
    }
}
