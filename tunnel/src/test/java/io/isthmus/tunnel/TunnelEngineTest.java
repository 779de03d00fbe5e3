package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.fastpath.BatchedUdpSocket;
import io.isthmus.fastpath.DatagramBatch;
import io.isthmus.testing.SettableClock;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Two engines on loopback UDP, each with an in-process packet device, keyed through their PeerKeys. */
class TunnelEngineTest {
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");

    private final SettableClock clock = new SettableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final SecureRandom random = new SecureRandom();
    private Side east;
    private Side west;

    /** One gateway: device, engine, and its keys for the other side. */
    final class Side implements AutoCloseable {
        final MemoryDevice device;
        final TunnelEngine engine;
        final ReceiverIndexes indexes = new ReceiverIndexes(random);
        PeerKeys keys;

        Side(String listen, int queues) throws Exception {
            this(listen, queues, Translation.none());
        }

        Side(String listen, int queues, Translation translation) throws Exception {
            this(queues, TunnelEngine.Config.defaults(new InetSocketAddress(listen, 0)).withTranslation(translation));
        }

        Side(int queues, TunnelEngine.Config config) throws Exception {
            device = new MemoryDevice(queues);
            engine = TunnelEngine.start(config, device.queues(), TunnelEngine.ThreadStarter.platform(), clock);
        }

        void keyWith(Side other, TunnelIdentity self, TunnelIdentity peer, Suite suite, RekeyPolicy policy) {
            keys = new PeerKeys(engine, new KeyExchange(self, peer, suite, indexes, random, clock), policy, clock);
        }

        @Override
        public void close() {
            engine.close();
        }
    }

    @AfterEach
    void stop() {
        if (east != null) {
            east.close();
        }
        if (west != null) {
            west.close();
        }
    }

    private void connect(String listen, Suite suite, RekeyPolicy policy, int queues) throws Exception {
        connect(listen, suite, policy, queues, true);
    }

    private void connect(String listen, Suite suite, RekeyPolicy policy, int queues, boolean udpOffload)
            throws Exception {
        TunnelEngine.Config config = TunnelEngine.Config.defaults(new InetSocketAddress(listen, 0))
                .withUdpOffload(udpOffload);
        east = new Side(queues, config);
        west = new Side(queues, config);
        east.engine.addPeer(WEST, west.engine.localAddress(),
                List.of(Cidr.parse("r", "10.2.0.0/16"), Cidr.parse("r", "fd00:2::/48")));
        west.engine.addPeer(EAST, east.engine.localAddress(),
                List.of(Cidr.parse("r", "10.1.0.0/16"), Cidr.parse("r", "fd00:1::/48")));
        east.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.1.0.0/16"), Cidr.parse("r", "fd00:1::/48"))));
        west.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.2.0.0/16"), Cidr.parse("r", "fd00:2::/48"))));
        east.keyWith(west, KeyExchangeTest.EAST, KeyExchangeTest.WEST, suite, policy);
        west.keyWith(east, KeyExchangeTest.WEST, KeyExchangeTest.EAST, suite, policy);
        exchange(east, west, east.keys.start());
        awaitTrue(() -> west.engine.currentSession(EAST) != null, "west confirmed the session by the keepalive");
    }

    /** Carries a message over the "peering stream" and the replies back, until nothing is left to say. */
    private static void exchange(Side from, Side to, TunnelMessage message) {
        Optional<TunnelMessage> reply = to.keys.onMessage(message);
        if (reply.isPresent()) {
            exchange(to, from, reply.get());
        }
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    private static byte[] roundTrip(Side from, Side to, byte[] packet) throws InterruptedException {
        from.device.inject(packet);
        byte[] delivered = to.device.take(5_000);
        assertNotNull(delivered, "packet delivered");
        return delivered;
    }

    @Test
    void packetsCrossBothWaysIpv4AndIpv6Inside() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 2);
        byte[] v4 = Packets.udp("10.1.0.5", "10.2.0.7", 4000, 53, "ping".getBytes());
        assertArrayEquals(v4, roundTrip(east, west, v4));
        byte[] back = Packets.udp("10.2.0.7", "10.1.0.5", 53, 4000, "pong".getBytes());
        assertArrayEquals(back, roundTrip(west, east, back));
        byte[] v6 = Packets.udp("fd00:1::5", "fd00:2::7", 4000, 53, "ping6".getBytes());
        assertArrayEquals(v6, roundTrip(east, west, v6));

