package io.isthmus.gateway.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.tunnel.UnderlayFilter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Needs root. Where XDP cannot be had (here: the interface named does not exist), {@code tunnel.xdp = auto} starts
 * the gateway without it and says why in the status and /metrics, and the tunnel carries traffic; an explicit mode
 * refuses to start, naming the setting.
 */
class XdpFallbackTest {
    private static final String PLAN = """
            plan {
              members = [east, west]
              supernets.pod = [{cidr = "10.153.0.0/16", segment-prefix = 24}]
              retransmit-interval = 300ms
              gossip-interval = 1s
            }
            """;

    @Test
    void autoStartsWithoutXdpAndSaysWhy(@TempDir Path dir) throws Exception {
        try (TwoGatewayTunnel clusters = new TwoGatewayTunnel(dir, "10.153.1", "10.153.2",
                PLAN + "tunnel { xdp = auto, xdp-interface = nope0 }")) {
            clusters.east.addressPlan().claim("pod", "10.153.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
            clusters.west.addressPlan().claim("pod", "10.153.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
            clusters.echo(clusters.podEast, "10.153.1.2", 7011, false);
            byte[] hello = "no xdp, still a tunnel".getBytes(StandardCharsets.UTF_8);
            assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podWest, "10.153.1.2", 7011, hello,
                    Duration.ofSeconds(40), clusters::state));
            UnderlayFilter filter = tunnel(clusters.east).underlayFilter();
            assertFalse(filter.active());
            assertTrue(filter.describe().startsWith("none (tunnel.xdp = auto): ") && filter.describe().contains("nope0"),
                    filter.describe());
            String status = TunnelStatus.text(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(
                    TunnelStatus.json(new com.fasterxml.jackson.databind.ObjectMapper(), clusters.east.tunnel())));
            assertTrue(status.contains("underlay pre-filter: none (tunnel.xdp = auto): "), status);
            String metrics = clusters.east.metricsText();
            assertTrue(metrics.contains("isthmus_tunnel_xdp_info{path=\"none (tunnel.xdp = auto): "), metrics);
            assertFalse(metrics.contains("isthmus_tunnel_xdp_packets_total{"), "no counters without a filter");
        }
    }

    @Test
    void anExplicitModeThatCannotBeHadStopsTheStart(@TempDir Path dir) {
        InvalidFieldException refused = assertThrows(InvalidFieldException.class, () -> new TwoGatewayTunnel(dir,
                "10.153.1", "10.153.2", PLAN + "tunnel { xdp = generic, xdp-interface = nope0 }").close());
        assertEquals("isthmus.tunnel.xdp", refused.field(), refused.getMessage());
        assertTrue(refused.getMessage().contains("nope0") && refused.getMessage().contains("auto starts without XDP"),
                refused.getMessage());
    }
}
