package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The XDP filter on a real veth pair between two namespaces the test makes: "outside" sends (from a peer address and
 * a stranger's address), "gateway" has the filter on its end and receives with a plain DatagramSocket.
 */
class XdpFilterTest {
    private static final int TUNNEL_PORT = 51_820;
    private static final int OTHER_PORT = 51_821;
    private static final String GATEWAY_IF = "ugw0";
    private static final String OUTSIDE_IF = "uout0";
    private static final InetAddress GATEWAY = address("10.77.0.2");
    private static final InetAddress PEER = address("10.77.0.1");
    private static final InetAddress STRANGER = address("10.77.0.3");
    private static final InetAddress GATEWAY6 = address("fd77::2");
    private static final InetAddress PEER6 = address("fd77::1");
    private static final InetAddress STRANGER6 = address("fd77::3");
    private static final int WAIT_MILLIS = 1_000;

    private TestNamespace outside;
    private TestNamespace gateway;
    private Path pins;
    private DatagramSocket receiver;
    private DatagramSocket otherReceiver;

    @BeforeEach
    void makeVethPair() throws Exception {
        outside = TestNamespace.create("isthmus-xdp-out");
        gateway = TestNamespace.create("isthmus-xdp-gw");
        outside.ip("link", "add", OUTSIDE_IF, "type", "veth", "peer", "name", GATEWAY_IF, "netns", gateway.name());
        outside.ip("addr", "add", PEER.getHostAddress() + "/24", "dev", OUTSIDE_IF);
        outside.ip("addr", "add", STRANGER.getHostAddress() + "/24", "dev", OUTSIDE_IF);
        outside.ip("addr", "add", PEER6.getHostAddress() + "/64", "dev", OUTSIDE_IF, "nodad");
        outside.ip("addr", "add", STRANGER6.getHostAddress() + "/64", "dev", OUTSIDE_IF, "nodad");
        gateway.ip("addr", "add", GATEWAY.getHostAddress() + "/24", "dev", GATEWAY_IF);
        gateway.ip("addr", "add", GATEWAY6.getHostAddress() + "/64", "dev", GATEWAY_IF, "nodad");
        outside.ip("link", "set", OUTSIDE_IF, "up");
        gateway.ip("link", "set", GATEWAY_IF, "up");
        pins = XdpFilter.BPF_MOUNT_POINT.resolve("isthmus-test-" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20)));
        receiver = gateway.namespace().call(() -> bound(new InetSocketAddress("::", TUNNEL_PORT)));
        otherReceiver = gateway.namespace().call(() -> bound(new InetSocketAddress("::", OTHER_PORT)));
        // Before any filter: a stranger's datagram arrives (so a later "not arrived" is the filter's doing). Right
        // after link-up the devices may still have the noop qdisc (linkwatch activates them up to a second later),
        // which drops, so the first datagrams get a few tries.
        boolean plain = false;
        for (int attempt = 0; attempt < 5 && !plain; attempt++) {
            plain = delivered(STRANGER, tunnelDatagram(1), TUNNEL_PORT) && delivered(STRANGER6, tunnelDatagram(1),
                    TUNNEL_PORT);
        }
        assertTrue(plain, "plain delivery works without XDP");
        drain(receiver); // a late copy of a try must not pass for a later datagram
    }

    private static void drain(DatagramSocket socket) throws IOException {
        socket.setSoTimeout(200);
        DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
        while (true) {
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                return;
            }
        }
    }

    @AfterEach
    void removeVethPair() throws Exception {
        receiver.close();
        otherReceiver.close();
        outside.close();
        gateway.close();
        assertFalse(Files.exists(pins), pins + " is left behind");
    }

    @Test
    void genericModeDropsWhatNoKnownPeerSentAndCountsWhy() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC))) {
            assertEquals(XdpFilter.Mode.GENERIC, filter.attachedMode());
            assertTrue(gateway.ip("link", "show", GATEWAY_IF).contains("xdpgeneric"));
            for (String map : List.of("ist_xdp_config", "ist_known_peers", "ist_xdp_counts", "ist_sessions")) {
                assertTrue(Files.exists(pins.resolve(map)), map + " pinned");
            }
            assertFilters(filter);
        }
        assertFalse(gateway.ip("link", "show", GATEWAY_IF).contains("prog/xdp"), "detached on close");
        assertTrue(delivered(STRANGER, tunnelDatagram(9), TUNNEL_PORT), "plain delivery again after close");
    }

    /**
     * Native XDP on veth runs in the receiving end's NAPI poll, which veth turns on when a program is attached; the
     * datagrams here arrive as skbs from the peer's xmit, so the program sees them after veth converts each skb to an
     * xdp_buff (see fastpath/README.md, "XDP on veth").
     */
    @Test
    void nativeModeOnVethFiltersAlike() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.NATIVE))) {
            assertEquals(XdpFilter.Mode.NATIVE, filter.attachedMode());
            String link = gateway.ip("link", "show", GATEWAY_IF);
            assertTrue(link.contains(" xdp ") && !link.contains("xdpgeneric"), link);
            assertFilters(filter);
        }
        assertFalse(gateway.ip("link", "show", GATEWAY_IF).contains("prog/xdp"), "detached on close");
        assertTrue(delivered(STRANGER, tunnelDatagram(9), TUNNEL_PORT), "plain delivery again after close");
    }

    /** A restarted gateway's filter takes the interface over; the old one's close then leaves the new one alone. */
    @Test
    void autoTakesNativeOnVethAndANewFilterTakesOverFromAnOldOne() throws Exception {
        Path newPins = pins.resolveSibling(pins.getFileName() + "-new");
        XdpFilter old = XdpFilter.attach(options(XdpFilter.Mode.AUTO));
        try {
            assertEquals("native", old.modeReport());
            try (XdpFilter replacement = XdpFilter.attach(options(XdpFilter.Mode.GENERIC).withPinDirectory(newPins))) {
                assertTrue(replacement.cleanedUp().stream().anyMatch(c -> c.startsWith("native XDP program id ")),
                        replacement.cleanedUp().toString());
                old.close();
                assertTrue(gateway.ip("link", "show", GATEWAY_IF).contains("xdpgeneric"), "the new one stays");
                replacement.allowPeer(PEER);
                assertTrue(delivered(PEER, tunnelDatagram(1), TUNNEL_PORT));
                assertFalse(delivered(STRANGER, tunnelDatagram(2), TUNNEL_PORT));
                assertEquals(1L, replacement.counters().get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE));
            }
        } finally {
            old.close();
        }
        assertFalse(gateway.ip("link", "show", GATEWAY_IF).contains("prog/xdp"));
        assertFalse(Files.exists(newPins));
    }

    /** Someone else's XDP program (another name) on the interface is left alone, in either of our modes. */
    @Test
    void aForeignProgramIsNeitherReplacedNorRemoved() throws Exception {
        Path work = Files.createTempDirectory("isthmus-xdp-foreign");
        try {
            Path source = work.resolve("foreign.c");
            Files.writeString(source, "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
                    + "SEC(\"xdp\") int someone_elses(struct xdp_md *ctx) { return XDP_PASS; }\n"
                    + "char LICENSE[] SEC(\"license\") = \"GPL\";\n");
            Path object = work.resolve("foreign.o");
            TestNamespace.run(List.of("clang", "-O2", "-target", "bpf", "-I/usr/include/x86_64-linux-gnu", "-c",
                    source.toString(), "-o", object.toString()));
            gateway.ip("link", "set", "dev", GATEWAY_IF, "xdpgeneric", "obj", object.toString(), "sec", "xdp");
            for (XdpFilter.Mode mode : XdpFilter.Mode.values()) {
                SystemCallException refused = assertThrows(SystemCallException.class,
                        () -> XdpFilter.attach(options(mode)), mode.name());
                assertTrue(refused.getMessage().contains("another XDP program is attached")
                        || refused.getMessage().contains("other mode"), mode + ": " + refused.getMessage());
                assertFalse(Files.exists(pins), mode + ": a refused attach leaves no pins");
            }
            assertTrue(gateway.ip("link", "show", GATEWAY_IF).contains("name someone_elses"), "left in place");
            gateway.ip("link", "set", "dev", GATEWAY_IF, "xdpgeneric", "off");
        } finally {
            try (var files = Files.list(work)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(work);
        }
    }

    @Test
    void replacingThePeerSetInBatchesLeavesExactlyTheNewSet() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC))) {
            Set<InetAddress> many = new HashSet<>();
            for (int i = 0; i < 1_000; i++) {
                many.add(InetAddress.getByAddress(new byte[] {10, (byte) 200, (byte) (i >> 8), (byte) i}));
            }
            many.add(PEER);
            many.add(PEER6);
            filter.replacePeers(many);
            assertEquals(many, filter.peers());
            assertTrue(delivered(PEER, tunnelDatagram(1), TUNNEL_PORT));
            assertFalse(delivered(STRANGER, tunnelDatagram(2), TUNNEL_PORT));

            filter.replacePeers(Set.of(STRANGER, PEER6));
            assertEquals(Set.of(STRANGER, PEER6), filter.peers());
            assertTrue(filter.allows(STRANGER));
            assertFalse(filter.allows(PEER));
            assertTrue(delivered(STRANGER, tunnelDatagram(3), TUNNEL_PORT));
            assertTrue(delivered(PEER6, tunnelDatagram(4), TUNNEL_PORT));
            assertFalse(delivered(PEER, tunnelDatagram(5), TUNNEL_PORT));

            filter.replacePeers(Set.of());
            assertEquals(Set.of(), filter.peers());
            assertEquals(2L, filter.counters().get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE));
            assertEquals(3L, filter.counters().get(XdpFilter.Reason.PASSED_TUNNEL));
        }
    }

    @Test
    void peerMapChangesTakeEffectWhileTrafficRuns() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC));
             DatagramSocket sender = outside.namespace().call(() -> bound(new InetSocketAddress(PEER, 0)))) {
            receiver.setSoTimeout(50);
            AtomicLong sent = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            Thread blaster = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    long sequence = sent.incrementAndGet();
                    try {
                        sender.send(new DatagramPacket(tunnelDatagram(sequence), 48,
                                new InetSocketAddress(GATEWAY, TUNNEL_PORT)));
                        Thread.sleep(0, 200_000);
                    } catch (IOException | InterruptedException e) {
                        return;
                    }
                }
            });
            try {
                Thread.sleep(200);
                assertNull(receiveOne(), "nothing passes before the peer is allowed");
                filter.allowPeer(PEER);
                assertTrue(filter.allows(PEER));
                assertTrue(receiveWithin(2_000) != null, "the peer's datagrams pass once allowed");
                assertTrue(filter.removePeer(PEER));
                long lastBeforeRemoval = sent.get();
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                while (System.nanoTime() < deadline) {
                    Long sequence = receiveOne();
                    if (sequence != null) {
                        assertTrue(sequence <= lastBeforeRemoval, "datagram " + sequence
                                + " was sent after the peer was removed (last before: " + lastBeforeRemoval + ")");
                    }
                }
                assertTrue(sent.get() > lastBeforeRemoval + 10, "traffic kept running");
                assertFalse(filter.removePeer(PEER), "removing twice says it was not there");
            } finally {
                stop.set(true);
                blaster.join(5_000);
            }
            assertTrue(filter.counters().get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE) > 0);
        }
    }

    @Test
    void aCrashedProcessesPinsAndProgramAreCleanedOnStart() throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                XdpCrashChild.class.getName(), gateway.name(), GATEWAY_IF, String.valueOf(TUNNEL_PORT),
                pins.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String line;
            while ((line = lines.readLine()) != null && !line.startsWith("attached")) {
                // the child's log lines
            }
            assertTrue(line != null, "the child attached");
        } finally {
            child.destroyForcibly(); // SIGKILL: no close, no detach, no unpin
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
        }
        assertTrue(Files.exists(pins.resolve("ist_known_peers")), "the crashed process left its pins");
        assertTrue(gateway.ip("link", "show", GATEWAY_IF).contains("xdpgeneric"), "and its program");
        assertFalse(delivered(STRANGER, tunnelDatagram(2), TUNNEL_PORT), "which still drops");

        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC))) {
            List<String> cleaned = filter.cleanedUp();
            assertTrue(cleaned.contains("pin " + pins.resolve("ist_known_peers")), cleaned.toString());
            assertTrue(cleaned.stream().anyMatch(c -> c.startsWith("generic XDP program id ")), cleaned.toString());
            filter.allowPeer(STRANGER);
            assertTrue(delivered(STRANGER, tunnelDatagram(3), TUNNEL_PORT), "the new filter's map decides");
            assertEquals(1L, filter.counters().get(XdpFilter.Reason.PASSED_TUNNEL));
        }
        assertFalse(gateway.ip("link", "show", GATEWAY_IF).contains("prog/xdp"));
    }

    /** The replayed-epoch check: receiver indexes the gateway named, and per-lane floors below which is a replay. */
    @Test
    void sessionChecksDropEndedSessionsAndCountersBelowTheFloor() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC)
                .withSessionChecks(XdpFilter.Sources.KNOWN_ONLY))) {
            filter.allowPeer(PEER);
            assertFalse(delivered(PEER, tunnelDatagram(0x1234_5678, 0, 5), TUNNEL_PORT), "no session named yet");
            long[] floors = new long[XdpFilter.LANES];
            assertTrue(filter.putSession(0x1234_5678, floors, false));
            assertTrue(delivered(PEER, tunnelDatagram(0x1234_5678, 0, 5), TUNNEL_PORT), "a live session");
            assertFalse(delivered(PEER, tunnelDatagram(0x1234_5679, 0, 5), TUNNEL_PORT), "another index is not");
            floors[0] = 100;
            floors[15] = 1L << 40;
            assertTrue(filter.putSession(0x1234_5678, floors, true));
            assertEquals(List.of(100L, 0L, 1L << 40), List.of(filter.sessions().get(0x1234_5678)[0],
                    filter.sessions().get(0x1234_5678)[3], filter.sessions().get(0x1234_5678)[15]));
            assertFalse(delivered(PEER, tunnelDatagram(0x1234_5678, 0, 99), TUNNEL_PORT), "below lane 0's floor");
            assertTrue(delivered(PEER, tunnelDatagram(0x1234_5678, 0, 100), TUNNEL_PORT), "at the floor");
            assertTrue(delivered(PEER, tunnelDatagram(0x1234_5678, 3, 5), TUNNEL_PORT), "lane 3 has its own floor");
            assertFalse(delivered(PEER, tunnelDatagram(0x1234_5678, 15, (1L << 40) - 1), TUNNEL_PORT),
                    "64-bit counters compare whole");
            assertFalse(delivered(STRANGER, tunnelDatagram(0x1234_5678, 0, 200), TUNNEL_PORT),
                    "a live index does not let a stranger through here");
            assertTrue(filter.removeSession(0x1234_5678));
            assertFalse(filter.putSession(0x1234_5678, floors, true), "an update does not bring it back");
            assertEquals(Map.of(), filter.sessions());
            assertFalse(delivered(PEER, tunnelDatagram(0x1234_5678, 0, 300), TUNNEL_PORT), "the session ended");
            Map<XdpFilter.Reason, Long> counts = filter.counters();
            assertEquals(3L, counts.get(XdpFilter.Reason.DROPPED_UNKNOWN_SESSION), counts.toString());
            assertEquals(2L, counts.get(XdpFilter.Reason.DROPPED_STALE_COUNTER), counts.toString());
            assertEquals(1L, counts.get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE), counts.toString());
            assertEquals(3L, counts.get(XdpFilter.Reason.PASSED_TUNNEL), counts.toString());
            assertEquals(0L, counts.get(XdpFilter.Reason.PASSED_UNANNOUNCED_SOURCE), counts.toString());
        }
    }

    /** NAT or roaming: a source no peer announced passes on a live session only, and is counted apart. */
    @Test
    void anUnannouncedSourcePassesOnALiveSessionOnly() throws Exception {
        try (XdpFilter filter = XdpFilter.attach(options(XdpFilter.Mode.GENERIC)
                .withSessionChecks(XdpFilter.Sources.PASS_ON_LIVE_SESSION))) {
            filter.allowPeer(PEER);
            long[] floors = new long[XdpFilter.LANES];
            floors[2] = 50;
            filter.putSession(-2, floors, false); // 0xFFFFFFFE: the index is unsigned on the wire
            assertTrue(delivered(STRANGER6, tunnelDatagram(-2, 2, 50), TUNNEL_PORT), "live session, fresh counter");
            assertTrue(delivered(STRANGER, tunnelDatagram(-2, 2, 51), TUNNEL_PORT), "over IPv4 too");
            assertTrue(delivered(PEER, tunnelDatagram(-2, 2, 52), TUNNEL_PORT), "the announced one as well");
            assertFalse(delivered(STRANGER, tunnelDatagram(-2, 2, 49), TUNNEL_PORT), "a stale counter is not");
            assertFalse(delivered(STRANGER, tunnelDatagram(-3, 2, 60), TUNNEL_PORT), "nor an unknown index");
            byte[] junk = tunnelDatagram(-2, 2, 70);
            junk[0] = 9;
            assertFalse(delivered(STRANGER, junk, TUNNEL_PORT), "nor junk from a stranger");
            Map<XdpFilter.Reason, Long> counts = filter.counters();
            assertEquals(2L, counts.get(XdpFilter.Reason.PASSED_UNANNOUNCED_SOURCE), counts.toString());
            assertEquals(1L, counts.get(XdpFilter.Reason.PASSED_TUNNEL), counts.toString());
            assertEquals(1L, counts.get(XdpFilter.Reason.DROPPED_STALE_COUNTER), counts.toString());
            assertEquals(2L, counts.get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE), counts.toString());
            assertEquals(0L, counts.get(XdpFilter.Reason.DROPPED_BAD_HEADER), counts.toString());
        }
        InvalidArgumentException unchecked = assertThrows(InvalidArgumentException.class, () -> new XdpFilter.Options(
                GATEWAY_IF, XdpFilter.Mode.GENERIC, TUNNEL_PORT, pins, null, false,
                XdpFilter.Sources.PASS_ON_LIVE_SESSION));
        assertTrue(unchecked.getMessage().contains("xdp sources"), unchecked.getMessage());
    }

    @Test
    void badOptionsNameTheFieldAndValue() {
        InvalidArgumentException port = assertThrows(InvalidArgumentException.class,
                () -> XdpFilter.Options.defaults("eth0", XdpFilter.Mode.AUTO, 70_000));
        assertTrue(port.getMessage().contains("xdp tunnel port") && port.getMessage().contains("70000"),
                port.getMessage());
        assertThrows(InvalidArgumentException.class,
                () -> XdpFilter.Options.defaults("a-name-far-too-long", XdpFilter.Mode.AUTO, 1));
    }

    @Test
    void anUnknownInterfaceIsRefusedAndLeavesNothing() throws Exception {
        SystemCallException refused = assertThrows(SystemCallException.class, () -> XdpFilter.attach(
                new XdpFilter.Options("no-such-if", XdpFilter.Mode.GENERIC, TUNNEL_PORT, pins, gateway.namespace())));
        assertTrue(refused.getMessage().contains("no-such-if"), refused.getMessage());
        assertFalse(Files.exists(pins));
    }

    @Test
    void theProbeSaysXdpWorksHere() {
        Availability xdp = XdpFilter.probe();
        assertTrue(xdp.available(), xdp.toString());
        assertTrue(xdp.reason().startsWith("libbpf 1."), xdp.reason());
    }

    /** What both modes must do; the oracle is which datagrams arrive, and the counters of the drops. */
    private void assertFilters(XdpFilter filter) throws Exception {
        Map<XdpFilter.Reason, Long> before = filter.counters();
        assertEquals(0L, before.get(XdpFilter.Reason.PASSED_TUNNEL));
        assertFalse(delivered(PEER, tunnelDatagram(2), TUNNEL_PORT), "no peer is known at first");
        filter.allowPeer(PEER);
        filter.allowPeer(PEER6);
        assertTrue(delivered(PEER, tunnelDatagram(3), TUNNEL_PORT), "a known peer's datagram passes");
        assertTrue(delivered(PEER6, tunnelDatagram(4), TUNNEL_PORT), "over IPv6 too");
        assertFalse(delivered(STRANGER, tunnelDatagram(5), TUNNEL_PORT), "a stranger's is dropped");
        assertFalse(delivered(STRANGER6, tunnelDatagram(5), TUNNEL_PORT), "over IPv6 too");
        assertFalse(delivered(PEER, new byte[31], TUNNEL_PORT), "31 bytes is too short for header and tag");
        byte[] wrongType = tunnelDatagram(6);
        wrongType[0] = 7;
        assertFalse(delivered(PEER, wrongType, TUNNEL_PORT), "type 7 is no tunnel type");
        byte[] wrongLane = tunnelDatagram(7);
        wrongLane[1] = 16;
        assertFalse(delivered(PEER, wrongLane, TUNNEL_PORT), "lane 16 is out of range");
        byte[] versioned = tunnelDatagram(8);
        versioned[2] = 1;
        assertTrue(delivered(PEER, versioned, TUNNEL_PORT), "wire version 1 is the tunnel's current header");
        byte[] newer = tunnelDatagram(9);
        newer[2] = 2;
        assertFalse(delivered(PEER, newer, TUNNEL_PORT), "wire version 2 is newer than the tunnel speaks");
        byte[] reserved = tunnelDatagram(10);
        reserved[3] = 1;
        assertFalse(delivered(PEER, reserved, TUNNEL_PORT), "byte 3 is reserved");
        assertTrue(delivered(STRANGER, tunnelDatagram(8), OTHER_PORT), "other ports are not filtered");
        Map<XdpFilter.Reason, Long> after = filter.counters();
        assertEquals(3L, after.get(XdpFilter.Reason.PASSED_TUNNEL));
        // The first datagram came from PEER before it was known.
        assertEquals(3L, after.get(XdpFilter.Reason.DROPPED_UNKNOWN_SOURCE));
        assertEquals(1L, after.get(XdpFilter.Reason.DROPPED_SHORT));
        assertEquals(4L, after.get(XdpFilter.Reason.DROPPED_BAD_HEADER));
        assertTrue(after.get(XdpFilter.Reason.PASSED_OTHER) >= 1, after.toString());
    }

    private XdpFilter.Options options(XdpFilter.Mode mode) {
        return new XdpFilter.Options(GATEWAY_IF, mode, TUNNEL_PORT, pins, gateway.namespace());
    }

    /**
     * A well-formed tunnel datagram, written out by hand: type 1, lane 0, wire version 0 (from before versions: still
     * a tunnel header), reserved 0, index 7, counter, 32 bytes.
     */
    private static byte[] tunnelDatagram(long counter) {
        return tunnelDatagram(7, 0, counter);
    }

    /** The same, with the receiver index (big-endian on the wire) and lane given. */
    private static byte[] tunnelDatagram(int receiverIndex, int lane, long counter) {
        ByteBuffer datagram = ByteBuffer.allocate(48);
        datagram.put((byte) 1).put((byte) lane).put((byte) 0).put((byte) 0).putInt(receiverIndex).putLong(counter);
        return datagram.array();
    }

    /** Sends {@code payload} from {@code source} to the gateway's port; whether it arrived within a second. */
    private boolean delivered(InetAddress source, byte[] payload, int port) throws Exception {
        InetAddress destination = source.getAddress().length == 4 ? GATEWAY : GATEWAY6;
        DatagramSocket target = port == TUNNEL_PORT ? receiver : otherReceiver;
        try (DatagramSocket sender = outside.namespace().call(() -> bound(new InetSocketAddress(source, 0)))) {
            sender.send(new DatagramPacket(payload, payload.length, new InetSocketAddress(destination, port)));
            target.setSoTimeout(WAIT_MILLIS);
            DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
            try {
                target.receive(packet);
            } catch (SocketTimeoutException e) {
                return false;
            }
            assertEquals(payload.length, packet.getLength(), "the datagram that arrived is the one sent");
            assertEquals(ByteBuffer.wrap(payload), ByteBuffer.wrap(packet.getData(), 0, packet.getLength()));
            return true;
        }
    }

    /** The counter of one datagram from the blaster, or null when none arrived within the socket's timeout. */
    private Long receiveOne() throws IOException {
        DatagramPacket packet = new DatagramPacket(new byte[2048], 2048);
        try {
            receiver.receive(packet);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return ByteBuffer.wrap(packet.getData(), 8, 8).getLong();
    }

    private Long receiveWithin(long millis) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            Long sequence = receiveOne();
            if (sequence != null) {
                return sequence;
            }
        }
        return null;
    }

    private static DatagramSocket bound(InetSocketAddress address) throws IOException {
        DatagramSocket socket = new DatagramSocket(null);
        socket.bind(address);
        return socket;
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
