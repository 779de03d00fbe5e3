package io.isthmus.gateway.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.gateway.Gateway;
import io.isthmus.testing.TwoClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Two clusters, east and west, each a real gateway started in this JVM (peering over loopback, mutual TLS from one
 * clusterset CA) whose tunnel runs in a gateway network namespace, and a pod namespace behind it:
 *
 * <pre>
 *  pod-east p0 POD_E.2 ── d0 POD_E.1  gw-east (TUN) u0 192.168.78.1 ── u0 192.168.78.2 (TUN) gw-west d0 POD_W.1 ── p0 POD_W.2 pod-west
 * </pre>
 *
 * The pods' default routes go to their gateway namespace, which forwards into its TUN device whatever the tunnel
 * routes there. Namespaces are named {@code itw-RANDOM-*}, made here and deleted by {@link #close()}. Needs root.
 * What it shares with {@link ThreeGatewayTunnel} is in {@link GatewayTunnels}.
 */
final class TwoGatewayTunnel extends GatewayTunnels {
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");

    final TwoClusterTopology topology;
    final NetNamespace podEast;
    final NetNamespace gwEast;
    final NetNamespace gwWest;
    final NetNamespace podWest;
    Gateway east;
    Gateway west;

    /**
     * @param podEastNet the pod network behind east's gateway, "10.150.1" (a /24: .1 the gateway, .2 the pod)
     * @param planBlock  the gateways' {@code plan { ... }} settings
     */
    TwoGatewayTunnel(Path dir, String podEastNet, String podWestNet, String planBlock) throws Exception {
        this(dir, podEastNet, podWestNet, planBlock, "");
    }

    /** @param eastTunnel added to east's first start's {@code tunnel} block (say, an older wire version) */
    TwoGatewayTunnel(Path dir, String podEastNet, String podWestNet, String planBlock, String eastTunnel)
            throws Exception {
        super(dir, planBlock, 2);
        topology = TwoClusterTopology.create("itw", Network.of(podEastNet), Network.of("192.168.78"),
                Network.of(podWestNet));
        podEast = NetNamespace.named(topology.podA());
        gwEast = NetNamespace.named(topology.gatewayA());
        gwWest = NetNamespace.named(topology.gatewayB());
        podWest = NetNamespace.named(topology.podB());
        try {
            issueCertificates(List.of(EAST, WEST));
            east = start(0, EAST, gwEast, "192.168.78.1", List.of(peeringPort(1)), eastTunnel);
            west = startWest();
            awaitTrue("peer links up", Duration.ofSeconds(60),
                    () -> linksUp(east, List.of(WEST)) && linksUp(west, List.of(EAST)));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    Gateway startEast() {
        return start(0, EAST, gwEast, "192.168.78.1", List.of(peeringPort(1)));
    }

    Gateway startWest() {
        return start(1, WEST, gwWest, "192.168.78.2", List.of(peeringPort(0)));
    }

    @Override
    List<Gateway> gateways() {
        return Arrays.asList(east, west);
    }

    @Override
    void closeTopology() {
        topology.close();
    }
}
