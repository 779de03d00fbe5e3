package io.isthmus.gateway.tunnel;

import io.isthmus.tunnel.TunnelDataPlane;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.Cidr;
import io.isthmus.api.Endpoint;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.testing.Netns;
import io.isthmus.tunnel.DropReason;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.EAST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.WEST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Needs root. East is a member cluster with a valid certificate that misbehaves, west the gateway under attack, both
 * real gateways with tunnels in namespaces (see {@link TwoGatewayTunnel}): east exports endpoints outside its segments
 * (the cloud metadata address, loopback, an address of west's own pods, a public one), which west refuses, counts,
 * shows and never routes; west's node has a route of its own where east's registered range would go, which the
 * gateway leaves alone; and east seals packets to an address of west's gateway namespace that is none of west's
 * segments, which west drops and counts while east's pod still reaches west's pod.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DataPlaneFiltersTest {
    private static final String EAST_POD = "10.150.1.2";
    private static final String WEST_POD = "10.150.2.2";
    /** An address of west's gateway namespace (where an admin API would listen), in none of west's segments. */
    private static final String WEST_GATEWAY_OWN = "10.99.0.1";
    private static final int PORT = 7007;
    private TwoGatewayTunnel clusters;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        clusters = new TwoGatewayTunnel(dir, "10.150.1", "10.150.2", """
                plan {
                  members = [east, west]
                  supernets.pod = [{cidr = "10.150.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
        // west's node routes 10.96.0.0/16 somewhere of its own (not the gateway's doing)
        Netns.ip("-n", clusters.gwWest.name(), "route", "add", "10.96.0.0/16", "via", "192.168.78.1", "dev", "u0");
        Netns.ip("-n", clusters.gwWest.name(), "addr", "add", WEST_GATEWAY_OWN + "/32", "dev", "lo");
        clusters.east.addressPlan().claim("pod", "10.150.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("pod", "10.150.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.east.addressPlan().register("service", "10.96.0.0/16").toCompletableFuture().get(30, TimeUnit.SECONDS);
        export(clusters.east, ServiceType.CLUSTER_SET_IP, "cart", "10.96.5.5");
        export(clusters.east, ServiceType.CLUSTER_SET_IP, "metadata", "169.254.169.254");
        export(clusters.east, ServiceType.CLUSTER_SET_IP, "local", "127.0.0.1");
        export(clusters.east, ServiceType.CLUSTER_SET_IP, "search", "8.8.8.8");
        export(clusters.east, ServiceType.HEADLESS, "db", EAST_POD, WEST_POD, "127.0.0.2");
        clusters.echo(clusters.podWest, WEST_POD, PORT, false);
        clusters.echo(clusters.gwWest, WEST_GATEWAY_OWN, PORT, false);
    }

    @AfterAll
    void stop() {
        if (clusters != null) {
            clusters.close();
        }
    }

    private static void export(Gateway gateway, ServiceType type, String name, String... ips) throws Exception {
        ServiceExport export = new ServiceExport(new ServiceKey("shop", name), type,
                List.of(new ServicePort("echo", PORT, Protocol.UDP)),
                java.util.Arrays.stream(ips).map(ip -> Endpoint.of(InetAddress.ofLiteral(ip))).toList(), Instant.now());
        gateway.exports().<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(export, replyTo),
                Duration.ofSeconds(10)).toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private List<String> westSees(String name) {
        return clusters.west.mesh().directory().find(new ServiceKey("shop", name))
                .map(s -> s.clusters().stream().flatMap(c -> c.endpoints().stream())
                        .map(e -> e.ip().getHostAddress()).toList())
                .orElse(List.of());
    }

    @Test
    @Order(1)
    void endpointsOutsideTheSendersSegmentsAreRefusedCountedShownAndNeverRouted() throws Exception {
        TwoGatewayTunnel.awaitTrue("west imports east's cart and db once it knows east's ranges",
                Duration.ofSeconds(60), () -> westSees("cart").equals(List.of("10.96.5.5"))
                        && westSees("db").equals(List.of(EAST_POD)));
        assertEquals(List.of(), westSees("metadata"));
        assertEquals(List.of(), westSees("local"));
        assertEquals(List.of(), westSees("search"));

        String metrics = clusters.west.metricsText();
        for (String line : List.of(
                "isthmus_import_endpoints_refused{peer=\"east\",reason=\"link-local\"} 1",
                "isthmus_import_endpoints_refused{peer=\"east\",reason=\"loopback\"} 2",
                "isthmus_import_endpoints_refused{peer=\"east\",reason=\"outside-segments\"} 1",
                "isthmus_import_endpoints_refused{peer=\"east\",reason=\"own-range\"} 1",
                "isthmus_import_endpoints_refused_total{peer=\"east\",reason=\"loopback\"}")) {
            assertTrue(metrics.contains(line), line + " in\n" + metrics);
        }
        JsonNode filter = status(clusters.west).path("imports").path("endpointFilter");
        assertEquals("plan", filter.path("state").asText(), filter.toString());
        assertEquals(5, filter.path("refusedCount").asInt(), filter.toString());
        assertEquals("False", filter.path("condition").path("status").asText(), filter.toString());
        assertTrue(filter.path("condition").path("message").asText().contains("169.254.169.254"), filter.toString());

        // routed: east's pod segment and its registered range; never a host route for what was refused
        TwoGatewayTunnel.awaitTrue("west routes east's pod segment", Duration.ofSeconds(30),
                () -> tunnel(clusters.west).installedRoutes().contains(Cidr.parse("r", "10.150.1.0/24")));
        String westRoutes = Netns.ip("-n", clusters.gwWest.name(), "route", "show");
        for (String refused : List.of("169.254.169.254", "127.0.0.1", "127.0.0.2", "8.8.8.8", WEST_POD)) {
            assertFalse(westRoutes.contains(refused + " dev"), refused + " routed:\n" + westRoutes);
            assertFalse(tunnel(clusters.west).routes().ranges().get(EAST).stream()
                    .anyMatch(r -> r.contains(Cidr.parse("r", refused + "/32"))), refused);
        }
        assertTrue(Netns.ip("-n", clusters.gwWest.name(), "route", "show", "proto", "73").contains("10.150.1.0/24 dev"),
                "the gateway's routes carry its protocol number:\n" + westRoutes);
    }

    @Test
    @Order(2)
    void aRouteTheGatewayDidNotInstallIsLeftAloneReportedAndCounted() throws Exception {
        TwoGatewayTunnel.awaitTrue("west finds its node's route where east's registered range would go",
                Duration.ofSeconds(30), () -> tunnel(clusters.west).blockedRoutes().stream()
                        .anyMatch(b -> b.startsWith("10.96.0.0/16")));
        String route = Netns.ip("-n", clusters.gwWest.name(), "route", "show", "10.96.0.0/16");
        assertTrue(route.contains("via 192.168.78.1 dev u0"), "the node's route survives: " + route);
        assertFalse(tunnel(clusters.west).installedRoutes().contains(Cidr.parse("r", "10.96.0.0/16")));
        assertTrue(clusters.west.metricsText().contains("isthmus_tunnel_routes_blocked_total{peer=\"east\"} 1"),
                clusters.west.metricsText());
        JsonNode problems = status(clusters.west).path("tunnel").path("problems");
        assertTrue(problems.toString().contains("10.96.0.0/16 not routed"), problems.toString());
    }

    @Test
    @Order(3)
    void aPacketToTheGatewaysOwnAddressIsDroppedAndCountedWhileOneToAPodIsDelivered() throws Exception {
        byte[] hello = "hello west".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podEast, WEST_POD, PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        // east misbehaves: it routes west's gateway address into its tunnel and seals for it as if west held it
        TunnelDataPlane eastPlane = tunnel(clusters.east);
        List<Cidr> ranges = new ArrayList<>(eastPlane.routes().ranges().get(WEST));
        ranges.add(Cidr.parse("r", WEST_GATEWAY_OWN + "/32"));
        eastPlane.engine().updatePeer(WEST, eastPlane.engine().stats().peer(WEST).orElseThrow().endpoint(), ranges);
        Netns.ip("-n", clusters.gwEast.name(), "route", "add", WEST_GATEWAY_OWN + "/32", "dev", eastPlane.device());
        long before = tunnel(clusters.west).stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_DESTINATION);
        for (int i = 0; i < 5; i++) {
            assertNull(TwoGatewayTunnel.udp(clusters.podEast, WEST_GATEWAY_OWN, PORT, hello),
                    "west's gateway address is not reachable from east's pod; " + clusters.state());
        }
        long dropped = tunnel(clusters.west).stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_DESTINATION)
                - before;
        assertEquals(5, dropped, clusters.state());
        assertTrue(clusters.west.metricsText().contains("isthmus_tunnel_drops_total{peer=\"east\",reason=\"wrong_destination\"} 5"));
        assertArrayEquals(hello, TwoGatewayTunnel.udp(clusters.podEast, WEST_POD, PORT, hello),
                "the pod is still reached; " + clusters.state());
    }

    private static JsonNode status(Gateway gateway) throws Exception {
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminAddress().getPort() + "/api/v1/status")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return new ObjectMapper().readTree(response.body());
    }
}
