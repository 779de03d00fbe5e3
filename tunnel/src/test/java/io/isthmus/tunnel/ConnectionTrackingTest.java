package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.DecisionTable;
import io.isthmus.policy.IdentityView;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.testing.SettableClock;
import io.isthmus.tunnel.PacketPolicy.Direction;
import io.isthmus.tunnel.PacketPolicy.Verdict;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The policy stage's connection tracking: under a deny default, with cart (east, shop) allowed to reach pg (west, db)
 * on TCP 5201 and UDP 53 and nothing allowed the other way, pg's answers pass only to flows cart really opened.
 */
class ConnectionTrackingTest {
    private static final ClusterId WEST = ClusterId.of("west");
    private static final String CART = "10.1.0.5";
    private static final String PG = "10.2.0.7";
    private static final String CART6 = "fd00:1::5";
    private static final String PG6 = "fd00:2::7";
    private static final IdentityView VIEW = IdentityView.builder()
            .workload(Packets.address(CART), ClusterId.of("east"), "shop", Map.of("app", "cart"))
            .workload(Packets.address(PG), WEST, "db", Map.of("app", "pg"))
            .workload(Packets.address(CART6), ClusterId.of("east"), "shop", Map.of("app", "cart"))
            .workload(Packets.address(PG6), WEST, "db", Map.of("app", "pg"))
            .build();
    /** Both sides allow shop -> db on TCP 5201 and UDP 53 (under deny each side needs its rule); nothing else. */
    private static final String SHOP_TO_DB = """
            metadata: {name: db-in}
            spec:
              appliesTo: {namespaces: [db]}
              ingress: [{action: Allow, peers: [{namespaces: [shop]}], ports: [{protocol: TCP, port: 5201}, {protocol: UDP, port: 53}]}]
            ---
            metadata: {name: shop-out}
            spec:
              appliesTo: {namespaces: [shop]}
              egress: [{action: Allow, peers: [{namespaces: [db]}], ports: [{protocol: TCP, port: 5201}, {protocol: UDP, port: 53}]}]
            """;
    private static final int SYN = 0x02;
    private static final int ACK = 0x10;
    private static final int FIN = 0x01;
    private static final int RST = 0x04;

    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-07T12:00:00Z"));

    private static DecisionTable table(String yaml) {
        return DecisionTable.compile(PolicyCodec.read(yaml), CrossClusterDefault.DENY, VIEW);
    }

    private PolicyPacketFilter filter(String yaml, ConnectionTracker.Settings settings) {
        return new PolicyPacketFilter(table(yaml), new ConnectionTracker(settings, clock));
    }

    private PolicyPacketFilter filter() {
        return filter(SHOP_TO_DB, ConnectionTracker.Settings.defaults());
    }

    private static Verdict judge(PolicyPacketFilter filter, byte[] packet) {
        return filter.verdict(Direction.OUTBOUND, WEST, packet, 0, packet.length, packet[0] >>> 4);
    }

    private void later(Duration by) {
        clock.set(clock.instant().plus(by));
    }

    private static byte[] udp(String from, String to, int sourcePort, int destinationPort) {
        return Packets.udp(from, to, sourcePort, destinationPort, new byte[4]);
    }

    /** A TCP segment with exactly these flags. */
    static byte[] tcp(String from, String to, int sourcePort, int destinationPort, int flags) {
        byte[] packet = Packets.tcp(from, to, 1, 0, new byte[4]);
        int at = (packet[0] >>> 4) == 4 ? 20 : 40;
        packet[at] = (byte) (sourcePort >>> 8);
        packet[at + 1] = (byte) sourcePort;
        packet[at + 2] = (byte) (destinationPort >>> 8);
        packet[at + 3] = (byte) destinationPort;
        packet[at + 13] = (byte) flags;
        return packet;
    }

    /** An ICMP (IPv4) or ICMPv6 echo message of {@code type} with {@code identifier}. */
    static byte[] echo(String from, String to, int type, int identifier) {
        byte[] packet = Packets.udp(from, to, 0, 0, new byte[4]);
        boolean v4 = (packet[0] >>> 4) == 4;
        int at = v4 ? 20 : 40;
        packet[v4 ? 9 : 6] = (byte) (v4 ? 1 : 58);
        packet[at] = (byte) type;
        packet[at + 1] = 0;
        packet[at + 4] = (byte) (identifier >>> 8);
        packet[at + 5] = (byte) identifier;
        return packet;
    }

