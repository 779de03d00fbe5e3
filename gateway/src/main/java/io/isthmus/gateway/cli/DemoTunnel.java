package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.Cidr;
import io.isthmus.fastpath.NetNamespace;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The tunnel part of {@code isthmus demo} (root only): east and west each get a gateway namespace, where their
 * gateway opens its TUN device and tunnel sockets (joined by an underlay veth), and a pod namespace behind it with
 * an address in the cluster's pod segment. A TCP echo runs in east's pod; west's pod connects to it, and to east's
 * exported ClusterIP (answered in east's pod), across the encrypted tunnel. The namespaces are made with {@code ip}
 * (as an operator would) and deleted by {@link #close()}.
 */
public final class DemoTunnel implements AutoCloseable {
    public static final List<String> CLUSTERS = List.of("east", "west");
    private static final int ECHO_PORT = 7007;
    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private ServerSocket echo;

    private DemoTunnel(String prefix) {
        this.prefix = prefix;
    }

    /** Why the demo cannot show the tunnel here, or empty when it can. */
    public static Optional<String> unavailable() {
        String uid;
        try {
            Process id = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            uid = new String(id.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            id.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException | InterruptedException e) {
            return Optional.of("cannot tell whether this runs as root (" + e.getMessage() + ")");
        }
        if (!uid.equals("0")) {
            return Optional.of("it needs root (network namespaces, veth links and TUN devices need CAP_SYS_ADMIN and"
                    + " CAP_NET_ADMIN); run `sudo ./isthmus demo` to see it");
        }
        try {
            HostCommand.run(List.of("ip", "-V"));
        } catch (IOException e) {
            return Optional.of("the `ip` command (iproute2) is missing: " + e.getMessage());
        }
        return Optional.empty();
    }

    /** Makes the gateway namespaces and the underlay between them ({@code id} keeps parallel demos apart). */
    public static DemoTunnel prepare(int id) throws IOException {
        DemoTunnel demo = new DemoTunnel("isd" + id);
        try {
            for (String cluster : CLUSTERS) {
                for (String role : List.of("gw", "pod")) {
                    String ns = demo.namespace(cluster, role);
                    if (java.nio.file.Files.exists(java.nio.file.Path.of("/var/run/netns", ns))) {
                        HostCommand.run(List.of("ip", "netns", "del", ns)); // left over by a demo that was killed
                    }
                    HostCommand.run(List.of("ip", "netns", "add", ns));
                    demo.namespaces.add(ns);
                    ip(ns, "link", "set", "lo", "up");
                }
            }
            veth(demo.namespace("east", "gw"), "u0", demo.namespace("west", "gw"), "u0");
            ip(demo.namespace("east", "gw"), "addr", "add", underlay("east") + "/24", "dev", "u0");
            ip(demo.namespace("west", "gw"), "addr", "add", underlay("west") + "/24", "dev", "u0");
            return demo;
        } catch (IOException | RuntimeException e) {
            demo.close();
            throw e;
        }
    }

    private String namespace(String cluster, String role) {
        return prefix + "-" + cluster + "-" + role;
    }

    private static String underlay(String cluster) {
        return cluster.equals("east") ? "192.168.79.1" : "192.168.79.2";
    }

    /** The {@code tunnel { ... }} block of a cluster's gateway config ("" for a cluster without a tunnel). */
    public String configFor(String cluster) {
        if (!CLUSTERS.contains(cluster)) {
            return "";
        }
        return "tunnel { enabled = on, listen = \"" + underlay(cluster) + ":51820\", namespace = \""
                + namespace(cluster, "gw") + "\", queues = 1 }";
    }

    /**
     * Gives each pod an address in its cluster's pod segment, starts the echo in east's pod and makes the requests
     * from west's pod; prints what crossed and the tunnel counters.
     *
     * @param segments the address plan as {@code api/v1/ipam/segments} answers it
     * @param status   a cluster's {@code api/v1/status}
     * @param clusterIp east's exported ClusterIP to reach as well
     */
    public void show(PrintWriter out, JsonNode segments, Function<String, JsonNode> status, String clusterIp)
            throws Exception {
        String eastPod = pod("east", podNetwork(segments, "east"), Optional.of(clusterIp));
        String westPod = pod("west", podNetwork(segments, "west"), Optional.empty());
        NetNamespace eastPods = NetNamespace.named(namespace("east", "pod"));
        echo = eastPods.call(() -> new ServerSocket(ECHO_PORT, 16, java.net.InetAddress.ofLiteral("0.0.0.0")));
        serve(echo);
        out.println("Tunnel: east's pod " + eastPod + " and west's pod " + westPod + " (network namespaces "
                + namespace("east", "pod") + ", " + namespace("west", "pod") + "); a TCP echo runs in east's pod");
        NetNamespace westPods = NetNamespace.named(namespace("west", "pod"));
        for (String target : List.of(eastPod, clusterIp)) {
            String message = "hello from west's pod " + westPod + " to " + target;
            String reply = request(westPods, target, message, Duration.ofSeconds(45));
            out.println("  west pod -> " + target + ":" + ECHO_PORT + (target.equals(clusterIp) ? " (east's ClusterIP"
                    + " shop/cart)" : " (east's pod)") + " over the encrypted tunnel: sent \"" + message
                    + "\", got back \"" + reply + "\"");
        }
        out.println("Tunnel counters (./isthmus status):");
        for (String cluster : CLUSTERS) {
            JsonNode tunnel = status.apply(cluster).path("tunnel");
            for (JsonNode peer : tunnel.path("peers")) {
                long drops = 0;
                for (JsonNode count : peer.path("drops")) {
                    drops += count.asLong();
                }
                out.printf("  %s -> %s at %s: sent %d packets (%d B), received %d packets (%d B), %d dropped,"
                                + " keys %s%n", cluster, peer.path("cluster").asText(), peer.path("endpoint").asText(),
                        peer.path("sentPackets").asLong(), peer.path("sentBytes").asLong(),
                        peer.path("receivedPackets").asLong(), peer.path("receivedBytes").asLong(), drops,
                        peer.has("handshakeAgeSeconds") ? String.format(java.util.Locale.ROOT, "%.0f s old (epoch %d)",
                                peer.path("handshakeAgeSeconds").asDouble(), peer.path("epoch").asLong()) : "none yet");
            }
            out.println("  " + cluster + " data path: " + tunnel.path("dataPath").asText());
        }
    }

    /** The last /24 of the cluster's held pod segment: .1 on the gateway side, .2 the pod. */
    private static Cidr podNetwork(JsonNode segments, String cluster) {
        for (JsonNode segment : segments.path("segments")) {
            if (segment.path("cluster").asText().equals(cluster) && segment.path("kind").asText().equals("pod")
                    && segment.path("state").asText().equals("held")) {
                Cidr held = Cidr.parse("segment", segment.path("cidr").asText());
                if (held.isIpv4() && held.prefix() <= 24) {
                    return held.subnet(24, held.subnetCount(24).subtract(BigInteger.ONE));
                }
            }
        }
        throw new IllegalStateException(cluster + " holds no IPv4 pod segment of /24 or more: " + segments);
    }

    private String pod(String cluster, Cidr network, Optional<String> clusterIp) throws IOException {
        String gw = namespace(cluster, "gw");
        String pod = namespace(cluster, "pod");
        String gatewayIp = network.addressAt(1).getHostAddress();
        String podIp = network.addressAt(2).getHostAddress();
        veth(pod, "p0", gw, "d0");
        ip(pod, "addr", "add", podIp + "/24", "dev", "p0");
        ip(gw, "addr", "add", gatewayIp + "/24", "dev", "d0");
        ip(pod, "route", "add", "default", "via", gatewayIp);
        HostCommand.run(List.of("ip", "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
        if (clusterIp.isPresent()) { // kube-proxy's part, in miniature: the ClusterIP is answered by the pod
            ip(pod, "addr", "add", clusterIp.get() + "/32", "dev", "lo");
            ip(gw, "route", "add", clusterIp.get() + "/32", "via", podIp);
        }
        return podIp;
    }

    private static void serve(ServerSocket server) {
        Thread.ofPlatform().daemon().name("demo-echo").start(() -> {
            try {
                while (true) {
                    Socket client = server.accept();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (client; InputStream in = client.getInputStream(); OutputStream o = client.getOutputStream()) {
                            in.transferTo(o);
                        } catch (IOException e) {
                            // the client went away
                        }
                    });
                }
            } catch (IOException e) {
                // closed
            }
        });
    }

    /** Connects from {@code from} until the tunnel carries it (keys and routes settle within seconds). */
    private static String request(NetNamespace from, String to, String message, Duration patience) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                return from.call(() -> {
                    try (Socket socket = new Socket()) {
                        socket.connect(new InetSocketAddress(to, ECHO_PORT), 2000);
                        socket.setSoTimeout(5000);
                        socket.getOutputStream().write(message.getBytes(StandardCharsets.UTF_8));
                        socket.shutdownOutput();
                        return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    }
                });
            } catch (IOException e) {
                last = e;
                Thread.sleep(500);
            }
        }
        throw new IOException("no answer from " + to + ":" + ECHO_PORT + " through the tunnel within "
                + patience.toSeconds() + " s" + (last == null ? "" : ": " + last.getMessage()), last);
    }

    private static void veth(String left, String leftName, String right, String rightName) throws IOException {
        ip(left, "link", "add", leftName, "type", "veth", "peer", "name", rightName, "netns", right);
        ip(left, "link", "set", leftName, "up");
        ip(right, "link", "set", rightName, "up");
    }

    private static void ip(String namespace, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("ip", "-n", namespace));
        command.addAll(List.of(args));
        HostCommand.run(command);
    }

    /** Stops the echo and deletes every namespace made (the gateways' TUN devices go with their processes). */
    @Override
    public void close() {
        if (echo != null) {
            try {
                echo.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        for (String ns : namespaces.reversed()) {
            try {
                HostCommand.run(List.of("ip", "netns", "del", ns));
            } catch (IOException e) {
                System.err.println("could not delete network namespace " + ns + ": " + e.getMessage());
            }
        }
        namespaces.clear();
    }
}
