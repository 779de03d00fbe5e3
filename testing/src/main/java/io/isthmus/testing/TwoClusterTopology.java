package io.isthmus.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The tunnel's test topology, shared by the tunnel's and the gateway's tests: four network namespaces made for one
 * test and deleted by {@link #close()}, pod A — gateway A — gateway B — pod B, joined by veth pairs.
 *
 * <pre>
 *  pod-a  p0 A.2 ── d0 A.1  gw-a  u0 U.1 ── u0 U.2  gw-b  d0 B.1 ── p0 B.2  pod-b
 * </pre>
 *
 * The pods' default routes go to their gateway namespace, which forwards (IPv4, and IPv6 where given). What the
 * gateways run between them (a TUN device and the tunnel) is up to the test. Namespace names are
 * {@code PREFIX-RANDOM-pa|ga|gb|pb}. Needs root.
 *
 * @param podA     the namespace of pod A; {@link #gatewayA}, {@link #gatewayB}, {@link #podB} likewise
 */
public record TwoClusterTopology(Netns netns, String podA, String gatewayA, String gatewayB, String podB)
        implements AutoCloseable {
    /**
     * A network between two namespaces: a /24 written as its first three octets ({@code "10.1.0"}: .1 and .2) and,
     * optionally, a /64 written as its first groups with a trailing colon ({@code "fd00:1:"}: ::1 and ::2).
     */
    public record Network(String ipv4, Optional<String> ipv6) {
        public static Network of(String ipv4) {
            return new Network(ipv4, Optional.empty());
        }

        public static Network of(String ipv4, String ipv6) {
            return new Network(ipv4, Optional.of(ipv6));
        }

        /** Host {@code n} (1 or 2) of the IPv4 network. */
        public String ipv4(int n) {
            return ipv4 + "." + n;
        }

        /** Host {@code n} of the IPv6 network; fails when the network has none. */
        public String ipv6(int n) {
            return ipv6.orElseThrow(() -> new IllegalStateException(ipv4 + ".0/24 has no IPv6 network")) + ":" + n;
        }
    }

    /** Makes the four namespaces; on failure deletes what it made and throws. */
    public static TwoClusterTopology create(String prefix, Network podNetworkA, Network underlay, Network podNetworkB) {
        requireRoot();
        Netns netns = new Netns(prefix);
        try {
            TwoClusterTopology topology = new TwoClusterTopology(netns, netns.create("pa"), netns.create("ga"),
                    netns.create("gb"), netns.create("pb"));
            for (String ns : topology.all()) {
                Netns.ip("-n", ns, "link", "set", "lo", "up");
            }
            // On each link the gateway side is host 1, except the underlay, where gateway B is host 2.
            link(topology.podA, "p0", 2, topology.gatewayA, "d0", 1, podNetworkA);
            link(topology.gatewayA, "u0", 1, topology.gatewayB, "u0", 2, underlay);
            link(topology.podB, "p0", 2, topology.gatewayB, "d0", 1, podNetworkB);
            defaultRoute(topology.podA, podNetworkA);
            defaultRoute(topology.podB, podNetworkB);
            forwarding(List.of(topology.gatewayA, topology.gatewayB), List.of(podNetworkA, podNetworkB));
            return topology;
        } catch (RuntimeException | Error e) {
            netns.close();
            throw e;
        }
    }

    public List<String> all() {
        return List.of(podA, gatewayA, gatewayB, podB);
    }

    /** Each gateway namespace forwards IPv4 (and IPv6 when any pod network has it). */
    static void forwarding(List<String> gateways, List<Network> podNetworks) {
        for (String gateway : gateways) {
            sysctl(gateway, "net.ipv4.ip_forward=1");
            if (podNetworks.stream().anyMatch(network -> network.ipv6().isPresent())) {
                sysctl(gateway, "net.ipv6.conf.all.forwarding=1");
            }
        }
    }

    /** Fails, saying why, unless this runs as root (namespaces, veth links and TUN devices need it). */
    public static void requireRoot() {
        if (!Netns.isRoot()) {
            throw new IllegalStateException("this test makes network namespaces and TUN devices: run it as root"
                    + " (CI does); the user is " + System.getProperty("user.name"));
        }
    }

    static void link(String left, String leftName, int leftHost, String right, String rightName, int rightHost,
                             Network network) {
        Netns.ip("-n", left, "link", "add", leftName, "type", "veth", "peer", "name", rightName, "netns", right);
        Netns.ip("-n", left, "link", "set", leftName, "up");
        Netns.ip("-n", right, "link", "set", rightName, "up");
        address(left, leftName, leftHost, network);
        address(right, rightName, rightHost, network);
    }

    static void address(String ns, String device, int host, Network network) {
        Netns.ip("-n", ns, "addr", "add", network.ipv4(host) + "/24", "dev", device);
        if (network.ipv6().isPresent()) {
            Netns.ip("-n", ns, "addr", "add", network.ipv6(host) + "/64", "dev", device, "nodad");
        }
    }

    static void defaultRoute(String pod, Network network) {
        Netns.ip("-n", pod, "-4", "route", "add", "default", "via", network.ipv4(1));
        if (network.ipv6().isPresent()) {
            Netns.ip("-n", pod, "-6", "route", "add", "default", "via", network.ipv6(1));
        }
    }

    static void sysctl(String ns, String setting) {
        Netns.run(new ArrayList<>(List.of("ip", "netns", "exec", ns, "sysctl", "-q", "-w", setting)));
    }

    /** Deletes the four namespaces (and with them every link and device in them). */
    @Override
    public void close() {
        netns.close();
    }
}
