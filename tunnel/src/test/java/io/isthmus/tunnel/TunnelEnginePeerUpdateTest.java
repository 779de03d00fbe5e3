package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the gateway changes while the tunnel runs: a peer's ranges and endpoint, and the translation. */
class TunnelEnginePeerUpdateTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");
    private final SecureRandom random = new SecureRandom();
    private final Clock clock = Clock.systemUTC();
    private MemoryDevice eastDevice;
    private MemoryDevice westDevice;
    private TunnelEngine east;
    private TunnelEngine west;

    @AfterEach
    void stop() {
        for (TunnelEngine engine : new TunnelEngine[] {east, west}) {
            if (engine != null) {
                engine.close();
            }
        }
    }

    private void connect() throws Exception {
        eastDevice = new MemoryDevice(1);
        westDevice = new MemoryDevice(1);
        east = TunnelEngine.start(TunnelEngine.Config.defaults(new InetSocketAddress("127.0.0.1", 0)),
                eastDevice.queues(), TunnelEngine.ThreadStarter.platform(), clock);
        west = TunnelEngine.start(TunnelEngine.Config.defaults(new InetSocketAddress("127.0.0.1", 0)),
                westDevice.queues(), TunnelEngine.ThreadStarter.platform(), clock);
        east.addPeer(WEST, west.localAddress(), List.of(Cidr.parse("r", "10.2.0.0/16")));
        west.addPeer(EAST, east.localAddress(), List.of(Cidr.parse("r", "10.1.0.0/16")));
        east.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.1.0.0/16"))));
        // west's own: its pods and the ClusterIP it exports
        west.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.2.0.0/16"), Cidr.parse("r", "10.96.0.10/32"))));
        PeerKeys eastKeys = new PeerKeys(east, new KeyExchange(KeyExchangeTest.EAST, KeyExchangeTest.WEST,
                Suite.AES_256_GCM, new ReceiverIndexes(random), random, clock), RekeyPolicy.defaults(), clock);
        PeerKeys westKeys = new PeerKeys(west, new KeyExchange(KeyExchangeTest.WEST, KeyExchangeTest.EAST,
                Suite.AES_256_GCM, new ReceiverIndexes(random), random, clock), RekeyPolicy.defaults(), clock);
        Optional<TunnelMessage> accept = westKeys.onMessage(eastKeys.start());
        eastKeys.onMessage(accept.orElseThrow());
        for (int i = 0; i < 500 && west.currentSession(EAST) == null; i++) {
            Thread.sleep(10);
        }
        assertNotNull(west.currentSession(EAST), "west confirmed the session by east's keepalive");
    }

    private static byte[] cross(MemoryDevice from, MemoryDevice to, byte[] packet) throws InterruptedException {
        from.inject(packet);
        return to.take(5_000);
    }

    @Test
    void newRangesOfAPeerAreRoutedAndAcceptedWithoutANewHandshake() throws Exception {
        connect();
        Session before = east.currentSession(WEST);
        byte[] toService = Packets.udp("10.1.0.5", "10.96.0.10", 4000, 53, "to a ClusterIP".getBytes());
        byte[] fromService = Packets.udp("10.96.0.10", "10.1.0.5", 53, 4000, "answer".getBytes());
        assertEquals(null, cross(eastDevice, westDevice, toService), "not yet a range of west's");
        assertEquals(null, cross(westDevice, eastDevice, fromService), "not yet a source east accepts from west");
        assertEquals(1, east.stats().unattributed(DropReason.NO_ROUTE));
        assertEquals(1, east.stats().peer(WEST).orElseThrow().drops(DropReason.WRONG_SOURCE));

        east.updatePeer(WEST, west.localAddress(), List.of(Cidr.parse("r", "10.2.0.0/16"),
                Cidr.parse("r", "10.96.0.10/32")));
        assertArrayEquals(toService, cross(eastDevice, westDevice, toService));
        assertArrayEquals(fromService, cross(westDevice, eastDevice, fromService));
        assertSame(before, east.currentSession(WEST), "the session stays");
    }

    @Test
    void anUpdateThatOverlapsAnotherPeerChangesNothing() throws Exception {
        connect();
        east.addPeer(EDGE, new InetSocketAddress("127.0.0.1", 9), List.of(Cidr.parse("r", "10.3.0.0/16")));
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> east.updatePeer(WEST,
                west.localAddress(), List.of(Cidr.parse("r", "10.3.1.0/24"))));
        assertEquals("tunnel.peer.west.ranges", e.field());
        byte[] packet = Packets.udp("10.1.0.5", "10.2.0.9", 4000, 53, "still routed".getBytes());
        assertArrayEquals(packet, cross(eastDevice, westDevice, packet));
    }

    @Test
    void aTranslationSetWhileRunningRewritesFromThenOn() throws Exception {
        connect();
        west.updatePeer(EAST, east.localAddress(), List.of(Cidr.parse("r", "172.30.1.0/24")));
        east.translate(new Translation(List.of(new Translation.Mapping(Cidr.parse("r", "10.1.0.0/24"),
                Cidr.parse("g", "172.30.1.0/24")))));
        byte[] packet = Packets.tcp("10.1.0.5", "10.2.0.9", 1, 0, "translated".getBytes());
        byte[] delivered = cross(eastDevice, westDevice, packet);
        assertNotNull(delivered);
        assertEquals("172.30.1.5", java.net.InetAddress.getByAddress(java.util.Arrays.copyOfRange(delivered, 12, 16))
                .getHostAddress());
        assertTrue(Packets.checksumsValid(delivered, 0, delivered.length), "IPv4 and TCP checksums fixed");
    }
}
