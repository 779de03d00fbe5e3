package io.isthmus.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.gateway.pki.ClustersetCa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real gateways peered over mutual TLS (east, west, north): a policy applied through one cluster's admin API
 * is held by all three at the same version, deletions travel, a bad policy changes nothing, and after a partition
 * two concurrent edits of one policy resolve the same way everywhere (to the greater cluster id's), with the book
 * kept across a restart.
 */
class PolicyDistributionTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DENY_DB = """
            {"apiVersion": "isthmus.io/v1alpha1", "kind": "GlobalNetworkPolicy", "metadata": {"name": "deny-db"},
             "spec": {"order": 10, "appliesTo": {"namespaces": ["db"]}, "ingress": [{"action": "Deny"}]}}
            """;

    @TempDir
    Path dir;
    private final List<Gateway> running = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AfterEach
    void stop() {
        running.reversed().forEach(Gateway::close);
        http.close();
    }

    @Test
    void aPolicyAppliedInOneClusterIsHeldByAllThreeAtTheSameVersionWithinTwoSeconds() throws Exception {
        Gateway east = start("east", List.of());
        Gateway west = start("west", List.of(east));
        Gateway north = start("north", List.of(east, west));
        awaitTrue("every link up", Duration.ofSeconds(30), () -> linked(east, 2) && linked(west, 2) && linked(north, 2));

        long started = System.nanoTime();
        JsonNode applied = post(east, "api/v1/policies", DENY_DB, 200);
        String version = applied.path("version").asText();
        assertEquals("1:", version.substring(0, 2));
        awaitTrue("west and north hold " + version, Duration.ofSeconds(2),
                () -> version(west).equals(version) && version(north).equals(version));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        System.out.println("policy held by all three clusters " + took.toMillis() + " ms after it was applied");

        JsonNode atNorth = get(north, "api/v1/policies/deny-db", 200);
        assertEquals("east", atNorth.path("status").path("origin").asText());
        assertEquals(1, atNorth.path("status").path("revision").asInt());
        assertEquals("Deny", atNorth.path("spec").path("ingress").get(0).path("action").asText());
        awaitTrue("east hears both peers' versions", Duration.ofSeconds(5), () -> {
            JsonNode peers = status(east).path("peers");
            return version.equals(peers.path("west").asText()) && version.equals(peers.path("north").asText());
        });

        // The same policy again changes nothing; a deletion at another cluster travels.
        assertEquals("deny-db", post(east, "api/v1/policies", DENY_DB, 200).path("unchanged").get(0).asText());
        JsonNode deleted = delete(west, "api/v1/policies/deny-db", 200);
        assertEquals(2, deleted.path("revision").asInt());
        awaitTrue("deleted everywhere", Duration.ofSeconds(2),
                () -> version(east).startsWith("0:") && version(north).equals(version(west)) && version(east).equals(version(west)));
        get(north, "api/v1/policies/deny-db", 404);
    }

    @Test
    void aBadPolicyIsRefusedNamingTheFieldAndChangesNothing() throws Exception {
        Gateway east = start("east", List.of());
        String before = version(east);
        JsonNode refused = post(east, "api/v1/policies", """
                {"items": [
                  {"metadata": {"name": "fine"}, "spec": {"appliesTo": {}}},
                  {"metadata": {"name": "broken"}, "spec": {"appliesTo": {}, "ingress": [{"action": "Allow",
                    "ports": [{"port": 443, "endPort": 80}]}]}}]}
                """, 400);
        assertEquals("items[1].spec.ingress[0].ports[0].endPort", refused.path("field").asText());
        assertEquals("80", refused.path("value").asText());
        assertEquals(before, version(east));
        get(east, "api/v1/policies/fine", 404); // all or none
    }

    @Test
    void concurrentEditsDuringAPartitionResolveToTheGreaterClusterIdEverywhereAfterItHeals() throws Exception {
        Gateway east = start("east", List.of());
        Gateway north = start("north", List.of(east));
        Gateway west = start("west", List.of()); // partitioned: nobody dials it, it dials nobody
        awaitTrue("east and north linked", Duration.ofSeconds(30), () -> linked(east, 1) && linked(north, 1));

        post(east, "api/v1/policies", DENY_DB.replace("\"order\": 10", "\"order\": 20"), 200);
        post(west, "api/v1/policies", DENY_DB.replace("\"order\": 10", "\"order\": 30"), 200);
        awaitTrue("north holds east's edit", Duration.ofSeconds(2), () -> version(north).equals(version(east)));
        assertEquals(20, get(north, "api/v1/policies/deny-db", 200).path("spec").path("order").asInt());

        // Heal: west restarts (its book read back from its data dir) and dials both.
        west.close();
        running.remove(west);
        Gateway healed = start("west", List.of(east, north));
        assertEquals(30, get(healed, "api/v1/policies/deny-db", 200).path("spec").path("order").asInt(),
                "west kept its own edit across the restart");
        awaitTrue("all three converge", Duration.ofSeconds(10),
                () -> version(east).equals(version(healed)) && version(north).equals(version(healed)));
        for (Gateway gateway : List.of(east, north, healed)) {
            JsonNode policy = get(gateway, "api/v1/policies/deny-db", 200);
            assertEquals(30, policy.path("spec").path("order").asInt(), "west > east: west's edit of revision 1 wins");
            assertEquals("west", policy.path("status").path("origin").asText());
        }
    }

    // --- the clusters ---

    private Gateway start(String cluster, List<Gateway> dial) {
        ClustersetCa ca = dir.resolve("ca").toFile().exists() ? ClustersetCa.load(dir.resolve("ca"))
                : ClustersetCa.init(dir.resolve("ca"));
        Path data = dir.resolve(cluster);
        if (!data.resolve("tls").toFile().exists()) {
            ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(data.resolve("tls"));
        }
        StringBuilder peers = new StringBuilder();
        for (Gateway gateway : dial) {
            peers.append(peers.isEmpty() ? "" : ", ").append("\"127.0.0.1:").append(gateway.peeringAddress().getPort()).append('"');
        }
        Gateway gateway = TestGateways.start(cluster, data, data,
                "peering { peers = [" + peers + "], reconnect-max-backoff = 1s }");
        running.add(gateway);
        return gateway;
    }

    private static boolean linked(Gateway gateway, int peers) {
        return gateway.mesh() != null && gateway.mesh().links().values().stream()
                .filter(l -> l.state() == io.isthmus.gateway.peering.LinkState.UP)
                .map(l -> l.remote()).distinct().count() >= peers;
    }

    private String version(Gateway gateway) {
        return status(gateway).path("version").asText();
    }

    private JsonNode status(Gateway gateway) {
        try {
            return get(gateway, "api/v1/status", 200).path("policy");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private JsonNode get(Gateway gateway, String path, int expected) throws Exception {
        return send(HttpRequest.newBuilder(uri(gateway, path)).GET().build(), expected);
    }

    private JsonNode post(Gateway gateway, String path, String body, int expected) throws Exception {
        return send(HttpRequest.newBuilder(uri(gateway, path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), expected);
    }

    private JsonNode delete(Gateway gateway, String path, int expected) throws Exception {
        return send(HttpRequest.newBuilder(uri(gateway, path)).DELETE().build(), expected);
    }

    private JsonNode send(HttpRequest request, int expected) throws Exception {
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(expected, response.statusCode(), request.method() + " " + request.uri() + ": " + response.body());
        return JSON.readTree(response.body());
    }

    private static URI uri(Gateway gateway, String path) {
        return URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + "/" + path);
    }

    private static void awaitTrue(String what, Duration patience, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + patience.toMillis() + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }
}