    @Test
    void aUdpAnswerPassesOnlyAfterItsRequestAndOnlyToThePortTheRequestCameFrom() {
        PolicyPacketFilter filter = filter();
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 53, 40001)), "an answer before any request");
        assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 40001, 53)));
        assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 40001)));
        assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 40001)));
        assertEquals(2, filter.replies());
        // from the allowed service port to a port cart never used: the stateless rule let this through
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 53, 40002)));
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 53, 22)));
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 54, 40001)), "from another port");
        assertEquals(Verdict.DENY, judge(filter, udp(PG, "10.1.0.6", 53, 40001)), "to another address");
        assertEquals(Verdict.DENY, judge(filter, Packets.udp(PG6, CART6, 53, 40001, new byte[4])), "IPv6 is apart");
        assertEquals(Verdict.ALLOW, judge(filter, udp(CART6, PG6, 40001, 53)));
        assertEquals(Verdict.ALLOW, judge(filter, udp(PG6, CART6, 53, 40001)));
        assertEquals(3, filter.replies());
        assertEquals(2, filter.tracked(), "one flow over IPv4, one over IPv6");
        // counted on the rules that allowed the request: db-in spec.ingress[0] and shop-out spec.egress[0]
        assertEquals(List.of("db-in spec.ingress[0]", "shop-out spec.egress[0]"),
                filter.table().rules().stream().map(r -> r.path()).toList());
        assertEquals(5, filter.table().counters().packets(0), "2 requests and 3 answers");
    }

    @Test
    void aTcpAnswerNeedsTheConnectionAndTheServerSideCannotOpenOne() {
        PolicyPacketFilter filter = filter();
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40000, SYN | ACK)), "no connection yet");
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40000, 5201, SYN)));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, SYN | ACK)));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40000, 5201, ACK)));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, ACK)));
        // a SYN without ACK is never an answer, even on the tracked ports
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40000, SYN)));
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40001, ACK)), "a port cart never used");
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40001, SYN)));
        assertEquals(2, filter.replies());
        // a connection already running when the gateway started: its first allowed segment tracks it
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART6, PG6, 40003, 5201, ACK)));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG6, CART6, 5201, 40003, ACK)));
        assertEquals(3, filter.replies());
    }

    @Test
    void aUdpFlowIsForgottenWhenIdleAndEachRequestKeepsItAlive() {
        PolicyPacketFilter filter = filter(); // udp-timeout 30 s
        assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 40001, 53)));
        later(Duration.ofSeconds(29));
        assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 40001)));
        later(Duration.ofSeconds(2)); // 31 s after the request: answers do not keep it alive
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 53, 40001)));
        assertEquals(0, filter.tracked());
        assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 40001, 53)));
        for (int i = 0; i < 6; i++) { // a request every 20 s keeps it going
            later(Duration.ofSeconds(20));
            assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 40001)), "after " + (i + 1) * 20 + " s");
            assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 40001, 53)));
        }
        assertEquals(1, filter.tracked());
    }

    @Test
    void aTcpConnectionIsKeptLongUntilAFinOrRstThenOnlyForTheClosingTimeout() {
        PolicyPacketFilter filter = filter(); // tcp-timeout 1 h, closing 10 s
        judge(filter, tcp(CART, PG, 40000, 5201, SYN));
        later(Duration.ofMinutes(59));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, ACK)), "59 min idle");
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40000, 5201, FIN | ACK)));
        later(Duration.ofSeconds(9));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40000, 5201, ACK)), "its last ACKs pass");
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, FIN | ACK)));
        later(Duration.ofSeconds(2)); // the ACKs after the FIN did not keep it longer
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40000, ACK)));
        // a new connection on the same ports opens it again
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40000, 5201, SYN)));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, SYN | ACK)));
        // an RST from the server side closes it too
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, RST | ACK)));
        later(Duration.ofSeconds(11));
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40000, ACK)));
        // an RST of a connection not tracked tracks nothing
        assertEquals(Verdict.ALLOW, judge(filter, tcp(CART, PG, 40009, 5201, RST)));
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40009, ACK)));
    }

    @Test
    void aNewTableThatDeniesTheFlowStopsItsAnswersAtOnceAndTrackedFlowsSurviveASwap() {
        PolicyPacketFilter filter = filter();
        judge(filter, udp(CART, PG, 40001, 53));
        judge(filter, tcp(CART, PG, 40000, 5201, SYN));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, SYN | ACK)));
        // the new version closes TCP 5201 and keeps UDP 53
        String udpOnly = SHOP_TO_DB.replace("{protocol: TCP, port: 5201}, ", "");
        filter.use(table(udpOnly));
        assertEquals(Verdict.DENY, judge(filter, tcp(CART, PG, 40000, 5201, ACK)), "the flow itself");
        assertEquals(Verdict.DENY, judge(filter, tcp(PG, CART, 5201, 40000, ACK)), "its answers, with no wait");
        assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 40001)), "the UDP flow, tracked before, goes on");
        // the entry was kept: a table that allows the flow again lets its answers through at once
        filter.use(table(SHOP_TO_DB));
        assertEquals(Verdict.ALLOW, judge(filter, tcp(PG, CART, 5201, 40000, ACK)));
    }

    @Test
    void anExplicitDenyOfTheAnswerHolds() {
        PolicyPacketFilter filter = filter(SHOP_TO_DB + """
                ---
                metadata: {name: shop-in}
                spec:
                  appliesTo: {namespaces: [shop]}
                  ingress: [{action: Deny, peers: [{namespaces: [db]}]}]
                """, ConnectionTracker.Settings.defaults());
        assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 40001, 53)));
        assertEquals(Verdict.DENY, judge(filter, udp(PG, CART, 53, 40001)));
        assertEquals(0, filter.replies());
    }

    @Test
    void anEchoReplyPassesForTheIdentifierOfAnAllowedRequestOnly() {
        String anyPort = """
                metadata: {name: db-in}
                spec: {appliesTo: {namespaces: [db]}, ingress: [{action: Allow, peers: [{namespaces: [shop]}]}]}
                ---
                metadata: {name: shop-out}
                spec: {appliesTo: {namespaces: [shop]}, egress: [{action: Allow, peers: [{namespaces: [db]}]}]}
                """;
        PolicyPacketFilter filter = filter(anyPort, ConnectionTracker.Settings.defaults());
        assertEquals(Verdict.DENY, judge(filter, echo(PG, CART, 0, 7)), "a reply before the request");
        assertEquals(Verdict.ALLOW, judge(filter, echo(CART, PG, 8, 7)));
        assertEquals(Verdict.ALLOW, judge(filter, echo(PG, CART, 0, 7)));
        assertEquals(Verdict.DENY, judge(filter, echo(PG, CART, 0, 8)), "another identifier");
        assertEquals(Verdict.DENY, judge(filter, echo(PG, CART, 8, 7)), "a request from pg is no reply");
        assertEquals(Verdict.DENY, judge(filter, echo(PG, CART, 3, 7)), "errors are not tracked");
        assertEquals(Verdict.ALLOW, judge(filter, echo(CART6, PG6, 128, 9)));
        assertEquals(Verdict.ALLOW, judge(filter, echo(PG6, CART6, 129, 9)));
        assertEquals(Verdict.DENY, judge(filter, echo(PG6, CART6, 0, 9)), "an ICMPv4 type in ICMPv6 is no reply");
        assertEquals(2, filter.replies());
        later(Duration.ofSeconds(31));
        assertEquals(Verdict.DENY, judge(filter, echo(PG, CART, 0, 7)), "past the udp-timeout");
    }

    @Test
    void aFullTrackerEvictsAndCountsItNeverGrowsAndTheNewestFlowIsTracked() {
        ConnectionTracker.Settings small = new ConnectionTracker.Settings(64, Duration.ofHours(1),
                Duration.ofSeconds(10), Duration.ofSeconds(30));
        PolicyPacketFilter filter = filter(SHOP_TO_DB, small);
        int flows = 1000;
        for (int i = 0; i < flows; i++) {
            assertEquals(Verdict.ALLOW, judge(filter, udp(CART, PG, 20000 + i, 53)));
            assertEquals(Verdict.ALLOW, judge(filter, udp(PG, CART, 53, 20000 + i)), "the newest flow, " + i);
        }
        int tracked = filter.tracked();
        assertTrue(tracked <= 64 && tracked > 32, "tracked " + tracked);
        // every new flow took a free slot (tracked grew) or pushed a live one out (counted)
        assertEquals(flows, tracked + filter.evictions(), "tracked " + tracked + ", evicted " + filter.evictions());
        later(Duration.ofSeconds(31));
        assertEquals(0, filter.tracked());
        long evicted = filter.evictions();
        for (int i = 0; i < 20; i++) {
            judge(filter, udp(CART, PG, 30000 + i, 53));
        }
        assertEquals(20, filter.tracked() + filter.evictions() - evicted, "expired slots are taken first, uncounted");
        PacketPolicy.Counters counters = filter.counters();
        assertEquals(64, counters.trackingCapacity());
        assertEquals(filter.tracked(), counters.trackedFlows());
        assertEquals(filter.evictions(), counters.evictions());
        assertEquals(flows, counters.trackedReplies());
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        Duration hour = Duration.ofHours(1);
        Duration ten = Duration.ofSeconds(10);
        assertEquals("capacity", assertThrows(InvalidFieldException.class,
                () -> new ConnectionTracker.Settings(4, hour, ten, ten)).field());
        assertEquals("udp-timeout", assertThrows(InvalidFieldException.class,
                () -> new ConnectionTracker.Settings(64, hour, ten, Duration.ZERO)).field());
        assertEquals("tcp-closing-timeout", assertThrows(InvalidFieldException.class,
                () -> new ConnectionTracker.Settings(64, Duration.ofSeconds(20), Duration.ofSeconds(30), ten)).field());
    }

    @Test
    void trackingAndAnsweringAllocateNothing() {
        PolicyPacketFilter filter = filter();
        byte[][] packets = {udp(CART, PG, 40001, 53), udp(PG, CART, 53, 40001), udp(PG, CART, 53, 40002),
                tcp(CART6, PG6, 40000, 5201, ACK), tcp(PG6, CART6, 5201, 40000, ACK), tcp(PG6, CART6, 5201, 40000, SYN),
                echo(CART, PG, 8, 1)};
        int allowedPerRound = 0;
        for (byte[] packet : packets) {
            allowedPerRound += judge(filter, packet) == Verdict.ALLOW ? 1 : 0;
        }
        assertEquals(4, allowedPerRound, "request, answer, TCP both ways; not the stranger, the SYN or the echo");
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        long least = Long.MAX_VALUE;
        int allowed = 0;
        for (int round = 0; round < 8; round++) {
            later(Duration.ofSeconds(3)); // so that the round's first packets write their entries again
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 70_000; i++) {
                allowed += judge(filter, packets[i % packets.length]) == Verdict.ALLOW ? 1 : 0;
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round >= 3) {
                least = Math.min(least, allocated);
            }
        }
        assertEquals(0, least, "bytes allocated over 70,000 packets");
        assertEquals(8 * 40_000, allowed);
    }

    /**
     * Two writers keep a tracker of one neighbourhood (8 slots) full with 16 flows, in turn and each at a later
     * millisecond, so that flow f always takes the slot of flow f + 8 (mod 16), the oldest; the flows differ in the
     * last words of both addresses alone. A reader asks, meanwhile, for the keys a slot passes through while it is
     * rewritten: f's source with (f + 8)'s destination. One that kept words read under two writes would find one;
     * none may be found.
     */
    @Test
    void aReaderNeverSeesAKeyMadeOfTwoFlowsWhileWritersRewriteTheSlots() throws Exception {
        ConnectionTracker tracker = new ConnectionTracker(new ConnectionTracker.Settings(8, Duration.ofHours(1),
                Duration.ofSeconds(10), Duration.ofSeconds(30)), clock);
        int flows = 16;
        byte[][] packets = new byte[flows][];
        byte[][] mixed = new byte[flows][];
        for (int f = 0; f < flows; f++) {
            packets[f] = Packets.udp("fd00:1::" + (f + 1), "fd00:2::" + (f + 1), 5000, 53, new byte[0]);
        }
        for (int f = 0; f < flows; f++) {
            mixed[f] = packets[f].clone();
            System.arraycopy(packets[(f + 8) % flows], 24, mixed[f], 24, 16); // the destination of f + 8
        }
        long start = tracker.now();
        AtomicLong written = new AtomicLong();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong strangers = new AtomicLong();
        AtomicLong asked = new AtomicLong();
        AtomicLong real = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    long n = written.getAndIncrement();
                    tracker.record(6, packets[(int) (n % flows)], 8, 24, 17, 5000, 53, ConnectionTracker.Tcp.CARRIES,
                            start + n);
                }
            }));
        }
        threads.add(Thread.ofPlatform().start(() -> {
            for (int n = 0; !stop.get(); n++) {
                int f = n % flows;
                if (tracker.tracked(6, mixed[f], 8, 24, 17, 5000, 53, start) >= 0) {
                    strangers.incrementAndGet();
                }
                if (tracker.tracked(6, packets[f], 8, 24, 17, 5000, 53, start) >= 0) {
                    real.incrementAndGet();
                }
                asked.incrementAndGet();
            }
        }));
        Thread.sleep(1500);
        stop.set(true);
        for (Thread thread : threads) {
            thread.join();
        }
        assertEquals(0, strangers.get(), "keys made of two flows found, of " + asked.get() + " asked");
        assertTrue(real.get() > 0, "the reader found the flows that were there (" + real.get() + ")");
        assertTrue(tracker.evictions() > 10_000, "slots were rewritten under the reader: " + tracker.evictions());
    }
}
