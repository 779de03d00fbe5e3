package io.isthmus.testing;

import io.isthmus.testing.TwoClusterTopology.Network;
import java.util.ArrayList;
import java.util.List;

/**
 * Three clusters' namespaces for one test, deleted by {@link #close()}: per cluster a pod namespace behind a gateway
 * namespace (as in {@link TwoClusterTopology}), and the three gateways on one underlay, a bridge in a namespace of
 * its own, so that each gateway reaches both others and one cluster can be cut off the underlay alone.
 *
 * <pre>
 *  pod-0 p0 P0.2 ── d0 P0.1 gw-0 u0 U.1 ──┐
 *  pod-1 p0 P1.2 ── d0 P1.1 gw-1 u0 U.2 ──┼── g0|g1|g2 br0 (switch)
 *  pod-2 p0 P2.2 ── d0 P2.1 gw-2 u0 U.3 ──┘
 * </pre>
 *
 * Namespace names are {@code PREFIX-RANDOM-p0|g0|p1|g1|p2|g2|sw}. Needs root.
 *
 * @param pods     the pod namespaces, by cluster index
 * @param gateways the gateway namespaces, by cluster index
 * @param underlay the network the gateways share; gateway i is host i + 1
 */
public record ThreeClusterTopology(Netns netns, List<String> pods, List<String> gateways, String underlaySwitch,
                                   Network underlay) implements AutoCloseable {
    public static final int CLUSTERS = 3;
    private static final String BRIDGE = "br0";

    /** Makes the namespaces and links; on failure deletes what it made and throws. */
    public static ThreeClusterTopology create(String prefix, List<Network> podNetworks, Network underlay) {
        if (podNetworks.size() != CLUSTERS) {
            throw new IllegalArgumentException("one pod network per cluster, " + CLUSTERS + ": " + podNetworks);
        }
        TwoClusterTopology.requireRoot();
        Netns netns = new Netns(prefix);
        try {
            List<String> pods = new ArrayList<>();
            List<String> gateways = new ArrayList<>();
            for (int i = 0; i < CLUSTERS; i++) {
                pods.add(netns.create("p" + i));
                gateways.add(netns.create("g" + i));
            }
            String underlaySwitch = netns.create("sw");
            ThreeClusterTopology topology = new ThreeClusterTopology(netns, List.copyOf(pods), List.copyOf(gateways),
                    underlaySwitch, underlay);
            for (String ns : topology.all()) {
                Netns.ip("-n", ns, "link", "set", "lo", "up");
            }
            Netns.ip("-n", underlaySwitch, "link", "add", BRIDGE, "type", "bridge");
            Netns.ip("-n", underlaySwitch, "link", "set", BRIDGE, "up");
            for (int i = 0; i < CLUSTERS; i++) {
                TwoClusterTopology.link(pods.get(i), "p0", 2, gateways.get(i), "d0", 1, podNetworks.get(i));
                TwoClusterTopology.defaultRoute(pods.get(i), podNetworks.get(i));
                String port = switchPort(i);
                Netns.ip("-n", gateways.get(i), "link", "add", "u0", "type", "veth", "peer", "name", port,
                        "netns", underlaySwitch);
                Netns.ip("-n", underlaySwitch, "link", "set", port, "master", BRIDGE);
                Netns.ip("-n", underlaySwitch, "link", "set", port, "up");
                Netns.ip("-n", gateways.get(i), "link", "set", "u0", "up");
                Netns.ip("-n", gateways.get(i), "addr", "add", underlay.ipv4(i + 1) + "/24", "dev", "u0");
            }
            TwoClusterTopology.forwarding(gateways, podNetworks);
            return topology;
        } catch (RuntimeException | Error e) {
            netns.close();
            throw e;
        }
    }

    private static String switchPort(int cluster) {
        return "g" + cluster;
    }

    /** Gateway {@code cluster}'s underlay address. */
    public String underlayAddress(int cluster) {
        return underlay.ipv4(cluster + 1);
    }

    /** Takes cluster {@code cluster}'s port of the underlay switch down: its gateway reaches neither other. */
    public void cutUnderlay(int cluster) {
        Netns.ip("-n", underlaySwitch, "link", "set", switchPort(cluster), "down");
    }

    /** Brings the port back up. */
    public void healUnderlay(int cluster) {
        Netns.ip("-n", underlaySwitch, "link", "set", switchPort(cluster), "up");
    }

    public List<String> all() {
        List<String> all = new ArrayList<>(pods);
        all.addAll(gateways);
        all.add(underlaySwitch);
        return all;
    }

    @Override
    public void close() {
        netns.close();
    }
}
