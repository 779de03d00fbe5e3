package io.isthmus.gateway.tunnel;

import io.isthmus.fastpath.XdpFilter;
import io.isthmus.tunnel.DropReason;
import io.isthmus.tunnel.PeerStats;
import io.isthmus.tunnel.XdpUnderlay;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.EAST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.WEST;
import static io.isthmus.gateway.tunnel.TwoGatewayTunnel.tunnel;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Needs root. Two real gateways with {@code tunnel.xdp = generic} on their underlay veth (found from the listen
 * address): traffic flows through the filter, the filter's maps follow the engine (peers, sessions, floors, a
 * restart), and datagrams forged by hand from west's namespace are dropped before the engine sees them — a stranger's,
 * one to an ended session, a replay below the window — while an unannounced source on a live session passes on to
 * the engine (which then refuses it: the forgery does not authenticate). The oracle is the engine's own drop counters:
 * what XDP drops never reaches them, what it passes does.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class XdpBetweenGatewaysTest {
    private static final String EAST_POD = "10.152.1.2";
    private static final int PORT = 7009;
    private static final String EAST_UNDERLAY = "192.168.78.1";
    private static final String WEST_UNDERLAY = "192.168.78.2";
    /** Another address on west's underlay interface: a source no peer announced. */
    private static final String STRANGER = "192.168.78.9";
    private TwoGatewayTunnel clusters;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        clusters = new TwoGatewayTunnel(dir, "10.152.1", "10.152.2", """
                plan {
                  members = [east, west]
                  supernets.pod = [{cidr = "10.152.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                tunnel { xdp = generic }
                """);
        clusters.east.addressPlan().claim("pod", "10.152.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("pod", "10.152.2.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.echo(clusters.podEast, EAST_POD, PORT, true);
        io.isthmus.testing.Netns.ip("-n", clusters.gwWest.name(), "addr", "add", STRANGER + "/24", "dev", "u0");
    }

    @AfterAll
    void stop() {
        if (clusters != null) {
            clusters.close();
        }
    }

    @Test
    @Order(1)
    void trafficFlowsThroughTheFilterAndItsMapsFollowTheEngine() throws Exception {
        byte[] hello = "hello through xdp".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        byte[] data = new byte[4 << 20]; // > 2,000 packets each way: the floors rise above 0
        ThreadLocalRandom.current().nextBytes(data);
        assertArrayEquals(data, TwoGatewayTunnel.tcp(clusters.podWest, EAST_POD, PORT, data));

        XdpUnderlay east = xdp(clusters.east);
        assertTrue(east.describe().startsWith("xdp generic on u0 (tunnel.xdp = generic)"), east.describe());
        assertTrue(Files.exists(UnderlayXdp.PIN_ROOT.resolve(clusters.gwEast.name() + "-u0").resolve("ist_sessions")));
        assertEquals(Set.of(InetAddress.ofLiteral(WEST_UNDERLAY)), east.filter().peers());
        assertEquals(tunnel(clusters.east).receiveFloors().keySet(), east.filter().sessions().keySet(),
                "the filter's sessions are the engine's");
        Map<XdpFilter.Reason, Long> counts = east.filter().counters();
        // A UDP GSO run that veth carries whole is one packet to XDP: fewer than the tunnel's datagrams, still many.
        assertTrue(counts.get(XdpFilter.Reason.PASSED_TUNNEL) > 100, counts.toString());
        assertEquals(0L, counts.get(XdpFilter.Reason.DROPPED_STALE_COUNTER), counts.toString());
        assertEquals(0L, counts.get(XdpFilter.Reason.DROPPED_UNKNOWN_SESSION), counts.toString());
        assertEquals(0L, east.mapFailures());
    }

    @Test
    @Order(2)
    void forgedDatagramsAreDroppedBeforeTheEngineUnlessTheyNameALiveSession() throws Exception {
        XdpUnderlay east = xdp(clusters.east);
        // The session west seals with now, and its lane with the highest floor (published every 500 ms).
        // Picked again on every poll: under load a rekey can replace the session between two looks.
        int index = 0;
        long[] published = new long[XdpFilter.LANES];
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (max(published) == 0 && System.nanoTime() < deadline) {
            index = tunnel(clusters.east).receiveFloors().entrySet().stream()
                    .max(java.util.Comparator.comparingLong(e -> max(e.getValue()))).orElseThrow().getKey();
            long[] floors = east.filter().sessions().get(index);
            published = floors == null ? new long[XdpFilter.LANES] : floors;
            if (max(published) == 0) {
                Thread.sleep(100);
            }
        }
        int lane = 0;
        for (int l = 0; l < published.length; l++) {
            lane = published[l] > published[lane] ? l : lane;
        }
        long floor = published[lane];
        assertTrue(floor > 0, "a floor above 0 after the bulk transfer: " + java.util.Arrays.toString(published));
        Map<XdpFilter.Reason, Long> before = east.filter().counters();
        PeerStats westBefore = tunnel(clusters.east).stats().peer(WEST).orElseThrow();
        long unknownIndexBefore = tunnel(clusters.east).stats().unattributed(DropReason.UNKNOWN_INDEX);

        send(STRANGER, datagram(index ^ 0x5a5a, lane, floor + 10)); // stranger, no session: dropped in XDP
        send(WEST_UNDERLAY, datagram(index ^ 0x5a5a, lane, floor + 10)); // the peer, an ended session: dropped
        send(WEST_UNDERLAY, datagram(index, lane, floor - 1)); // the peer, below the window: dropped
        send(STRANGER, datagram(index, lane, 0)); // a stranger's replay: dropped
        send(STRANGER, datagram(index, lane, floor + 1_000_000)); // NAT/roaming: passes on to the engine
        send(WEST_UNDERLAY, datagram(index, lane, floor + 1_000_001)); // the peer, fresh: passes on to the engine

        awaitCount(east, XdpFilter.Reason.PASSED_UNANNOUNCED_SOURCE, before, 1);
        Map<XdpFilter.Reason, Long> after = east.filter().counters();
        assertEquals(1L, delta(after, before, XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE), after.toString());
        assertEquals(1L, delta(after, before, XdpFilter.Reason.DROPPED_UNKNOWN_SESSION), after.toString());
        assertEquals(2L, delta(after, before, XdpFilter.Reason.DROPPED_STALE_COUNTER), after.toString());
        assertEquals(1L, delta(after, before, XdpFilter.Reason.PASSED_UNANNOUNCED_SOURCE), after.toString());
        // The two that passed reached the engine, which refused them as forgeries; the four dropped never did.
        awaitTrue(() -> tunnel(clusters.east).stats().peer(WEST).orElseThrow().drops(DropReason.AUTH_FAILURE)
                == westBefore.drops(DropReason.AUTH_FAILURE) + 2, "the engine sees the two that passed");
        PeerStats westAfter = tunnel(clusters.east).stats().peer(WEST).orElseThrow();
        assertEquals(westBefore.drops(DropReason.REPLAY), westAfter.drops(DropReason.REPLAY), westAfter.toString());
        assertEquals(unknownIndexBefore, tunnel(clusters.east).stats().unattributed(DropReason.UNKNOWN_INDEX));

        String metrics = clusters.east.metricsText();
        for (String line : new String[] {"isthmus_tunnel_xdp_packets_total{verdict=\"dropped\",reason=\"stale_counter\"}",
                "isthmus_tunnel_xdp_packets_total{verdict=\"passed\",reason=\"unannounced_source\"}",
                "isthmus_tunnel_xdp_packets_total{verdict=\"dropped\",reason=\"unknown_session\"}",
                "isthmus_tunnel_xdp_info{path=\"xdp generic on u0"}) {
            assertTrue(metrics.contains(line), line + " in\n" + metrics);
        }
        String status = TunnelStatus.text(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(
                TunnelStatus.json(new com.fasterxml.jackson.databind.ObjectMapper(), clusters.east.tunnel())));
        assertTrue(status.contains("underlay pre-filter: xdp generic on u0"), status);
        assertTrue(status.contains("1 from unannounced sources on a live session"), status);
        assertTrue(status.contains("stale_counter 2"), status);
    }

    @Test
    @Order(3)
    void aRestartedPeerIsKeyedAnewAndItsOldSessionsLeaveTheMap() throws Exception {
        XdpUnderlay east = xdp(clusters.east);
        Set<Integer> old = east.filter().sessions().keySet();
        clusters.west.close();
        clusters.west = null;
        clusters.west = clusters.startWest();
        byte[] message = "after west restarted".getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(message, TwoGatewayTunnel.udpOnceReady(clusters.podWest, EAST_POD, PORT, message,
                Duration.ofSeconds(60), clusters::state));
        awaitTrue(() -> {
            try {
                Set<Integer> now = east.filter().sessions().keySet();
                return now.equals(tunnel(clusters.east).receiveFloors().keySet()) && now.stream().noneMatch(old::contains);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "east's map holds the new sessions only (the old ones retire after their grace)");
        assertEquals(Set.of(InetAddress.ofLiteral(WEST_UNDERLAY)), east.filter().peers());
        assertTrue(xdp(clusters.west).describe().startsWith("xdp generic on u0"), "west attached again");
    }

    private static XdpUnderlay xdp(io.isthmus.gateway.Gateway gateway) {
        return (XdpUnderlay) tunnel(gateway).underlayFilter();
    }

    /** A tunnel header written out by hand (type data, lane, reserved, index, counter) and 32 bytes of junk. */
    private static byte[] datagram(int index, int lane, long counter) {
        ByteBuffer datagram = ByteBuffer.allocate(48);
        // type DATA, the lane, the current wire version (the session's: else the engine counts WRONG_VERSION)
        datagram.put((byte) 1).put((byte) lane).put((byte) io.isthmus.tunnel.WireFormat.VERSION).put((byte) 0)
                .putInt(index).putLong(counter);
        return datagram.array();
    }

    private void send(String from, byte[] datagram) throws Exception {
        clusters.gwWest.call(() -> {
            try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(from, 0))) {
                socket.send(new DatagramPacket(datagram, datagram.length, new InetSocketAddress(EAST_UNDERLAY, 51820)));
            }
            return null;
        });
    }

    private static long max(long[] values) {
        long max = 0;
        for (long value : values) {
            max = Math.max(max, value);
        }
        return max;
    }

    private static long delta(Map<XdpFilter.Reason, Long> after, Map<XdpFilter.Reason, Long> before,
                              XdpFilter.Reason reason) {
        return after.get(reason) - before.get(reason);
    }

    private static void awaitCount(XdpUnderlay xdp, XdpFilter.Reason reason, Map<XdpFilter.Reason, Long> before,
                                   long delta) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (xdp.filter().counters().get(reason) - before.get(reason) < delta && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        Thread.sleep(200); // the others were sent before; let them land too
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws Exception {
        GatewayTunnels.awaitTrue(what, Duration.ofSeconds(30), condition);
    }
}
