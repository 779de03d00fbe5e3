package io.isthmus.gateway.tunnel;

import io.isthmus.tunnel.DropReason;
import io.isthmus.tunnel.PeerStats;
import io.isthmus.tunnel.Translation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
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
 * Needs root. East and west both run their pods in 10.244.0.0/24 (registered with the address plan as in use before
 * it, so the plan reports the overlap) and each holds a global segment: each gateway translates its pods into its
 * global segment, and a pod of west reaches the pod of east — which has the very same address as itself — at east's
 * global address, over UDP and TCP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TunnelOverlappingCidrsTest {
    private static final String POD = "10.244.0.2"; // in both clusters
    private static final int PORT = 7007;
    private TwoGatewayTunnel clusters;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        clusters = new TwoGatewayTunnel(dir, "10.244.0", "10.244.0", """
                plan {
                  members = [east, west]
                  supernets.global = [{cidr = "172.30.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
        clusters.east.addressPlan().register("pod", "10.244.0.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().register("pod", "10.244.0.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.east.addressPlan().claim("global", "172.30.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("global", "172.30.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.echo(clusters.podEast, POD, PORT, true);
    }

    @AfterAll
    void stop() {
        if (clusters != null) {
            clusters.close();
        }
    }

    @Test
    void podsWithTheSameAddressInTwoClustersReachEachOtherThroughGlobalAddresses() throws Exception {
        TwoGatewayTunnel.awaitTrue("both gateways translate their pods", Duration.ofSeconds(30), () ->
                tunnel(clusters.east).routes().translation().mappings().equals(List.of(
                        new Translation.Mapping(io.isthmus.api.Cidr.parse("r", "10.244.0.0/24"),
                                io.isthmus.api.Cidr.parse("g", "172.30.1.0/24"))))
                        && !tunnel(clusters.west).routes().translation().isEmpty());
        byte[] hello = "hello from the other 10.244.0.2".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podWest, "172.30.1.2", PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        byte[] data = new byte[512 << 10];
        ThreadLocalRandom.current().nextBytes(data);
        assertArrayEquals(data, TwoGatewayTunnel.tcp(clusters.podWest, "172.30.1.2", PORT, data));
        assertEquals(List.of(io.isthmus.api.Cidr.parse("g", "172.30.1.0/24")),
                tunnel(clusters.west).routes().ranges().get(EAST), "west routes east's global segment, not 10.244.0.0/24");
        assertTrue(tunnel(clusters.west).routes().problems().stream().anyMatch(p -> p.contains("10.244.0.0/24")),
                "the overlap is said: " + tunnel(clusters.west).routes().problems());
        PeerStats westSeenByEast = tunnel(clusters.east).stats().peer(WEST).orElseThrow();
        assertEquals(0, westSeenByEast.drops(DropReason.WRONG_SOURCE), westSeenByEast.toString());
        assertTrue(westSeenByEast.receivedBytes() >= data.length, westSeenByEast.toString());
    }
}
