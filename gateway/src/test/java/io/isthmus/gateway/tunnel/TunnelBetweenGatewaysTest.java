package io.isthmus.gateway.tunnel;

import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.ServiceExport;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.tunnel.DropReason;
import io.isthmus.tunnel.PeerStats;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.EAST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.WEST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Needs root. Two clusters as real gateways whose tunnels run in gateway namespaces: the pod segments come from the
 * address plan (claimed over peering), east's ClusterIP from an export west imports, inside the service CIDR east
 * registered with the plan (a peer's endpoints must lie in its own ranges); a pod of west reaches east's
 * pod and east's ClusterIP by TCP and UDP through both gateways, the counters show it in /metrics, and a restart of
 * east's gateway resumes traffic with a new handshake. East starts pinned to the tunnel wire from before versions
 * ({@code tunnel.wire-version = 0}, as a gateway not yet upgraded) and comes back from the restart at the current
 * one: a rolling upgrade of the tunnel wire, with the import and traffic carried on both sides of it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TunnelBetweenGatewaysTest {
    private static final String EAST_POD = "10.150.1.2";
    private static final String WEST_POD = "10.150.2.2";
    /** East's ClusterIP, answered in east's pod namespace (as kube-proxy would); routed to west from the import. */
    private static final String EAST_CLUSTER_IP = "10.96.77.10";
    /** East's service CIDR (Kubernetes' --service-cluster-ip-range), in use before the plan: registered. */
    private static final String EAST_SERVICES = "10.96.0.0/16";
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
                """, "wire-version = 0");
        clusters.east.addressPlan().claim("pod", "10.150.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("pod", "10.150.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.east.addressPlan().register("service", EAST_SERVICES).toCompletableFuture().get(30, TimeUnit.SECONDS);
        // kube-proxy's part, in miniature: east's ClusterIP is answered by east's pod
        io.isthmus.testing.Netns.ip("-n", clusters.podEast.name(), "addr", "add", EAST_CLUSTER_IP + "/32", "dev", "lo");
        io.isthmus.testing.Netns.ip("-n", clusters.gwEast.name(), "route", "add", EAST_CLUSTER_IP + "/32", "via", EAST_POD);
        export(clusters.east, "shop", "cart", EAST_CLUSTER_IP);
        clusters.echo(clusters.podEast, EAST_POD, PORT, true);
        clusters.echo(clusters.podEast, EAST_CLUSTER_IP, PORT, false);
    }

    @AfterAll
    void stop() {
        if (clusters != null) {
            clusters.close();
        }
    }

    private static void export(Gateway gateway, String namespace, String name, String ip) throws Exception {
        ServiceExport export = ServiceExport.of(new ServiceKey(namespace, name), ServiceType.CLUSTER_SET_IP,
                List.of(new ServicePort("echo", PORT, io.isthmus.api.Protocol.TCP)),
                List.of(InetAddress.ofLiteral(ip)), Instant.now());
        gateway.exports().<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(export, replyTo), Duration.ofSeconds(10))
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    @Test
    @Order(1)
    void aPodReachesAPodAndAClusterIpOfTheOtherClusterOverUdp() throws Exception {
        byte[] hello = "hello east".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_CLUSTER_IP, PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        for (int i = 0; i < 20; i++) {
            byte[] message = ("ping " + i).getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(message, TwoGatewayTunnel.udp(clusters.podWest, i % 2 == 0 ? EAST_POD : EAST_CLUSTER_IP,
                    PORT, message), "round trip " + i + "; " + clusters.state());
        }
        assertTrue(tunnel(clusters.west).installedRoutes().toString().contains(EAST_SERVICES),
                "east's service CIDR is routed into west's device: " + tunnel(clusters.west).installedRoutes());
        PeerStats eastSeenByWest = tunnel(clusters.west).stats().peer(EAST).orElseThrow();
        assertTrue(eastSeenByWest.receivedPackets() >= 20, eastSeenByWest.toString());
        assertEquals(0, eastSeenByWest.drops(DropReason.AUTH_FAILURE), eastSeenByWest.toString());
        assertEquals(0, eastSeenByWest.drops(DropReason.WRONG_SOURCE), eastSeenByWest.toString());
        assertEquals(0, eastSeenByWest.drops(DropReason.WRONG_VERSION), eastSeenByWest.toString());
        assertEquals(0, eastSeenByWest.wireVersion(), "west speaks the old wire with the not-yet-upgraded east");
        assertEquals(0, tunnel(clusters.east).stats().peer(WEST).orElseThrow().wireVersion());
    }

    @Test
    @Order(2)
    void aPodReachesAPodAndAClusterIpOfTheOtherClusterOverTcp() throws Exception {
        TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, new byte[] {1}, Duration.ofSeconds(40),
                clusters::state);
        for (String target : List.of(EAST_POD, EAST_CLUSTER_IP)) {
            byte[] data = new byte[1 << 20];
            ThreadLocalRandom.current().nextBytes(data);
            assertArrayEquals(data, TwoGatewayTunnel.tcp(clusters.podWest, target, PORT, data), target);
        }
        PeerStats westSeenByEast = tunnel(clusters.east).stats().peer(WEST).orElseThrow();
        assertTrue(westSeenByEast.receivedBytes() >= 2 << 20, westSeenByEast.toString());
    }

    @Test
    @Order(3)
    void countersAppearInMetricsAndStatus() throws Exception {
        TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, new byte[] {2}, Duration.ofSeconds(40),
                clusters::state);
        String metrics = clusters.west.metricsText();
        long received = tunnel(clusters.west).stats().peer(EAST).orElseThrow().receivedPackets();
        assertTrue(received > 0);
        for (String line : List.of("isthmus_tunnel_received_packets_total{peer=\"east\"}",
                "isthmus_tunnel_sent_bytes_total{peer=\"east\"}", "isthmus_tunnel_drops_total{peer=\"east\",reason=\"replay\"}",
                "isthmus_tunnel_drops_total{peer=\"east\",reason=\"auth_failure\"}",
                "isthmus_tunnel_drops_total{peer=\"-\",reason=\"no_route\"}",
                "isthmus_tunnel_handshake_age_seconds{peer=\"east\"}", "isthmus_tunnel_info{")) {
            assertTrue(metrics.contains(line), line + " in\n" + metrics);
        }
        String status = TunnelStatus.text(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(
                TunnelStatus.json(new com.fasterxml.jackson.databind.ObjectMapper(), clusters.west.tunnel())));
        assertTrue(status.contains("peer east at 192.168.78.1:51820"), status);
        assertTrue(status.contains("data path: TUN with offloads") || status.contains("data path: plain TUN"), status);
        assertTrue(status.contains("policy: policy 0:empty (0 rules, default allow)"), status); // no policy yet: the default
    }

    @Test
    @Order(4)
    void aRestartedGatewayResumesTrafficWithANewHandshakeAtTheNewestWireVersion() throws Exception {
        long epochBefore = tunnel(clusters.west).stats().peer(EAST).orElseThrow().epoch();
        clusters.east.close();
        clusters.east = null;
        clusters.east = clusters.startEast();
        long started = System.nanoTime();
        byte[] message = "after the restart".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(message, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, message,
                Duration.ofSeconds(60), clusters::state));
        System.out.printf("tunnel traffic resumed %.1f s after the restarted gateway had started%n",
                (System.nanoTime() - started) / 1e9);
        byte[] data = new byte[256 << 10];
        ThreadLocalRandom.current().nextBytes(data);
        assertArrayEquals(data, TwoGatewayTunnel.tcp(clusters.podWest, EAST_CLUSTER_IP, PORT, data));
        PeerStats west = tunnel(clusters.east).stats().peer(WEST).orElseThrow();
        assertTrue(west.handshakeAge().isPresent() && west.handshakeAge().get().toSeconds() < 60, west.toString());
        assertTrue(west.receivedPackets() > 0, "the new gateway opened west's packets: " + west);
        assertEquals(io.isthmus.tunnel.WireFormat.VERSION, west.wireVersion(), "upgraded: the newest wire, " + west);
        assertEquals(io.isthmus.tunnel.WireFormat.VERSION,
                tunnel(clusters.west).stats().peer(EAST).orElseThrow().wireVersion());
        assertEquals(0, tunnel(clusters.west).stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_VERSION));
        assertTrue(tunnel(clusters.west).stats().peer(EAST).orElseThrow().epoch() != epochBefore
                        || tunnel(clusters.west).stats().peer(EAST).orElseThrow().handshakeAge().orElseThrow().toSeconds() < 60,
                "west keyed anew: " + tunnel(clusters.west).stats().peer(EAST));
    }
}
