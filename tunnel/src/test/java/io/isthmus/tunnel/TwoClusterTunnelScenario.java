package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.testing.Echo;
import io.isthmus.testing.TwoClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;
import java.io.DataInputStream;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Both TUN paths: with the vnet header and TSO/GRO offloads (what the gateway uses), and plain.
 *
 * <p>Needs root: two clusters in network namespaces (pod — gateway — gateway — pod), the gateways joined by the
 * tunnel running in this JVM, each endpoint's loops on threads pinned into its gateway namespace. The namespaces
 * are made for the test and deleted afterwards, also when it fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class TwoClusterTunnelScenario {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private TwoClusterTopology topology;
    private NetNamespace podA;
    private NetNamespace podB;
    private NamespacePair tunnel;
    private DatagramSocket udpEcho4;
    private DatagramSocket udpEcho6;
    private ServerSocket tcpEcho;

    abstract boolean offload();

    @BeforeAll
    void start() throws Exception {
        topology = TwoClusterTopology.create("itn", Network.of("10.1.0", "fd00:1:"), Network.of("192.168.77", "fd77:"),
                Network.of("10.2.0", "fd00:2:"));
        podA = NetNamespace.named(topology.podA());
        podB = NetNamespace.named(topology.podB());
        try {
            tunnel = NamespacePair.start(
                    new NamespacePair.Side(EAST, NetNamespace.named(topology.gatewayA()), Packets.address("192.168.77.1"),
                            List.of(Cidr.parse("r", "10.1.0.0/16"), Cidr.parse("r", "fd00:1::/48"))),
                    new NamespacePair.Side(WEST, NetNamespace.named(topology.gatewayB()), Packets.address("192.168.77.2"),
                            List.of(Cidr.parse("r", "10.2.0.0/16"), Cidr.parse("r", "fd00:2::/48"))),
                    2, offload(), Suite.AES_256_GCM, RekeyPolicy.defaults());
            udpEcho4 = podB.call(() -> new DatagramSocket(new InetSocketAddress("10.2.0.2", 7007)));
            udpEcho6 = podB.call(() -> new DatagramSocket(new InetSocketAddress("fd00:2::2", 7007)));
            tcpEcho = podB.call(() -> new ServerSocket(7007, 5, Packets.address("10.2.0.2")));
            Echo.serveUdp(udpEcho4);
            Echo.serveUdp(udpEcho6);
            Echo.serveTcp(tcpEcho);
        } catch (Exception | Error e) {
            stop();
            throw e;
        }
    }

    @AfterAll
    void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {udpEcho4, udpEcho6, tcpEcho, tunnel, topology}) {
            try {
                if (closeable != null) {
                    closeable.close();
                }
            } catch (Exception e) {
                System.err.println("closing " + closeable + ": " + e);
            }
        }
    }

    private byte[] udpRoundTrip(NetNamespace from, String to, byte[] message) throws Exception {
        for (int attempt = 1; attempt <= 3; attempt++) { // the first may wait on ARP/neighbour discovery
            byte[] reply = from.call(() -> Echo.udpRoundTrip(new InetSocketAddress(to, 7007), message, Duration.ofSeconds(1)));
            if (reply != null) {
                return reply;
            }
        }
        throw new AssertionError("no UDP echo from " + to + " in 3 attempts; east " + tunnel.engineA().stats()
                + " west " + tunnel.engineB().stats());
    }

    /** Counters move just after a packet is written to the TUN device, so a moment after the pod saw it. */
    private static void awaitCounted(java.util.function.BooleanSupplier counted) throws InterruptedException {
        for (int i = 0; i < 100 && !counted.getAsBoolean(); i++) {
            Thread.sleep(20);
        }
    }

    @Test
    void aPodReachesAPodOfTheOtherClusterOverUdpIpv4AndIpv6() throws Exception {
        for (int i = 0; i < 20; i++) {
            byte[] message = ("hello " + i).getBytes();
            assertArrayEquals(message, udpRoundTrip(podA, "10.2.0.2", message));
            assertArrayEquals(message, udpRoundTrip(podA, "fd00:2::2", message));
        }
        awaitCounted(() -> tunnel.engineA().stats().peer(WEST).orElseThrow().receivedPackets() >= 40);
        PeerStats westSeenByEast = tunnel.engineA().stats().peer(WEST).orElseThrow();
        assertTrue(westSeenByEast.receivedPackets() >= 40, westSeenByEast.toString());
        assertEquals(0, westSeenByEast.drops(DropReason.AUTH_FAILURE));
        assertEquals(0, westSeenByEast.drops(DropReason.WRONG_SOURCE));
    }

    @Test
    void aPodReachesAPodOfTheOtherClusterOverTcp() throws Exception {
        byte[] data = new byte[4 << 20];
        ThreadLocalRandom.current().nextBytes(data);
        byte[] echoed = podA.call(() -> {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getByName("10.2.0.2"), 7007), 5000);
                socket.setSoTimeout(20_000);
                Thread writer = Thread.ofPlatform().start(() -> {
                    try {
                        socket.getOutputStream().write(data);
                        socket.shutdownOutput();
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                byte[] back = new byte[data.length];
                new DataInputStream(socket.getInputStream()).readFully(back);
                writer.join();
                return back;
            }
        });
        assertArrayEquals(data, echoed);
        awaitCounted(() -> tunnel.engineB().stats().peer(EAST).orElseThrow().receivedBytes() >= data.length);
        PeerStats eastSeenByWest = tunnel.engineB().stats().peer(EAST).orElseThrow();
        assertTrue(eastSeenByWest.receivedBytes() >= data.length, eastSeenByWest.toString());
    }
}