        awaitTrue(() -> west.engine.stats().peer(EAST).orElseThrow().receivedPackets() == 2
                && east.engine.stats().peer(WEST).orElseThrow().receivedPackets() == 1, "counted after delivery");
        PeerStats west2east = west.engine.stats().peer(EAST).orElseThrow();
        assertEquals(2, west2east.receivedPackets());
        assertEquals(1, west2east.sentPackets());
        assertEquals(v4.length + v6.length, west2east.receivedBytes());
        assertTrue(west2east.handshakeAge().isPresent());
        assertTrue(west2east.drops().values().stream().allMatch(d -> d == 0), west2east.drops().toString());
    }

    /**
     * A policy stage written for the test: denies one flow, read naively from the header (destination address as
     * text and, for UDP, the destination port), and allows the rest.
     */
    private static PacketPolicy denying(PacketPolicy.Direction way, String destination, int port) {
        return new PacketPolicy() {
            @Override
            public Verdict verdict(Direction direction, ClusterId peer, byte[] packet, int at, int length, int version) {
                if (direction != way || version != 4) {
                    return Verdict.ALLOW;
                }
                String to = (packet[at + 16] & 0xFF) + "." + (packet[at + 17] & 0xFF) + "." + (packet[at + 18] & 0xFF)
                        + "." + (packet[at + 19] & 0xFF);
                int headerLength = (packet[at] & 0x0F) * 4;
                int toPort = (packet[at + headerLength + 2] & 0xFF) << 8 | packet[at + headerLength + 3] & 0xFF;
                return to.equals(destination) && toPort == port ? Verdict.DENY : Verdict.ALLOW;
            }

            @Override
            public String describe() {
                return "deny " + way + " to " + destination + ":" + port;
            }
        };
    }

    @Test
    void aPolicyStageThatDeniesAFlowDropsItInEachDirection() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        assertEquals("none (allow all)", east.engine.policy().describe());
        east.engine.usePolicy(denying(PacketPolicy.Direction.OUTBOUND, "10.2.0.7", 53));
        west.engine.usePolicy(denying(PacketPolicy.Direction.INBOUND, "10.2.0.8", 80));

        // Outbound: east's stage drops the flow before the seal; another port to the same pod passes.
        east.device.inject(Packets.udp("10.1.0.5", "10.2.0.7", 4000, 53, "denied".getBytes()));
        byte[] allowed = Packets.udp("10.1.0.5", "10.2.0.7", 4000, 54, "allowed".getBytes());
        assertArrayEquals(allowed, roundTrip(east, west, allowed));
        // Inbound: east seals it, west opens it and its stage drops it before the device.
        east.device.inject(Packets.udp("10.1.0.5", "10.2.0.8", 4000, 80, "denied at west".getBytes()));
        byte[] after = Packets.udp("10.1.0.5", "10.2.0.8", 4000, 81, "allowed at west".getBytes());
        assertArrayEquals(after, roundTrip(east, west, after));

        // Counters move just after a packet is written to the device, so a moment after the test saw it.
        awaitTrue(() -> east.engine.stats().peer(WEST).orElseThrow().drops(DropReason.POLICY_DENIED) == 1
                && west.engine.stats().peer(EAST).orElseThrow().drops(DropReason.POLICY_DENIED) == 1
                && west.engine.stats().peer(EAST).orElseThrow().receivedPackets() == 2,
                "one policy drop counted on each side: " + east.engine.stats() + " / " + west.engine.stats());
        // Four injected: the one east denied was not sealed; the one west denies was.
        assertEquals(3, east.engine.stats().peer(WEST).orElseThrow().sentPackets(), "east's denied one not sealed");
        assertEquals(2, west.engine.stats().peer(EAST).orElseThrow().receivedPackets());
        assertNull(west.device.take(100), "neither denied packet was delivered");
    }

    @Test
    void chaChaAndAnIpv6OuterTransportWorkAlike() throws Exception {
        connect("::1", Suite.CHACHA20_POLY1305, RekeyPolicy.defaults(), 1);
        byte[] v4 = Packets.udp("10.1.0.5", "10.2.0.7", 4000, 53, "over v6".getBytes());
        assertArrayEquals(v4, roundTrip(east, west, v4));
        assertEquals(Suite.CHACHA20_POLY1305, east.engine.currentSession(WEST).suite());
    }

    @Test
    void badDatagramsAreDroppedAndCountedAndTrafficGoesOn() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        // Capture a genuine datagram from east to west by sending one to a socket of ours instead.
        Session eastToWest = east.engine.currentSession(WEST);
        byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, "genuine".getBytes());
        byte[] genuine = new byte[plain.length + WireFormat.OVERHEAD];
        new PacketCipher().seal(eastToWest, WireFormat.TYPE_DATA, 3, 1000L, plain, 0, plain.length, genuine, 0);

        try (DatagramSocket attacker = new DatagramSocket(0, Packets.address("127.0.0.1"))) {
            InetSocketAddress target = west.engine.localAddress();
            send(attacker, target, genuine);                                   // delivered
            send(attacker, target, genuine);                                   // replay
            byte[] tampered = genuine.clone();
            tampered[genuine.length - 3] ^= 0x40;
            tampered[WireFormat.HEADER_BYTES] ^= 1;
            ByteBuffer.wrap(tampered).putLong(8, 1001L);
            send(attacker, target, tampered);                                  // auth failure
            send(attacker, target, new byte[5]);                               // short
            send(attacker, target, new byte[WireFormat.OVERHEAD - 1]);         // short
            byte[] unknown = genuine.clone();
            ByteBuffer.wrap(unknown).putInt(4, eastToWest.remoteIndex() + 1);
            send(attacker, target, unknown);                                   // unknown index
            byte[] badType = genuine.clone();
            badType[0] = 9;
            send(attacker, target, badType);                                   // malformed
            byte[] badLane = genuine.clone();
            badLane[1] = (byte) Session.LANES;
            send(attacker, target, badLane);                                   // malformed
            byte[] oldWire = genuine.clone();
            oldWire[2] = 0;
            send(attacker, target, oldWire);                                   // not the session's version
            send(attacker, target, new byte[east.engine.config().mtu() + WireFormat.OVERHEAD + 200]); // oversized
            byte[] huge = new byte[60_000];
            System.arraycopy(genuine, 0, huge, 0, WireFormat.HEADER_BYTES);
            send(attacker, target, huge);                                      // oversized (truncated)
        }
        assertArrayEquals(plain, west.device.take(5_000));
        awaitTrue(() -> {
            TunnelStats s = west.engine.stats();
            return s.unattributed(DropReason.OVERSIZED) == 2 && s.unattributed(DropReason.SHORT) == 2
                    && s.unattributed(DropReason.UNKNOWN_INDEX) == 1 && s.unattributed(DropReason.MALFORMED) == 2
                    && s.peer(EAST).orElseThrow().drops(DropReason.REPLAY) == 1
                    && s.peer(EAST).orElseThrow().drops(DropReason.WRONG_VERSION) == 1
                    && s.peer(EAST).orElseThrow().drops(DropReason.AUTH_FAILURE) == 1;
        }, "every bad datagram counted: " + west.engine.stats());
        assertNull(west.device.take(100), "nothing but the genuine packet was delivered");

        // east's sender thread seals on lane 0 with counters far below 1000: lanes have their own windows
        byte[] after = Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, "still works".getBytes());
        assertArrayEquals(after, roundTrip(east, west, after));
    }

    @Test
    void aJoinedRunWithABadSegmentLosesThatSegmentAloneAndTheRestIsDeliveredInOrder() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        assertTrue(west.engine.udpPath().startsWith("UDP GSO/GRO"), west.engine.udpPath());
        Session eastToWest = east.engine.currentSession(WEST);
        PacketCipher cipher = new PacketCipher();
        List<byte[]> plains = new ArrayList<>();
        List<byte[]> sealed = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, ("segment " + i + " of a run").getBytes());
            byte[] datagram = new byte[plain.length + WireFormat.OVERHEAD];
            cipher.seal(eastToWest, WireFormat.TYPE_DATA, 5, 7000L + i, plain, 0, plain.length, datagram, 0);
            plains.add(plain);
            sealed.add(datagram);
        }
        sealed.get(2)[WireFormat.HEADER_BYTES + 4] ^= 0x01; // its tag no longer verifies
        sealed.get(4)[1] = (byte) Session.LANES;            // a lane that does not exist
        try (BatchedUdpSocket sender = BatchedUdpSocket.open(new InetSocketAddress("127.0.0.1", 0),
                BatchedUdpSocket.Options.defaults().withBatch(4, 65_535))) {
            DatagramBatch run = sender.newBatch();
            for (byte[] datagram : sealed) {
                run.addSegment(west.engine.localAddress(), datagram, 0, datagram.length);
            }
            run.addSegment(west.engine.localAddress(), new byte[7], 0, 7); // a short last segment
            assertEquals(1, run.size(), "one message: the kernel keeps the run whole to a UDP_GRO socket");
            assertEquals(7, sender.send(run));
        }

        for (int i : new int[] {0, 1, 3, 5}) {
            assertArrayEquals(plains.get(i), west.device.take(5_000), "segment " + i);
        }
        awaitTrue(() -> {
            TunnelStats s = west.engine.stats();
            return s.peer(EAST).orElseThrow().drops(DropReason.AUTH_FAILURE) == 1
                    && s.unattributed(DropReason.MALFORMED) == 1 && s.unattributed(DropReason.SHORT) == 1;
        }, "the bad segments counted: " + west.engine.stats());
        assertNull(west.device.take(100), "nothing else delivered");
        byte[] after = Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, "still works".getBytes());
        assertArrayEquals(after, roundTrip(east, west, after));
    }

    @Test
    void burstsCarryTheSameBytesInTheSameOrderWithAndWithoutUdpOffloadOverIpv4AndIpv6() throws Exception {
        for (String listen : new String[] {"127.0.0.1", "127.0.0.1 no offload", "::1"}) {
            boolean udpOffload = !listen.endsWith("no offload");
            connect(listen.split(" ")[0], Suite.AES_256_GCM, RekeyPolicy.defaults(), 1, udpOffload);
            assertEquals(udpOffload, east.engine.udpPath().startsWith("UDP GSO/GRO"), east.engine.udpPath());
            List<byte[]> sent = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                byte[] payload = new byte[i % 50 == 49 ? 100 + i : 1300]; // runs of equal sizes, a few shorter
                Arrays.fill(payload, (byte) i);
                ByteBuffer.wrap(payload).putInt(0, i);
                byte[] packet = Packets.tcp("10.1.0.5", "10.2.0.7", 1000 + 1300 * i, 0x10, payload);
                sent.add(packet);
                east.device.inject(packet); // queued before the engine reads: it seals them in batches
            }
            for (int i = 0; i < sent.size(); i++) {
                byte[] got = west.device.take(5_000);
                assertNotNull(got, "packet " + i + " over " + listen + ": " + west.engine.stats());
                assertArrayEquals(sent.get(i), got, "packet " + i + " over " + listen);
            }
            assertTrue(west.engine.stats().peer(EAST).orElseThrow().drops().values().stream().allMatch(d -> d == 0));
            east.close();
            west.close();
            east = null;
            west = null;
        }
    }

    private static void send(DatagramSocket socket, InetSocketAddress to, byte[] bytes) throws Exception {
        socket.send(new DatagramPacket(bytes, bytes.length, to));
    }

    @Test
    void aPacketFromOutsideTheSendersRangesIsNeverDelivered() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        // east seals it honestly, but claims a source west attributes to nobody (or to another cluster)
        byte[] spoofed = Packets.udp("10.9.0.1", "10.2.0.7", 1, 2, "spoofed".getBytes());
        east.device.inject(spoofed);
        awaitTrue(() -> west.engine.stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_SOURCE) == 1,
                "the wrong source is counted");
        assertNull(west.device.take(100));
    }

    @Test
    void aPacketToADestinationOutsideThisClustersIsDroppedAndCountedWhileOneInsideIsDelivered() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        // east (hostile, or just wrong) routes all of 10.2.0.0/16 to west; west's own are 10.2.0.0/24 and fd00:2::/64
        west.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.2.0.0/24"),
                Cidr.parse("r", "fd00:2::/64"))));
        byte[] toGateway = Packets.udp("10.1.0.5", "10.2.9.1", 1, 7070, "GET /api/v1/status".getBytes());
        byte[] toGateway6 = Packets.udp("fd00:1::5", "fd00:2:0:1::1", 1, 7070, "six".getBytes());
        east.device.inject(toGateway);
        east.device.inject(toGateway6);
        awaitTrue(() -> west.engine.stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_DESTINATION) == 2,
                "both wrong destinations are counted");
        assertNull(west.device.take(100), "neither is delivered");
        byte[] legitimate = Packets.udp("10.1.0.5", "10.2.0.255", 1, 53, "ok".getBytes());
        assertArrayEquals(legitimate, roundTrip(east, west, legitimate));
        byte[] legitimate6 = Packets.udp("fd00:1::5", "fd00:2::ffff", 1, 53, "ok6".getBytes());
        assertArrayEquals(legitimate6, roundTrip(east, west, legitimate6));
        // the set is replaced while running: the first one gets through now
        west.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("r", "10.2.0.0/16"))));
        assertArrayEquals(toGateway, roundTrip(east, west, toGateway));
        assertEquals(2, west.engine.stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_DESTINATION));
    }

    @Test
    void anEngineNotToldItsDestinationsDeliversNothing() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        west.engine.deliverTo(LocalDestinations.NONE);
        east.device.inject(Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, "x".getBytes()));
        awaitTrue(() -> west.engine.stats().peer(EAST).orElseThrow().drops(DropReason.WRONG_DESTINATION) == 1,
                "counted");
        assertNull(west.device.take(100));
    }

    @Test
    void packetsWithoutARouteOrASessionAreCounted() throws Exception {
        east = new Side("127.0.0.1", 1);
        east.engine.addPeer(WEST, new InetSocketAddress("127.0.0.1", 9), List.of(Cidr.parse("r", "10.2.0.0/16")));
        east.device.inject(Packets.udp("10.1.0.5", "172.16.0.1", 1, 2, new byte[1]));
        east.device.inject(Packets.udp("10.1.0.5", "10.2.0.1", 1, 2, new byte[1]));
        east.device.inject(new byte[] {0x45, 0, 0, 20});
        east.device.inject(new byte[2000]);
        awaitTrue(() -> {
            TunnelStats s = east.engine.stats();
            return s.unattributed(DropReason.NO_ROUTE) == 1 && s.unattributed(DropReason.SHORT) == 1
                    && s.unattributed(DropReason.MALFORMED) == 1
                    && s.peer(WEST).orElseThrow().drops(DropReason.NO_SESSION) == 1;
        }, "drops counted: " + east.engine.stats());
    }

    @Test
    void overlappingPeerRangesAreRefused() throws Exception {
        east = new Side("127.0.0.1", 1);
        east.engine.addPeer(WEST, new InetSocketAddress("127.0.0.1", 9), List.of(Cidr.parse("r", "10.2.0.0/16")));
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> east.engine.addPeer(
                ClusterId.of("edge"), new InetSocketAddress("127.0.0.1", 10), List.of(Cidr.parse("r", "10.2.5.0/24"))));
        assertTrue(e.getMessage().contains("overlaps 10.2.0.0/16 of west"), e.getMessage());
    }

    @Test
    void rekeysUnderContinuousTrafficLoseNothing() throws Exception {
        RekeyPolicy policy = RekeyPolicy.defaults().withVolume(3_000, Long.MAX_VALUE);
        connect("127.0.0.1", Suite.AES_256_GCM, policy, 2);
        int total = 40_000;
        int window = 256; // packets in flight at most: the test is about keys, not about UDP buffer overflow
        int[] nextExpected = {0, 1};
        int delivered = 0;
        long firstEpoch = east.engine.currentSession(WEST).epoch();
        for (int seq = 0; seq < total; seq++) {
            int direction = seq & 1;
            Side from = direction == 0 ? east : west;
            String src = direction == 0 ? "10.1.0.5" : "10.2.0.7";
            String dst = direction == 0 ? "10.2.0.7" : "10.1.0.5";
            from.device.inject(Packets.udp(src, dst, 5000, 6000, ByteBuffer.allocate(4).putInt(seq).array()));
            if (seq % 500 == 0) { // the gateway's once-a-second tick, from both sides, carried like peering
                east.keys.tick().ifPresent(m -> exchange(east, west, m));
                west.keys.tick().ifPresent(m -> exchange(west, east, m));
                clock.set(clock.instant().plusSeconds(1));
            }
            while (seq + 1 - delivered > window) {
                delivered += drain(nextExpected);
            }
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (delivered < total && System.nanoTime() < deadline) {
            delivered += drain(nextExpected);
        }
        assertEquals(total, delivered, "every packet delivered; " + east.engine.stats() + " " + west.engine.stats());
        long lastEpoch = east.engine.currentSession(WEST).epoch();
        assertTrue(lastEpoch - firstEpoch >= 5, "rekeyed from epoch " + firstEpoch + " to " + lastEpoch);
        for (Side side : new Side[] {east, west}) {
            for (PeerStats p : side.engine.stats().peers()) {
                assertTrue(p.drops().values().stream().allMatch(d -> d == 0), p.toString());
            }
        }
        clock.set(clock.instant().plus(RekeyPolicy.defaults().grace()).plusSeconds(1));
        east.engine.expire();
        west.engine.expire();
        assertEquals(1, east.engine.openSessions(), "replaced sessions are retired after their grace");
        assertEquals(1, west.engine.openSessions(), "replaced sessions are retired after their grace");
    }

    @Test
    void anUnconfirmedSessionOvertakenByTheOtherSidesOfferStillOpensWhatWasSealedWithIt() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        // east rekeys: west holds the new session unconfirmed until east's keepalive arrives ...
        Optional<TunnelMessage> offer = Optional.of(east.keys.start());
        exchange(east, west, offer.get());
        Session sealedWith = east.engine.currentSession(WEST);
        // ... and before it does, west starts an exchange of its own, which west completes as initiator
        exchange(west, east, west.keys.start());
        byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1, 2, "sealed with the overtaken session".getBytes());
        byte[] datagram = new byte[plain.length + WireFormat.OVERHEAD];
        int length = new PacketCipher().seal(sealedWith, WireFormat.TYPE_DATA, 0, 500, plain, 0, plain.length, datagram, 0);
        try (DatagramSocket socket = new DatagramSocket(0, Packets.address("127.0.0.1"))) {
            socket.send(new DatagramPacket(datagram, length, west.engine.localAddress()));
        }
        assertArrayEquals(plain, west.device.take(5_000));
    }

    /** Takes what both devices delivered, checking each direction's sequence is in order. */
    private int drain(int[] nextExpected) throws InterruptedException {
        int count = 0;
        for (int direction = 0; direction < 2; direction++) {
            Side to = direction == 0 ? west : east;
            byte[] packet;
            while ((packet = to.device.take(count == 0 && direction == 1 ? 5 : 0)) != null) {
                int seq = ByteBuffer.wrap(Packets.payload(packet)).getInt();
                assertEquals(nextExpected[direction], seq, "direction " + direction + " in order");
                nextExpected[direction] = seq + 2;
                count++;
            }
        }
        return count;
    }

    @Test
    void clustersWithTheSameRealRangesReachEachOtherThroughGlobalAddresses() throws Exception {
        Cidr real = Cidr.parse("r", "10.0.0.0/24");
        east = new Side("127.0.0.1", 1, new Translation(List.of(
                new Translation.Mapping(real, Cidr.parse("g", "172.30.1.0/24")))));
        west = new Side("127.0.0.1", 1, new Translation(List.of(
                new Translation.Mapping(real, Cidr.parse("g", "172.30.2.0/24")))));
        east.engine.addPeer(WEST, west.engine.localAddress(), List.of(Cidr.parse("r", "172.30.2.0/24")));
        west.engine.addPeer(EAST, east.engine.localAddress(), List.of(Cidr.parse("r", "172.30.1.0/24")));
        east.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("g", "172.30.1.0/24"))));
        west.engine.deliverTo(LocalDestinations.of(List.of(Cidr.parse("g", "172.30.2.0/24"))));
        east.keyWith(west, KeyExchangeTest.EAST, KeyExchangeTest.WEST, Suite.AES_256_GCM, RekeyPolicy.defaults());
        west.keyWith(east, KeyExchangeTest.WEST, KeyExchangeTest.EAST, Suite.AES_256_GCM, RekeyPolicy.defaults());
        exchange(east, west, east.keys.start());
        awaitTrue(() -> west.engine.currentSession(EAST) != null, "keyed");

        // a pod 10.0.0.5 in east asks for west's 10.0.0.7, known to east as 172.30.2.7
        east.device.inject(Packets.tcp("10.0.0.5", "172.30.2.7", 1, 0, "hi".getBytes()));
        byte[] atWest = west.device.take(5_000);
        assertArrayEquals(Packets.address("172.30.1.5").getAddress(), Arrays.copyOfRange(atWest, 12, 16));
        assertArrayEquals(Packets.address("10.0.0.7").getAddress(), Arrays.copyOfRange(atWest, 16, 20));
        assertTrue(Packets.checksumsValid(atWest, 0, atWest.length));

        west.device.inject(Packets.tcp("10.0.0.7", "172.30.1.5", 1, 0, "hello".getBytes()));
        byte[] atEast = east.device.take(5_000);
        assertArrayEquals(Packets.address("172.30.2.7").getAddress(), Arrays.copyOfRange(atEast, 12, 16));
        assertArrayEquals(Packets.address("10.0.0.5").getAddress(), Arrays.copyOfRange(atEast, 16, 20));
        assertTrue(Packets.checksumsValid(atEast, 0, atEast.length));
    }

    @Test
    void removingAPeerRetiresItsSessions() throws Exception {
        connect("127.0.0.1", Suite.AES_256_GCM, RekeyPolicy.defaults(), 1);
        Session session = east.engine.currentSession(WEST);
        east.engine.removePeer(WEST);
        assertTrue(session.retired());
        assertEquals(0, east.engine.openSessions());
        assertNotEquals(0, session.localIndex());
    }
}
