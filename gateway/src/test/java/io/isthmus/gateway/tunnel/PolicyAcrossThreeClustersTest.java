package io.isthmus.gateway.tunnel;

import static io.isthmus.gateway.tunnel.GatewayTunnels.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.tunnel.DropReason;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Needs root. One GlobalNetworkPolicy across three clusters (east, west, north: real gateways, tunnels in gateway
 * namespaces on one underlay, a pod behind each, {@link ThreeGatewayTunnel}). Each pod answers UDP on 7007 and 7008;
 * the flows probed go around the ring, west → east, north → west, east → north, so every gateway sends and receives.
 *
 * <ol>
 *   <li>A policy written at west that closes UDP 7008 to every cluster's pods is enforced in all three tunnels within
 *       2 s (the time is printed); 7008 is blocked on every flow, dropped at the sending gateway and counted there
 *       on the policy's rule ({@code isthmus_policy_rule_packets_total} on /metrics), 7007 passes.</li>
 *   <li>An update written at north (close 7007 instead) flips every flow within 2 s, on the same tunnel sessions
 *       (no handshake: the epochs stay).</li>
 *   <li>North is partitioned (its peering streams cut, its underlay port down) and east writes another update
 *       (7008 closed again): east and west enforce it, north keeps its last version (its status, and the explain API
 *       on its admin port, still decide the old way).</li>
 *   <li>The underlay heals first, the peering not yet: west now sends 7007 to north, and north drops it (counted at
 *       north: it still decides by its old version).</li>
 *   <li>The peering heals: north converges on the new version (time printed) and the flows to it follow it.</li>
 * </ol>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyAcrossThreeClustersTest {
    private static final int EAST = 0;
    private static final int WEST = 1;
    private static final int NORTH = 2;
    /** The probed flows, {from, to}: around the ring. */
    private static final int[][] RING = {{WEST, EAST}, {NORTH, WEST}, {EAST, NORTH}};
    private static final String CLOSE_PORT = """
            {"metadata": {"name": "closed-port"}, "spec": {"appliesTo": {"clusters": ["east", "west", "north"]},
             "ingress": [{"action": "Deny", "ports": [{"protocol": "UDP", "port": %d}]}]}}
            """;
    private static final Duration CLOSED_WAIT = Duration.ofMillis(700);
    private static final Pattern RULE_PACKETS = Pattern.compile(
            "^isthmus_policy_rule_packets_total\\{policy=\"closed-port\",rule=\"spec\\.ingress\\[0]\"} (\\d+)$",
            Pattern.MULTILINE);

    private ThreeGatewayTunnel clusters;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final JsonMapper json = JsonMapper.builder().build();

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        clusters = new ThreeGatewayTunnel(dir, "10.161", """
                plan {
                  members = [east, west, north]
                  supernets.pod = [{cidr = "10.161.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
        for (int i = 0; i < 3; i++) {
            clusters.gateway(i).addressPlan().claim("pod", clusters.podNetwork(i) + ".0/24").toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
        }
        for (int i = 0; i < 3; i++) {
            clusters.echo(clusters.pods.get(i), clusters.pod(i), 7007, false);
            clusters.echo(clusters.pods.get(i), clusters.pod(i), 7008, false);
        }
    }

    @AfterAll
    void stop() {
        http.close();
        if (clusters != null) {
            clusters.close();
        }
    }

    @Test
    void onePolicyIsEnforcedInAllThreeClustersUpdatedOnLiveSessionsAndKeptThroughAPartition() throws Exception {
        for (int[] flow : RING) {
            assertOpen(flow[0], flow[1], 7007, Duration.ofSeconds(40));
            assertOpen(flow[0], flow[1], 7008, Duration.ofSeconds(5));
        }
        for (int i = 0; i < 3; i++) {
            String metrics = metrics(clusters.gateway(i));
            assertTrue(metrics.contains("\nisthmus_tunnel_conntrack_capacity 65536\n"), metrics);
            assertTrue(gauge(metrics, "isthmus_tunnel_conntrack_entries") >= 1, "the flows allowed are tracked");
        }

        // The first request to an admin API loads and compiles its classes (up to a second on a busy host): warm the
        // policy path with a document it refuses, so that what is timed below is the policy's way to the tunnels.
        for (int i = 0; i < 3; i++) {
            assertEquals(400, send(clusters.gateway(i), "{\"metadata\": {\"name\": \"Not A Name\"}}").statusCode());
        }

        // 1. written at west, enforced by all three within 2 s
        String initial = enforced(EAST);
        long applied = System.nanoTime();
        post(clusters.gateway(WEST), CLOSE_PORT.formatted(7008));
        long accepted = millisSince(applied);
        awaitTrue("all three tunnels enforce the policy written at west", Duration.ofSeconds(2), () ->
                !enforced(EAST).equals(initial) && !enforced(WEST).equals(initial) && !enforced(NORTH).equals(initial)
                        && enforced(EAST).equals(enforced(WEST)) && enforced(WEST).equals(enforced(NORTH)));
        System.out.println("policy written at west enforced in all three tunnels " + millisSince(applied)
                + " ms later (the POST answered after " + accepted + " ms): " + enforced(NORTH));
        String closes7008 = enforced(WEST);
        for (int[] flow : RING) {
            long denied = policyDrops(flow[0], flow[1]);
            awaitClosed(flow[0], flow[1], 7008, Duration.ofSeconds(2));
            assertTrue(policyDrops(flow[0], flow[1]) > denied, "dropped at the sender, " + name(flow[0]) + ": "
                    + clusters.state());
            assertTrue(rulePackets(clusters.gateway(flow[0])) >= 1, "counted on closed-port spec.ingress[0] at "
                    + name(flow[0]) + ":\n" + metrics(clusters.gateway(flow[0])));
            assertOpen(flow[0], flow[1], 7007, Duration.ofSeconds(2));
        }

        // 2. an update written at north flips every flow, on the same sessions (taken once the sessions are settled:
        // a pair whose first handshakes crossed may still replace its session in the first seconds)
        Map<String, Long> epochs = settledEpochs();
        applied = System.nanoTime();
        post(clusters.gateway(NORTH), CLOSE_PORT.formatted(7007));
        awaitTrue("all three tunnels enforce the update written at north", Duration.ofSeconds(2), () ->
                !enforced(EAST).equals(closes7008) && !enforced(WEST).equals(closes7008)
                        && !enforced(NORTH).equals(closes7008)
                        && enforced(EAST).equals(enforced(WEST)) && enforced(WEST).equals(enforced(NORTH)));
        System.out.println("update written at north enforced in all three tunnels " + millisSince(applied) + " ms later");
        String closes7007 = enforced(NORTH);
        for (int[] flow : RING) {
            awaitClosed(flow[0], flow[1], 7007, Duration.ofSeconds(2));
            assertOpen(flow[0], flow[1], 7008, Duration.ofSeconds(2));
        }
        assertEquals(epochs, epochs(), "the policy changed under the running sessions: no new handshake");

        // 3. north partitioned; an update at east reaches east and west only
        clusters.cutPeering(NORTH);
        clusters.cutUnderlay(NORTH);
        applied = System.nanoTime();
        post(clusters.gateway(EAST), CLOSE_PORT.formatted(7008));
        awaitTrue("east and west enforce the update written at east", Duration.ofSeconds(2), () ->
                !enforced(EAST).equals(closes7007) && enforced(EAST).equals(enforced(WEST)));
        System.out.println("update written at east during north's partition enforced at east and west "
                + millisSince(applied) + " ms later");
        String partitionedUpdate = enforced(EAST);
        awaitClosed(WEST, EAST, 7008, Duration.ofSeconds(2));
        assertOpen(WEST, EAST, 7007, Duration.ofSeconds(2));
        Thread.sleep(Math.max(0, 3000 - millisSince(applied))); // north had longer than the others to hear of it
        assertEquals(closes7007, enforced(NORTH), "north keeps enforcing its last version");
        assertEquals(false, explain(NORTH, WEST, NORTH, 7007).path("allowed").asBoolean(true), "north closes 7007");
        assertEquals(true, explain(NORTH, WEST, NORTH, 7008).path("allowed").asBoolean(false), "and opens 7008");
        assertEquals(true, explain(WEST, WEST, NORTH, 7007).path("allowed").asBoolean(false),
                "west decides the same flow by the update");

        // 4. the underlay heals, the peering not yet: north still decides by its last version, in its tunnel
        clusters.healUnderlay(NORTH);
        long northDrops = policyDrops(NORTH, WEST);
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        byte[] probe = "to 7007".getBytes(StandardCharsets.UTF_8);
        while (policyDrops(NORTH, WEST) == northDrops) { // west lets 7007 out; north drops it coming in
            assertNull(GatewayTunnels.udp(clusters.pods.get(WEST), clusters.pod(NORTH), 7007, probe, CLOSED_WAIT),
                    "north answered on 7007, which its last version closes");
            assertTrue(System.nanoTime() < deadline, "north dropped none of west's 7007 within 5 s: " + clusters.state());
        }
        awaitClosed(WEST, NORTH, 7008, Duration.ofSeconds(2)); // west's update closes it before the seal
        assertEquals(closes7007, enforced(NORTH));

        // 5. the peering heals: north converges on the version east wrote, and enforces it
        long healed = System.nanoTime();
        clusters.healPeering(NORTH);
        awaitTrue("north converges on the update written during its partition", Duration.ofSeconds(20),
                () -> enforced(NORTH).equals(partitionedUpdate));
        System.out.println("north enforces the update written during its partition " + millisSince(healed)
                + " ms after the partition healed");
        assertOpen(WEST, NORTH, 7007, Duration.ofSeconds(10));
        awaitClosed(WEST, NORTH, 7008, Duration.ofSeconds(2));
        assertOpen(EAST, NORTH, 7007, Duration.ofSeconds(2));
        assertOpen(NORTH, WEST, 7007, Duration.ofSeconds(2));
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    private static String name(int cluster) {
        return ThreeGatewayTunnel.CLUSTERS.get(cluster).value();
    }

    private String enforced(int cluster) {
        return tunnel(clusters.gateway(cluster)).policy();
    }

    /** Per gateway and peer, the epoch of the session its packets are sealed with. */
    /** The epochs once two readings a second apart agree (at most 10 s). */
    private Map<String, Long> settledEpochs() throws InterruptedException {
        Map<String, Long> last = epochs();
        for (int i = 0; i < 10; i++) {
            Thread.sleep(1000);
            Map<String, Long> now = epochs();
            if (now.equals(last)) {
                return now;
            }
            last = now;
        }
        throw new AssertionError("the tunnel sessions did not settle in 10 s: " + last);
    }

    private Map<String, Long> epochs() {
        Map<String, Long> out = new HashMap<>();
        for (int i = 0; i < 3; i++) {
            for (ClusterId peer : ThreeGatewayTunnel.CLUSTERS) {
                if (!peer.equals(ThreeGatewayTunnel.CLUSTERS.get(i))) {
                    out.put(name(i) + "->" + peer, tunnel(clusters.gateway(i)).stats().peer(peer).orElseThrow().epoch());
                }
            }
        }
        return out;
    }

    /** Policy drops at {@code at}'s gateway of packets to or from {@code peer}. */
    private long policyDrops(int at, int peer) {
        return tunnel(clusters.gateway(at)).stats().peer(ThreeGatewayTunnel.CLUSTERS.get(peer))
                .map(stats -> stats.drops(DropReason.POLICY_DENIED)).orElse(0L);
    }

    private void assertOpen(int from, int to, int port, Duration patience) throws Exception {
        byte[] message = (name(from) + " to " + name(to) + ":" + port).getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(message, GatewayTunnels.udpOnceReady(clusters.pods.get(from), clusters.pod(to), port,
                message, patience, clusters::state));
    }

    /** Until a round trip gets no answer, then once more (each try waits {@link #CLOSED_WAIT} for one). */
    private void awaitClosed(int from, int to, int port, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos() + CLOSED_WAIT.toNanos();
        byte[] probe = "probe".getBytes(StandardCharsets.UTF_8);
        while (System.nanoTime() < deadline) {
            if (GatewayTunnels.udp(clusters.pods.get(from), clusters.pod(to), port, probe, CLOSED_WAIT) == null) {
                assertNull(GatewayTunnels.udp(clusters.pods.get(from), clusters.pod(to), port, probe, CLOSED_WAIT),
                        "closed for good");
                return;
            }
        }
        throw new AssertionError(name(from) + " -> " + name(to) + ":" + port + " still open after "
                + patience.toMillis() + " ms; " + clusters.state());
    }

    private void awaitTrue(String what, Duration patience, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        try {
            GatewayTunnels.awaitTrue(what, patience, condition);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; east " + enforced(EAST) + ", west " + enforced(WEST)
                    + ", north " + enforced(NORTH), e);
        }
    }

    private void post(Gateway gateway, String policy) throws Exception {
        HttpResponse<String> response = send(gateway, policy);
        assertEquals(200, response.statusCode(), response.body());
    }

    private HttpResponse<String> send(Gateway gateway, String policy) throws Exception {
        return http.send(HttpRequest.newBuilder(admin(gateway, "/api/v1/policies"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(policy)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String metrics(Gateway gateway) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(admin(gateway, "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return response.body();
    }

    private long rulePackets(Gateway gateway) throws Exception {
        Matcher matcher = RULE_PACKETS.matcher(metrics(gateway));
        return matcher.find() ? Long.parseLong(matcher.group(1)) : 0;
    }

    private static double gauge(String metrics, String name) {
        Matcher matcher = Pattern.compile("^" + name + " (\\S+)$", Pattern.MULTILINE).matcher(metrics);
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : -1;
    }

    /** What {@code at}'s gateway decides for UDP from {@code from}'s pod to {@code to}'s pod, port {@code port}. */
    private JsonNode explain(int at, int from, int to, int port) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(admin(clusters.gateway(at),
                        "/api/v1/explain?from=" + clusters.pod(from) + "&to=" + clusters.pod(to)
                                + "&protocol=UDP&port=" + port)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return json.readTree(response.body());
    }

    private static URI admin(Gateway gateway, String path) {
        return URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + path);
    }
}
