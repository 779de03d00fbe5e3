package io.isthmus.gateway.tunnel;

import io.isthmus.tunnel.TunnelDataPlane;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.testing.Echo;
import io.isthmus.testing.TwoClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.BooleanSupplier;

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
 */
final class TwoGatewayTunnel implements AutoCloseable {
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");

    final TwoClusterTopology topology;
    final NetNamespace podEast;
    final NetNamespace gwEast;
    final NetNamespace gwWest;
    final NetNamespace podWest;
    private final Path dir;
    private final String planBlock;
    private final int base;
    private final List<AutoCloseable> servers = new ArrayList<>();
    Gateway east;
    Gateway west;

    /**
     * @param podEastNet the pod network behind east's gateway, "10.150.1" (a /24: .1 the gateway, .2 the pod)
     * @param planBlock  the gateways' {@code plan { ... }} settings
     */
    TwoGatewayTunnel(Path dir, String podEastNet, String podWestNet, String planBlock) throws Exception {
        this.dir = dir;
        this.planBlock = planBlock;
        this.base = freePorts(10);
        topology = TwoClusterTopology.create("itw", Network.of(podEastNet), Network.of("192.168.78"),
                Network.of(podWestNet));
        podEast = NetNamespace.named(topology.podA());
        gwEast = NetNamespace.named(topology.gatewayA());
        gwWest = NetNamespace.named(topology.gatewayB());
        podWest = NetNamespace.named(topology.podB());
        try {
            ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
            for (ClusterId cluster : List.of(EAST, WEST)) {
                ca.issue(cluster, Duration.ofDays(1)).writeTo(dir.resolve(cluster.value()).resolve("tls"));
            }
            east = startEast();
            west = startWest();
            awaitTrue("peer links up", Duration.ofSeconds(60), () -> linkUp(east) && linkUp(west));
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    Gateway startEast() {
        return start(0, EAST, gwEast, "192.168.78.1");
    }

    Gateway startWest() {
        return start(1, WEST, gwWest, "192.168.78.2");
    }

    private Gateway start(int index, ClusterId cluster, NetNamespace namespace, String underlay) {
        int ports = base + 5 * index;
        int peer = base + 5 * (1 - index) + 1;
        return Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = %d
                  admin.auth.enabled = off  # DataPlaneFiltersTest reads /api/v1/status; auth is not what these test
                  peering { port = %d, peers = ["127.0.0.1:%d"], reconnect-max-backoff = 1s, import-ttl = 30s }
                  dns.port = %d
                  replicas.port = %d
                  %s
                  tunnel {
                    enabled = on
                    listen = "%s:51820"
                    namespace = "%s"
                    queues = 2
                  }
                }
                """.formatted(cluster.value(), dir.resolve(cluster.value()).toString(), ports, ports + 1, peer,
                ports + 2, ports + 3, planBlock, underlay, namespace.name())), dir));
    }

    private static boolean linkUp(Gateway gateway) {
        return gateway.mesh() != null && gateway.mesh().links().values().stream().anyMatch(l -> l.state() == LinkState.UP);
    }

    static TunnelDataPlane tunnel(Gateway gateway) {
        return gateway.tunnel().orElseThrow(() -> new AssertionError("the gateway runs no tunnel"));
    }

    /** A UDP echo bound to {@code ip:port} and a TCP echo on {@code 0.0.0.0:port}, both inside {@code ns}. */
    void echo(NetNamespace ns, String ip, int port, boolean tcp) throws Exception {
        DatagramSocket udp = ns.call(() -> new DatagramSocket(new InetSocketAddress(ip, port)));
        servers.add(udp);
        Echo.serveUdp(udp);
        if (!tcp) {
            return;
        }
        ServerSocket server = ns.call(() -> new ServerSocket(port, 16, java.net.InetAddress.ofLiteral("0.0.0.0")));
        servers.add(server);
        Echo.serveTcp(server);
    }

    /** One UDP round trip from {@code from} to {@code to:port}; null when no answer came within a second. */
    static byte[] udp(NetNamespace from, String to, int port, byte[] message) throws Exception {
        return from.call(() -> Echo.udpRoundTrip(new InetSocketAddress(to, port), message, Duration.ofSeconds(1)));
    }

    /** Sends {@code data} over TCP from {@code from} to {@code to:port} and returns what came back. */
    static byte[] tcp(NetNamespace from, String to, int port, byte[] data) throws Exception {
        return from.call(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(to, port), 5000);
                socket.setSoTimeout(20_000);
                Thread writer = Thread.ofPlatform().start(() -> {
                    try {
                        socket.getOutputStream().write(data);
                        socket.shutdownOutput();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                byte[] back = socket.getInputStream().readAllBytes();
                writer.join();
                return back;
            }
        });
    }

    /** UDP round trips until one is answered (keys and routes take a moment after the start). */
    static byte[] udpOnceReady(NetNamespace from, String to, int port, byte[] message, Duration patience,
                               Supplier<String> state) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        while (System.nanoTime() < deadline) {
            byte[] reply = udp(from, to, port, message);
            if (reply != null) {
                return reply;
            }
        }
        throw new AssertionError("no UDP echo from " + to + ":" + port + " within " + patience.toSeconds() + " s; "
                + state.get());
    }

    interface Supplier<T> {
        T get();
    }

    static void awaitTrue(String what, Duration patience, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + patience.toSeconds() + " s: " + what);
            }
            Thread.sleep(100);
        }
    }

    /** Both gateways' tunnel status, for failure messages. */
    String state() {
        StringBuilder out = new StringBuilder();
        for (Gateway gateway : new Gateway[] {east, west}) {
            if (gateway != null && gateway.tunnel().isPresent()) {
                TunnelDataPlane plane = gateway.tunnel().get();
                out.append(gateway.config().clusterId()).append(": ").append(plane.stats()).append(" routes ")
                        .append(plane.installedRoutes()).append(" problems ").append(plane.routes().problems())
                        .append(plane.routeErrors()).append("; ");
            }
        }
        return out.toString();
    }

    private static int freePorts(int count) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int first = ThreadLocalRandom.current().nextInt(20_000, 32_000); // below Linux's ephemeral range (32768-60999): outgoing connections never take them
            boolean free = true;
            for (int port = first; port < first + count && free; port++) {
                try (ServerSocket tcp = new ServerSocket(); DatagramSocket udp = new DatagramSocket(null)) {
                    tcp.bind(new InetSocketAddress("127.0.0.1", port));
                    udp.bind(new InetSocketAddress("127.0.0.1", port));
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return first;
            }
        }
        throw new IllegalStateException("no block of " + count + " free ports");
    }

    @Override
    public void close() {
        for (AutoCloseable closeable : servers) {
            try {
                closeable.close();
            } catch (Exception e) {
                System.err.println("closing " + closeable + ": " + e);
            }
        }
        for (Gateway gateway : new Gateway[] {east, west}) {
            if (gateway != null) {
                try {
                    gateway.close();
                } catch (RuntimeException e) {
                    System.err.println("closing gateway: " + e);
                }
            }
        }
        topology.close();
    }
}
