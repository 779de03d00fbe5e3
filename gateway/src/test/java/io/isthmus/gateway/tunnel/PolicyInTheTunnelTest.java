package io.isthmus.gateway.tunnel;

import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.EAST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.WEST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.gateway.Gateway;
import io.isthmus.tunnel.DropReason;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Needs root. A GlobalNetworkPolicy applied in one cluster is enforced in the tunnel of both: two real gateways
 * (tunnels in gateway namespaces, pods behind them, pod segments from the address plan); a policy applied at west
 * is enforced in both tunnels within 2 s and closes UDP port 7008 of east's pods to west (dropped before the seal at
 * west, counted as POLICY_DENIED),
 * port 7007 stays open, and an update flips the two ports without a new handshake.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PolicyInTheTunnelTest {
    private static final String EAST_POD = "10.151.1.2";
    private static final String CLOSE_PORT = """
            {"metadata": {"name": "east-closed-port"}, "spec": {"appliesTo": {"clusters": ["east"]},
             "ingress": [{"action": "Deny", "peers": [{"clusters": ["west"]}], "ports": [{"protocol": "UDP", "port": %d}]}]}}
            """;
    private TwoGatewayTunnel clusters;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        clusters = new TwoGatewayTunnel(dir, "10.151.1", "10.151.2", """
                plan {
                  members = [east, west]
                  supernets.pod = [{cidr = "10.151.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
        clusters.east.addressPlan().claim("pod", "10.151.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("pod", "10.151.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.echo(clusters.podEast, EAST_POD, 7007, false);
        clusters.echo(clusters.podEast, EAST_POD, 7008, false);
    }

    @AfterAll
    void stop() {
        http.close();
        if (clusters != null) {
            clusters.close();
        }
    }

    @Test
    void aPolicyAppliedInOneClusterClosesAPortInTheTunnelAndAnUpdateFlipsItWithoutANewHandshake() throws Exception {
        assertOpen(7007, Duration.ofSeconds(40));
        assertOpen(7008, Duration.ofSeconds(5));
        long epoch = tunnel(clusters.west).stats().peer(EAST).orElseThrow().epoch();

        String before = tunnel(clusters.east).policy();
        long applied = System.nanoTime();
        post(clusters.west, CLOSE_PORT.formatted(7008));
        // Enforced in both clusters' tunnels within 2 s: the table in each policy stage is the new one.
        awaitTrue("both tunnels enforce the new policy", Duration.ofSeconds(2),
                () -> !tunnel(clusters.east).policy().equals(before) && !tunnel(clusters.west).policy().equals(before));
        System.out.println("policy enforced in both tunnels " + (System.nanoTime() - applied) / 1_000_000
                + " ms after it was applied at west");
        awaitClosed(7008, Duration.ofSeconds(2));
        assertOpen(7007, Duration.ofSeconds(2));
        assertTrue(tunnel(clusters.west).stats().peer(EAST).orElseThrow().drops(DropReason.POLICY_DENIED) >= 1,
                clusters.state());
        awaitTrue("east enforces the same policy version", Duration.ofSeconds(2),
                () -> tunnel(clusters.east).policy().equals(tunnel(clusters.west).policy()));
        assertTrue(tunnel(clusters.west).policy().startsWith("policy 1:"), tunnel(clusters.west).policy());

        post(clusters.east, CLOSE_PORT.formatted(7007)); // an update, written in the other cluster
        awaitClosed(7007, Duration.ofSeconds(2));
        assertOpen(7008, Duration.ofSeconds(2));
        assertEquals(epoch, tunnel(clusters.west).stats().peer(EAST).orElseThrow().epoch(),
                "the policy changed under the running session");
    }

    private void assertOpen(int port, Duration patience) throws Exception {
        byte[] message = ("to " + port).getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(message, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, port, message, patience,
                clusters::state));
    }

    /** Until a round trip to {@code port} gets no answer (each try waits a second for one). */
    private void awaitClosed(int port, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos() + Duration.ofSeconds(1).toNanos();
        while (System.nanoTime() < deadline) {
            if (TwoGatewayTunnel.udp(clusters.podWest, EAST_POD, port, "probe".getBytes(StandardCharsets.UTF_8)) == null) {
                assertNull(TwoGatewayTunnel.udp(clusters.podWest, EAST_POD, port, "again".getBytes(StandardCharsets.UTF_8)),
                        "closed for good");
                return;
            }
        }
        throw new AssertionError("port " + port + " still open after " + patience.toMillis() + " ms; west enforces "
                + tunnel(clusters.west).policy() + "; " + clusters.state());
    }

    private void post(Gateway gateway, String policy) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + gateway.adminAddress().getPort() + "/api/v1/policies")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(policy)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
    }

    private static void awaitTrue(String what, Duration patience, java.util.function.BooleanSupplier condition)
            throws InterruptedException {
        TwoGatewayTunnel.awaitTrue(what, patience, condition);
    }
}
