package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Packets through a TUN device inside a namespace: written into the device and received by a UDP socket there, and
 * sent by a UDP socket to an address routed into the device and read raw from it; IPv4 and IPv6.
 */
class TunTrafficTest {
    private static final String DEVICE = "isthtr";
    private static final InetAddress LOCAL4 = address("10.9.0.1");
    private static final InetAddress PEER4 = address("10.9.0.2");
    private static final InetAddress LOCAL6 = address("fd00:9::1");
    private static final InetAddress PEER6 = address("fd00:9::2");

    private TestNamespace ns;
    private TunDevice tun;
    private Arena arena;
    private ExecutorService reader;

    @BeforeEach
    void createConfiguredTun() throws Exception {
        ns = TestNamespace.create("isthmus-tuntr");
        tun = ns.namespace().call(() -> TunDevice.open(DEVICE, TunDevice.Options.defaults()));
        try (RouteNetlink netlink = ns.namespace().call(RouteNetlink::open)) {
            netlink.setMtu(DEVICE, 1400);
            netlink.addAddress(DEVICE, IpPrefix.parse("10.9.0.1/24"));
            netlink.addAddress(DEVICE, IpPrefix.parse("fd00:9::1/64"));
            netlink.setUp(DEVICE, true);
            netlink.addRoute(Route.to(IpPrefix.parse("10.20.0.0/16"), DEVICE));
            netlink.addRoute(Route.to(IpPrefix.parse("fd00:20::/48"), DEVICE));
            netlink.awaitUsable(LOCAL6, java.time.Duration.ofSeconds(5));
        }
        arena = Arena.ofShared();
        reader = ns.namespace().newPinnedExecutor("tun-test-reader");
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            if (tun != null) {
                tun.close();
            }
            if (reader != null) {
                reader.shutdownNow();
                reader.awaitTermination(5, TimeUnit.SECONDS);
            }
            if (arena != null) {
                arena.close();
            }
        } finally {
            if (ns != null) {
                ns.close();
            }
        }
    }

    @Test
    void anIpv4PacketWrittenIntoTheTunReachesAUdpSocketInTheNamespace() throws Exception {
        assertWrittenPacketIsReceived(LOCAL4, PEER4);
    }

    @Test
    void anIpv6PacketWrittenIntoTheTunReachesAUdpSocketInTheNamespace() throws Exception {
        assertWrittenPacketIsReceived(LOCAL6, PEER6);
    }

    @Test
    void aUdpDatagramToAnIpv4AddressRoutedIntoTheTunIsReadAsARawPacket() throws Exception {
        assertSentDatagramIsRead(LOCAL4, address("10.20.0.7"));
    }

    @Test
    void aUdpDatagramToAnIpv6AddressRoutedIntoTheTunIsReadAsARawPacket() throws Exception {
        assertSentDatagramIsRead(LOCAL6, address("fd00:20::7"));
    }

    @Test
    void directByteBuffersReadAndWriteFromTheirPositionAndAdvanceIt() throws Exception {
        try (DatagramChannel socket = ns.namespace().call(() -> DatagramChannel.open()
                .bind(new InetSocketAddress(LOCAL4, 0)))) {
            int port = ((InetSocketAddress) socket.getLocalAddress()).getPort();
            byte[] packet = Packets.udp(PEER4, 4000, LOCAL4, port, "via a byte buffer".getBytes(StandardCharsets.UTF_8));
            ByteBuffer out = ByteBuffer.allocateDirect(2048);
            out.position(100);
            out.put(packet).flip().position(100);
            assertTrue(tun.queue(0).write(out));
            assertEquals(out.limit(), out.position());
            assertEquals("via a byte buffer", receive(socket));

            ByteBuffer in = ByteBuffer.allocateDirect(4096).position(10);
            socket.send(ByteBuffer.wrap("back".getBytes(StandardCharsets.UTF_8)),
                    new InetSocketAddress(address("10.20.0.9"), 7000));
            Packets.Udp read = readUdp(() -> {
                in.clear().position(10);
                tun.queue(0).read(in);
                byte[] bytes = new byte[in.position() - 10];
                in.get(10, bytes);
                return bytes;
            }, udp -> udp.destinationPort() == 7000);
            assertEquals("back", new String(read.payload(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aReadWithATimeoutAnswersZeroWhenNothingCameAndThePacketWhenOneDid() throws Exception {
        MemorySegment buffer = arena.allocate(65_536);
        ByteBuffer direct = ByteBuffer.allocateDirect(2048);
        // A device that stays down: the kernel never sends anything into it.
        try (TunDevice idle = ns.namespace().call(() -> TunDevice.open("isthidle", TunDevice.Options.defaults()))) {
            long start = System.nanoTime();
            assertEquals(0, idle.queue(0).read(buffer, 0, 65_536, 0));
            assertEquals(0, idle.queue(0).read(direct, 0));
            assertEquals(0, direct.position());
            assertEquals(0, idle.queue(0).read(buffer, 0, 65_536, TimeUnit.MILLISECONDS.toNanos(150)));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(150) && waited < TimeUnit.SECONDS.toNanos(3),
                    "waited " + waited / 1_000_000 + " ms");
        }

        try (DatagramChannel socket = ns.namespace().call(DatagramChannel::open)) {
            socket.send(ByteBuffer.wrap("timed".getBytes(StandardCharsets.UTF_8)),
                    new InetSocketAddress(address("10.20.0.5"), 7100));
            Packets.Udp udp = null;
            for (int i = 0; i < 20 && udp == null; i++) { // skip what else the kernel sends
                int length = tun.queue(0).read(buffer, 0, 65_536, TimeUnit.SECONDS.toNanos(2));
                assertTrue(length > 0, "the datagram should arrive within 2 s");
                Packets.Udp parsed = Packets.parseUdp(buffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE), length);
                udp = parsed != null && parsed.destinationPort() == 7100 ? parsed : null;
            }
            assertNotNull(udp);
            assertEquals("timed", new String(udp.payload(), StandardCharsets.UTF_8));
        }
    }

    @Test
    void aMultiQueueDeviceSpreadsFlowsOverItsQueuesAndKeepsEachFlowOnOne() throws Exception {
        int queues = 2;
        int flows = 32;
        try (TunDevice multi = ns.namespace().call(() -> TunDevice.open("isthmq",
                TunDevice.Options.defaults().withQueues(queues)));
             RouteNetlink netlink = ns.namespace().call(RouteNetlink::open);
             DatagramChannel socket = ns.namespace().call(DatagramChannel::open)) {
            netlink.setUp("isthmq", true);
            netlink.addRoute(Route.to(IpPrefix.parse("10.30.0.0/16"), "isthmq"));
            for (int flow = 0; flow < flows; flow++) {
                for (int i = 0; i < 3; i++) {
                    socket.send(ByteBuffer.wrap(new byte[] {(byte) flow}),
                            new InetSocketAddress(address("10.30.0." + (flow + 1)), 9000));
                }
            }
            java.util.Map<Integer, java.util.Set<Integer>> queuesOfFlow = new java.util.HashMap<>();
            int[] perQueue = new int[queues];
            for (int q = 0; q < queues; q++) {
                MemorySegment buffer = arena.allocate(65_536);
                int length;
                while ((length = multi.queue(q).read(buffer, 0, 65_536, TimeUnit.MILLISECONDS.toNanos(200))) > 0) {
                    Packets.Udp udp = Packets.parseUdp(buffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE),
                            length);
                    if (udp != null && udp.destinationPort() == 9000) {
                        perQueue[q]++;
                        queuesOfFlow.computeIfAbsent((int) udp.payload()[0], f -> new java.util.HashSet<>()).add(q);
                    }
                }
            }
            assertEquals(flows * 3, perQueue[0] + perQueue[1], "every datagram read from one queue or the other");
            assertTrue(perQueue[0] > 0 && perQueue[1] > 0, "both queues should carry flows: "
                    + java.util.Arrays.toString(perQueue));
            assertTrue(queuesOfFlow.values().stream().allMatch(set -> set.size() == 1),
                    "a flow stays on one queue: " + queuesOfFlow);
        }
    }

    @Test
    void aPacketThatIsNotIpIsRefusedAloneAndTheQueueGoesOn() throws Exception {
        MemorySegment garbage = arena.allocate(40);
        garbage.fill((byte) 0x12); // version nibble 1
        assertFalse(tun.queue(0).write(garbage));
        anIpv4PacketWrittenIntoTheTunReachesAUdpSocketInTheNamespace();
    }

    private void assertWrittenPacketIsReceived(InetAddress local, InetAddress peer) throws Exception {
        try (DatagramChannel socket = ns.namespace().call(() -> DatagramChannel.open()
                .bind(new InetSocketAddress(local, 0)))) {
            int port = ((InetSocketAddress) socket.getLocalAddress()).getPort();
            byte[] packet = Packets.udp(peer, 4000, local, port, ("hello over " + local.getHostAddress())
                    .getBytes(StandardCharsets.UTF_8));
            MemorySegment buffer = arena.allocate(2048);
            MemorySegment.copy(packet, 0, buffer, ValueLayout.JAVA_BYTE, 64, packet.length);

            assertTrue(tun.queue(0).write(buffer, 64, packet.length));

            assertEquals("hello over " + local.getHostAddress(), receive(socket));
        }
    }

    private void assertSentDatagramIsRead(InetAddress local, InetAddress routed) throws Exception {
        try (DatagramChannel socket = ns.namespace().call(DatagramChannel::open)) {
            byte[] payload = ("to " + routed.getHostAddress()).getBytes(StandardCharsets.UTF_8);
            socket.send(ByteBuffer.wrap(payload), new InetSocketAddress(routed, 9999));
            MemorySegment buffer = arena.allocate(65_536);

            Packets.Udp udp = readUdp(() -> {
                int length = tun.queue(0).read(buffer);
                return buffer.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
            }, packet -> packet.destinationPort() == 9999);

            assertEquals(local instanceof java.net.Inet4Address ? 4 : 6, udp.version());
            assertEquals(Packets.UDP, udp.protocol());
            assertEquals(local, udp.source());
            assertEquals(routed, udp.destination());
            assertTrue(udp.ipChecksumValid());
            assertArrayEquals(payload, udp.payload());
        }
    }

    private interface PacketSource {
        byte[] next() throws Exception;
    }

    /** Reads packets on the reader thread until a UDP one matches (the kernel also sends MLD/RS); 5 s at most. */
    private Packets.Udp readUdp(PacketSource source, Predicate<Packets.Udp> wanted) throws Exception {
        CompletableFuture<Packets.Udp> found = CompletableFuture.supplyAsync(() -> {
            try {
                for (int i = 0; i < 100; i++) {
                    byte[] packet = source.next();
                    Packets.Udp udp = Packets.parseUdp(packet, packet.length);
                    if (udp != null && wanted.test(udp)) {
                        return udp;
                    }
                }
                return null;
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }, reader);
        Packets.Udp udp = found.get(5, TimeUnit.SECONDS);
        assertNotNull(udp, "no matching UDP packet among the first 100 read");
        return udp;
    }

    private static String receive(DatagramChannel socket) throws Exception {
        socket.socket().setSoTimeout(5000);
        DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
        socket.socket().receive(packet);
        return new String(packet.getData(), 0, packet.getLength(), StandardCharsets.UTF_8);
    }

    private static InetAddress address(String literal) {
        return IpPrefix.parseAddress(literal, "address");
    }
}
