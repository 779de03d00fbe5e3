package io.isthmus.gateway.tunnel;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.testing.Echo;
import io.isthmus.tunnel.TunnelDataPlane;

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
import java.util.stream.Collectors;

/**
 * What the two- and three-cluster gateway fixtures ({@link TwoGatewayTunnel}, {@link ThreeGatewayTunnel}) share:
 * real gateways started in this JVM, one per cluster, peering over loopback with mutual TLS from one clusterset CA,
 * each running its tunnel in a gateway network namespace; echo servers in pod namespaces; UDP and TCP round trips
 * from a pod; waiting; the tunnels' state for failure messages. Cluster {@code i} has the block of five loopback
 * ports from {@code base + 5 i}: admin, peering, DNS, replicas (and one spare). Needs root.
 */
abstract class GatewayTunnels implements AutoCloseable {
    final Path dir;
    private final String planBlock;
    private final int base;
    private final List<AutoCloseable> servers = new ArrayList<>();

    GatewayTunnels(Path dir, String planBlock, int clusters) {
        this.dir = dir;
        this.planBlock = planBlock;
        this.base = freePorts(5 * clusters);
    }

    /** The gateways running now (some may be null while a test restarts one), for the state and close. */
    abstract List<Gateway> gateways();

    /** Deletes the namespaces. */
    abstract void closeTopology();

    /** One clusterset CA under {@code dir/ca} and a certificate for each cluster under {@code dir/CLUSTER/tls}. */
    void issueCertificates(List<ClusterId> clusters) throws Exception {
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        for (ClusterId cluster : clusters) {
            ca.issue(cluster, Duration.ofDays(1)).writeTo(dir.resolve(cluster.value()).resolve("tls"));
        }
    }

    int peeringPort(int index) {
        return base + 5 * index + 1;
    }

    /**
     * Starts cluster {@code index}'s gateway with its tunnel listening on {@code underlay:51820} in {@code namespace}
     * and peering with {@code peers} (loopback ports).
     */
    Gateway start(int index, ClusterId cluster, NetNamespace namespace, String underlay, List<Integer> peers) {
        return start(index, cluster, namespace, underlay, peers, "");
    }

    /** As above, with {@code tunnelSettings} added to its {@code tunnel} block. */
    Gateway start(int index, ClusterId cluster, NetNamespace namespace, String underlay, List<Integer> peers,
                  String tunnelSettings) {
        int ports = base + 5 * index;
        String peerList = peers.stream().map(port -> "\"127.0.0.1:" + port + "\"").collect(Collectors.joining(", "));
        return Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = %d
                  admin.auth.enabled = off  # DataPlaneFiltersTest reads /api/v1/status; auth is not what these test
                  peering { port = %d, peers = [%s], reconnect-max-backoff = 1s, import-ttl = 30s }
                  dns.port = %d
                  replicas.port = %d
                  %s
                  tunnel {
                    enabled = on
                    listen = "%s:51820"
                    namespace = "%s"
                    queues = 2
                    %s
                  }
                }
                """.formatted(cluster.value(), dir.resolve(cluster.value()).toString(), ports, ports + 1, peerList,
                ports + 2, ports + 3, planBlock, underlay, namespace.name(), tunnelSettings)), dir));
    }

    /** Whether {@code gateway} has a peering link up to each of {@code remotes}. */
    static boolean linksUp(Gateway gateway, List<ClusterId> remotes) {
        return gateway != null && gateway.mesh() != null && remotes.stream().allMatch(remote ->
                gateway.mesh().links().values().stream().anyMatch(l -> l.remote() != null
                        && l.remote().equals(remote) && l.state() == LinkState.UP));
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
        return udp(from, to, port, message, Duration.ofSeconds(1));
    }

    /** One UDP round trip; null when no answer came within {@code patience}. */
    static byte[] udp(NetNamespace from, String to, int port, byte[] message, Duration patience) throws Exception {
        return from.call(() -> Echo.udpRoundTrip(new InetSocketAddress(to, port), message, patience));
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

    /** Every gateway's tunnel status, for failure messages. */
    String state() {
        StringBuilder out = new StringBuilder();
        for (Gateway gateway : gateways()) {
            if (gateway != null && gateway.tunnel().isPresent()) {
                TunnelDataPlane plane = gateway.tunnel().get();
                out.append(gateway.config().clusterId()).append(": ").append(plane.policy()).append("; ")
                        .append(plane.stats()).append(" routes ").append(plane.installedRoutes()).append(" problems ")
                        .append(plane.routes().problems()).append(plane.routeErrors()).append("; ");
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

    /** Stops the echo servers, the gateways, then deletes the namespaces; reports what failed and goes on. */
    @Override
    public void close() {
        for (AutoCloseable closeable : servers) {
            try {
                closeable.close();
            } catch (Exception e) {
                System.err.println("closing " + closeable + ": " + e);
            }
        }
        for (Gateway gateway : gateways()) {
            if (gateway != null) {
                try {
                    gateway.close();
                } catch (RuntimeException e) {
                    System.err.println("closing gateway: " + e);
                }
            }
        }
        closeTopology();
    }
}
