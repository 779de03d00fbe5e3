package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceKey;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.DecisionTable;
import io.isthmus.policy.IdentityView;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.tunnel.PacketPolicy.Direction;
import io.isthmus.tunnel.PacketPolicy.Verdict;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyPacketFilterTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final IdentityView VIEW = IdentityView.builder()
            .workload(Packets.address("10.1.0.5"), EAST, "shop", Map.of("app", "cart"))
            .workload(Packets.address("10.2.0.7"), WEST, "db", Map.of("app", "pg"))
            .backs(Packets.address("10.2.0.7"), WEST, new ServiceKey("db", "pg"))
            .workload(Packets.address("fd00:1::5"), EAST, "shop", Map.of("app", "cart"))
            .workload(Packets.address("fd00:2::7"), WEST, "db", Map.of("app", "pg"))
            .build();
    /** db accepts TCP 5201 (the Packets helper's TCP port) and UDP 53 from shop; everything else to db: denied. */
    private static final String DB_POLICY = """
            apiVersion: isthmus.io/v1alpha1
            kind: GlobalNetworkPolicy
            metadata: {name: db-in}
            spec:
              appliesTo: {namespaces: [db]}
              ingress:
                - action: Allow
                  peers: [{namespaces: [shop]}]
                  ports: [{protocol: TCP, port: 5201}, {protocol: UDP, port: 53}]
                - action: Deny
            """;

    private static PolicyPacketFilter filter(String yaml, CrossClusterDefault fallback) {
        return new PolicyPacketFilter(DecisionTable.compile(PolicyCodec.read(yaml), fallback, VIEW));
    }

    private static Verdict judge(PolicyPacketFilter filter, byte[] packet) {
        return filter.verdict(Direction.OUTBOUND, WEST, packet, 0, packet.length, packet[0] >>> 4);
    }

    @Test
    void tcpAndUdpPortsAreReadFromIpv4AndIpv6Packets() {
        PolicyPacketFilter filter = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        assertEquals(Verdict.ALLOW, judge(filter, Packets.tcp("10.1.0.5", "10.2.0.7", 1, 0, new byte[10])));
        assertEquals(Verdict.ALLOW, judge(filter, Packets.tcp("fd00:1::5", "fd00:2::7", 1, 0, new byte[10])));
        assertEquals(Verdict.ALLOW, judge(filter, Packets.udp("10.1.0.5", "10.2.0.7", 999, 53, new byte[4])));
        assertEquals(Verdict.DENY, judge(filter, Packets.udp("10.1.0.5", "10.2.0.7", 53, 54, new byte[4])));
        assertEquals(Verdict.DENY, judge(filter, Packets.udp("fd00:1::5", "fd00:2::7", 53, 5201, new byte[4])));
        // the reverse direction: db is the source now, cart's side has no policy, the default allows
        assertEquals(Verdict.ALLOW, judge(filter, Packets.udp("10.2.0.7", "10.1.0.5", 53, 54, new byte[4])));
        // inbound judges the same flow from the same addresses
        byte[] denied = Packets.udp("10.1.0.5", "10.2.0.7", 53, 54, new byte[4]);
        assertEquals(Verdict.DENY, filter.verdict(Direction.INBOUND, EAST, denied, 0, denied.length, 4));
    }

    /** A TCP segment from {@code source}:5201 back to {@code destination}:40000 (the answer of the helper's flow). */
    private static byte[] tcpAnswer(String source, String destination, int flags) {
        byte[] packet = Packets.tcp(source, destination, 1, flags, new byte[4]);
        int tcp = (packet[0] >>> 4) == 4 ? 20 : 40;
        byte[] ports = Arrays.copyOfRange(packet, tcp, tcp + 4);
        System.arraycopy(ports, 2, packet, tcp, 2);
        System.arraycopy(ports, 0, packet, tcp + 2, 2);
        return packet;
    }

    @Test
    void underADenyDefaultTheAnswersOfATrackedFlowPassButNothingThatOpensAConnection() {
        // under deny both sides need a rule: shop's egress to db as well
        PolicyPacketFilter filter = filter(DB_POLICY + """
                ---
                metadata: {name: shop-out}
                spec:
                  appliesTo: {namespaces: [shop]}
                  egress: [{action: Allow, peers: [{namespaces: [db]}], ports: [{protocol: TCP, port: 5201}, {protocol: UDP, port: 53}]}]
                """, CrossClusterDefault.DENY);
        // pg's answer, db:5201 -> cart:40000 with ACK: no rule allows that flow, and no connection was seen yet
        assertEquals(Verdict.DENY, judge(filter, tcpAnswer("10.2.0.7", "10.1.0.5", 0)));
        assertEquals(0, filter.replies());
        assertEquals(Verdict.ALLOW, judge(filter, Packets.tcp("10.1.0.5", "10.2.0.7", 1, 0, new byte[4])));
        assertEquals(Verdict.ALLOW, judge(filter, Packets.tcp("fd00:1::5", "fd00:2::7", 1, 0, new byte[4])));
        assertEquals(Verdict.ALLOW, judge(filter, Packets.udp("10.1.0.5", "10.2.0.7", 999, 53, new byte[4])));
        // now they answer flows that were allowed
        assertEquals(Verdict.ALLOW, judge(filter, tcpAnswer("10.2.0.7", "10.1.0.5", 0)));
        assertEquals(Verdict.ALLOW, judge(filter, tcpAnswer("fd00:2::7", "fd00:1::5", 0x02))); // SYN+ACK
        assertEquals(Verdict.ALLOW, judge(filter, Packets.udp("10.2.0.7", "10.1.0.5", 53, 999, new byte[4])));
        assertEquals(3, filter.replies());
        // a SYN without ACK opens a connection: db may not open one to cart from port 5201
        byte[] syn = tcpAnswer("10.2.0.7", "10.1.0.5", 0);
        syn[20 + 13] = 0x02;
        assertEquals(Verdict.DENY, judge(filter, syn));
        // from another port, or to a port cart never sent from, it answers nothing that was allowed
        assertEquals(Verdict.DENY, judge(filter, Packets.udp("10.2.0.7", "10.1.0.5", 54, 999, new byte[4])));
        assertEquals(Verdict.DENY, judge(filter, Packets.udp("10.2.0.7", "10.1.0.5", 53, 1000, new byte[4])));
        assertEquals(3, filter.replies());
    }

    @Test
    void anExplicitDenyIsNeverTakenForAnAnswer() {
        String shopDeniesDb = DB_POLICY + """
                ---
                metadata: {name: shop-in}
                spec:
                  appliesTo: {namespaces: [shop]}
                  ingress: [{action: Deny, peers: [{namespaces: [db]}]}]
                """;
        for (CrossClusterDefault fallback : CrossClusterDefault.values()) {
            PolicyPacketFilter filter = filter(shopDeniesDb, fallback);
            judge(filter, Packets.tcp("10.1.0.5", "10.2.0.7", 1, 0, new byte[4])); // tracked where allowed
            judge(filter, Packets.udp("10.1.0.5", "10.2.0.7", 999, 53, new byte[4]));
            assertEquals(Verdict.DENY, judge(filter, tcpAnswer("10.2.0.7", "10.1.0.5", 0)), fallback.label());
            assertEquals(Verdict.DENY, judge(filter, Packets.udp("10.2.0.7", "10.1.0.5", 53, 999, new byte[4])), fallback.label());
            assertEquals(0, filter.replies());
        }
        // and under allow, db's explicit trailing Deny holds even where the reverse flow is allowed
        PolicyPacketFilter open = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        assertEquals(Verdict.DENY, judge(open, Packets.udp("10.1.0.5", "10.2.0.7", 53, 54, new byte[4])));
    }

    @Test
    void aPacketAtAnOffsetIsReadInPlace() {
        PolicyPacketFilter filter = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        byte[] udp = Packets.udp("10.1.0.5", "10.2.0.7", 1, 53, new byte[4]);
        byte[] framed = new byte[udp.length + 30];
        Arrays.fill(framed, (byte) 0xEE);
        System.arraycopy(udp, 0, framed, 17, udp.length);
        assertEquals(Verdict.ALLOW, filter.verdict(Direction.OUTBOUND, WEST, framed, 17, udp.length + 13, 4));
    }

    @Test
    void icmpAndLaterFragmentsMatchOnlyRulesWithoutPorts() {
        PolicyPacketFilter filter = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        byte[] icmp = Packets.udp("10.1.0.5", "10.2.0.7", 0, 53, new byte[4]);
        icmp[9] = 1; // protocol ICMP: the bytes where a port would be mean nothing
        assertEquals(Verdict.DENY, judge(filter, icmp)); // the Deny rule without ports
        byte[] fragment = Packets.udp("10.1.0.5", "10.2.0.7", 1, 53, new byte[16]);
        fragment[6] = 0x00;
        fragment[7] = 0x02; // fragment offset 16 bytes: no UDP header here
        assertEquals(Verdict.DENY, judge(filter, fragment));
        byte[] firstFragment = Packets.udp("10.1.0.5", "10.2.0.7", 1, 53, new byte[16]);
        firstFragment[6] = 0x20; // more fragments, offset 0: the header is here
        assertEquals(Verdict.ALLOW, judge(filter, firstFragment));
    }

    @Test
    void ipv6ExtensionHeadersAreWalkedToTheTransportHeader() {
        PolicyPacketFilter filter = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        byte[] udp = Packets.udp("fd00:1::5", "fd00:2::7", 1, 53, new byte[4]);
        // hop-by-hop (8 bytes) then a first fragment header (offset 0) then UDP
        byte[] first = withExtensions(udp, new int[] {0, 44}, 0);
        assertEquals(Verdict.ALLOW, judge(filter, first));
        // a later fragment: judged without a port, the Deny rule without ports decides
        byte[] later = withExtensions(udp, new int[] {60, 44}, 185);
        assertEquals(Verdict.DENY, judge(filter, later));
        // more extension headers than are walked: denied outright, counted as unreadable
        byte[] deep = withExtensions(udp, new int[] {0, 60, 60, 60, 60, 60, 60, 60, 60, 60}, 0);
        PolicyPacketFilter allowAll = filter("", CrossClusterDefault.ALLOW);
        assertEquals(Verdict.DENY, judge(allowAll, deep));
        assertEquals(1, allowAll.unreadable());
        assertEquals(Verdict.ALLOW, judge(allowAll, withExtensions(udp, new int[] {0, 60, 60, 43}, 0)));
    }

    @Test
    void aPacketTooShortToHoldItsPortIsDenied() {
        PolicyPacketFilter allowAll = filter("", CrossClusterDefault.ALLOW);
        byte[] udp = Packets.udp("10.1.0.5", "10.2.0.7", 1, 53, new byte[0]);
        byte[] cut = Arrays.copyOf(udp, 22); // IP header and two bytes of UDP
        cut[2] = 0;
        cut[3] = 22;
        assertEquals(Verdict.DENY, judge(allowAll, cut));
        assertEquals(1, allowAll.unreadable());
    }

    @Test
    void aNewTableTakesOverAtTheNextPacketAndPacketsCountOnTheDecidingRule() {
        PolicyPacketFilter filter = new PolicyPacketFilter(DecisionTable.compile(List.of(), CrossClusterDefault.DENY,
                VIEW));
        byte[] tcp = Packets.tcp("10.1.0.5", "10.2.0.7", 1, 0, new byte[10]);
        assertEquals(Verdict.DENY, judge(filter, tcp));
        assertTrue(filter.describe().matches("policy 0:empty \\(0 rules, default deny\\)"), filter.describe());
        DecisionTable table = DecisionTable.compile(PolicyCodec.read(DB_POLICY), CrossClusterDefault.DENY, VIEW);
        filter.use(table);
        // the egress side (cart) has no policy and crosses clusters: denied by the default
        assertEquals(Verdict.DENY, judge(filter, tcp));
        filter.use(DecisionTable.compile(PolicyCodec.read(DB_POLICY), CrossClusterDefault.SAME_CLUSTER_ONLY, VIEW));
        assertEquals(Verdict.ALLOW, judge(filter, tcp)); // pg backs an exported service
        byte[] ssh = Packets.udp("10.1.0.5", "10.2.0.7", 1, 22, new byte[3]);
        assertEquals(Verdict.DENY, judge(filter, ssh));
        assertEquals(1, filter.table().counters().packets(0)); // db-in spec.ingress[0]
        assertEquals(tcp.length, filter.table().counters().bytes(0));
        assertEquals(1, filter.table().counters().packets(1)); // db-in spec.ingress[1]
        assertEquals("db-in spec.ingress[1]", filter.table().rules().get(1).path());
        assertTrue(filter.describe().matches("policy 1:[0-9a-f]{12} \\(2 rules, default same-cluster-only\\)"),
                filter.describe());
    }

    @Test
    void judgingAPacketAllocatesNothing() {
        PolicyPacketFilter filter = filter(DB_POLICY, CrossClusterDefault.ALLOW);
        byte[][] packets = {Packets.tcp("10.1.0.5", "10.2.0.7", 1, 0, new byte[10]),
                Packets.udp("fd00:1::5", "fd00:2::7", 1, 53, new byte[4]),
                withExtensions(Packets.udp("fd00:1::5", "fd00:2::7", 1, 53, new byte[4]), new int[] {0, 44}, 0)};
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled());
        int allowed = 0;
        // The first rounds warm the JIT up. Of the later ones the least counts: the JVM itself may now and then
        // allocate on this thread, while an allocation per call would show in every round.
        long least = Long.MAX_VALUE;
        for (int round = 0; round < 8; round++) {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100_000; i++) {
                byte[] packet = packets[i % 3];
                allowed += judge(filter, packet) == Verdict.ALLOW ? 1 : 0;
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round >= 3) {
                least = Math.min(least, allocated);
            }
        }
        assertEquals(0, least, "bytes allocated over 100,000 packets (" + allowed + " allowed)");
        assertEquals(800_000, allowed);
    }

    /**
     * {@code ipv6} (an IPv6 packet without extension headers) with {@code headers} inserted in front of its payload,
     * each 8 bytes; a fragment header (44) gets {@code fragmentOffset} (in 8-byte units).
     */
    static byte[] withExtensions(byte[] ipv6, int[] headers, int fragmentOffset) {
        int upper = ipv6[6] & 0xFF;
        byte[] out = new byte[ipv6.length + headers.length * 8];
        System.arraycopy(ipv6, 0, out, 0, 40);
        out[6] = (byte) headers[0];
        int at = 40;
        for (int i = 0; i < headers.length; i++) {
            out[at] = (byte) (i + 1 < headers.length ? headers[i + 1] : upper);
            if (headers[i] == 44) {
                out[at + 2] = (byte) (fragmentOffset >>> 5);
                out[at + 3] = (byte) (fragmentOffset << 3);
            } else {
                out[at + 1] = 0; // (0 + 1) * 8 bytes
            }
            at += 8;
        }
        System.arraycopy(ipv6, 40, out, at, ipv6.length - 40);
        int payload = out.length - 40;
        out[4] = (byte) (payload >>> 8);
        out[5] = (byte) payload;
        return out;
    }
}
