package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.policy.Decision;
import io.isthmus.policy.DecisionTable;
import io.isthmus.policy.Flow;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The policy stage backed by a compiled {@link DecisionTable}: reads the protocol and destination port from the
 * inner packet, asks the current table, counts the packet on the rules that decided (and in the table's sampled
 * log), and answers. Both directions judge the same flow from the packet's own addresses (outbound the source is
 * the local side, inbound the peer's), so the receiver repeats exactly the sender's check. Swap a new table in with
 * {@link #use}; each packet reads the current one once. Allocates nothing per packet.
 *
 * <p>Headers: IPv4 by its IHL; IPv6 walking hop-by-hop, routing, destination options, fragment and AH headers (at
 * most {@value #MAX_EXTENSIONS}). A non-first fragment has no port (only rules without ports match it). A packet
 * whose headers cannot be read to the destination port (a chain of extension headers too long or cut short, a first
 * fragment or packet too short to hold the port) is denied, since judging it without its port would let it past
 * port rules; those are counted by {@link #unreadable()}.
 *
 * <p>Answers ({@link ConnectionTracker}): every packet the table allows, either way through this gateway, records its
 * flow (TCP, UDP, SCTP by ports; ICMP echo requests by identifier). A packet the table denies, where no rule said
 * Deny on either side (only the defaults denied it), still passes when it answers a tracked flow: the reverse 5-tuple
 * is tracked and not expired, and the current table still allows that flow (so a new table that denies a flow stops
 * its answers at the next packet, too). A TCP segment that opens a connection (SYN without ACK) is never an answer.
 * Such a packet is counted on the rules that allow the flow it answers, and in {@link #replies()}.
 */
public final class PolicyPacketFilter implements PacketPolicy {
    static final int MAX_EXTENSIONS = 8;
    private static final long UNREADABLE = -2;
    // transport(): destination port in bits 0-15, source port (ICMP echo: identifier) 16-31, flags, protocol 40-47;
    // negative: unreadable
    private static final int SOURCE_PORT_SHIFT = 16;
    private static final long HAS_PORTS = 1L << 32;
    private static final long OPENS_CONNECTION = 1L << 33; // TCP SYN without ACK
    private static final long CLOSES_CONNECTION = 1L << 34; // TCP FIN or RST
    private static final long ECHO_REQUEST = 1L << 35;
    private static final long ECHO_REPLY = 1L << 36;
    private static final int PROTOCOL_SHIFT = 40;

    private volatile DecisionTable table;
    private final ConnectionTracker connections;
    private final AtomicLong unreadable = new AtomicLong();
    private final AtomicLong replies = new AtomicLong();

    /** With a connection tracker of the default settings on the system clock. */
    public PolicyPacketFilter(DecisionTable initial) {
        this(initial, ConnectionTracker.withDefaults());
    }

    /** {@code connections} outlives tables: flows tracked under one are answered under the next while it allows them. */
    public PolicyPacketFilter(DecisionTable initial, ConnectionTracker connections) {
        this.table = Objects.requireNonNull(initial, "initial table");
        this.connections = Objects.requireNonNull(connections, "connections");
    }

    /** From the next packet on, decide by {@code next}; the tracked flows stay. */
    public void use(DecisionTable next) {
        this.table = Objects.requireNonNull(next, "table");
    }

    public DecisionTable table() {
        return table;
    }

    public ConnectionTracker connections() {
        return connections;
    }

    /** Packets denied because their headers could not be read to the port. */
    public long unreadable() {
        return unreadable.get();
    }

    @Override
    public Verdict verdict(Direction direction, ClusterId peer, byte[] packet, int at, int length, int version) {
        DecisionTable current = table;
        long transport = transport(packet, at, length, version);
        if (transport < 0) {
            unreadable.incrementAndGet();
            return Verdict.DENY;
        }
        int protocol = (int) (transport >>> PROTOCOL_SHIFT) & 0xFF;
        boolean ports = (transport & HAS_PORTS) != 0;
        int port = ports ? (int) transport & 0xFFFF : Flow.NO_PORT;
        int sourcePort = (int) (transport >>> SOURCE_PORT_SHIFT) & 0xFFFF; // or the echo identifier
        int source = at + InnerPacket.sourceOffset(version);
        int destination = at + InnerPacket.destinationOffset(version);
        long decision = current.decide(version, packet, source, destination, protocol, port);
        if (Decision.allowed(decision)) {
            if (ports) {
                connections.record(version, packet, source, destination, protocol, sourcePort, port, tcp(transport),
                        connections.now());
            } else if ((transport & ECHO_REQUEST) != 0) {
                connections.record(version, packet, source, destination, protocol, sourcePort, 0,
                        ConnectionTracker.Tcp.CARRIES, connections.now());
            }
        } else if (deniedByDefaultsOnly(decision) && (ports ? (transport & OPENS_CONNECTION) == 0
                : (transport & ECHO_REPLY) != 0)) {
            long now = connections.now();
            // the flow this would answer: addresses swapped, ports swapped (an echo: the same identifier)
            long found = ports
                    ? connections.tracked(version, packet, destination, source, protocol, port, sourcePort, now)
                    : connections.tracked(version, packet, destination, source, protocol, sourcePort, 0, now);
            if (found >= 0) {
                long answered = current.decide(version, packet, destination, source, protocol,
                        ports ? sourcePort : Flow.NO_PORT);
                if (Decision.allowed(answered)) {
                    replies.incrementAndGet();
                    decision = answered; // counted on the rules that allowed the flow it answers
                    if ((transport & CLOSES_CONNECTION) != 0) {
                        connections.closing(found, now);
                    }
                }
            }
        }
        current.counters().hit(decision, length);
        current.log().offer(version, packet, source, destination, protocol, port, decision);
        return Decision.allowed(decision) ? Verdict.ALLOW : Verdict.DENY;
    }

    private static ConnectionTracker.Tcp tcp(long transport) {
        if ((transport & CLOSES_CONNECTION) != 0) {
            return ConnectionTracker.Tcp.CLOSES;
        }
        return (transport & OPENS_CONNECTION) != 0 ? ConnectionTracker.Tcp.OPENS : ConnectionTracker.Tcp.CARRIES;
    }

    /** No rule denied either side: what denied the flow was a default (deny, or same-cluster-only). */
    private static boolean deniedByDefaultsOnly(long decision) {
        // an explicit Deny holds, and so does encryption Required: neither is a default an answer may pass
        return notRefused(Decision.egressOutcome(decision)) && notRefused(Decision.ingressOutcome(decision));
    }

    private static boolean notRefused(int outcome) {
        return outcome != Decision.RULE_DENY && outcome != Decision.ENCRYPTION_REQUIRED;
    }

    /** Packets the table denied that passed as answers of tracked flows. */
    public long replies() {
        return replies.get();
    }

    /** Tracked flows not expired now (scans the tracker: for metrics, not per packet). */
    public int tracked() {
        return connections.entries();
    }

    /** Tracked flows pushed out, still live, by new ones (the tracker was full where they hashed). */
    public long evictions() {
        return connections.evictions();
    }

    @Override
    public Counters counters() {
        return new Counters(unreadable(), replies(), tracked(), connections.capacity(), evictions());
    }

    @Override
    public String describe() {
        return table.describe();
    }

    /**
     * The upper protocol, whether it has ports here (not for a later fragment), the ports, whether it is a TCP
     * segment that opens or closes a connection, or an ICMP echo request or reply (and its identifier), packed as the
     * constants above say; or {@link #UNREADABLE}.
     */
    static long transport(byte[] packet, int at, int length, int version) {
        if (version == 4) {
            int end = at + Math.min(length, u16(packet, at + 2));
            int headerLength = (packet[at] & 0x0F) * 4;
            int protocol = packet[at + 9] & 0xFF;
            boolean laterFragment = ((packet[at + 6] & 0x1F) << 8 | packet[at + 7] & 0xFF) != 0;
            return port(packet, at + headerLength, end, protocol, laterFragment);
        }
        int end = at + Math.min(length, InnerPacket.IPV6_HEADER + u16(packet, at + 4));
        int next = packet[at + 6] & 0xFF;
        int offset = at + InnerPacket.IPV6_HEADER;
        for (int walked = 0; ; walked++) {
            int headerLength;
            switch (next) {
                case 0, 43, 60 -> { // hop-by-hop, routing, destination options: (length + 1) * 8 bytes
                    if (offset + 2 > end) {
                        return UNREADABLE;
                    }
                    headerLength = ((packet[offset + 1] & 0xFF) + 1) * 8;
                }
                case 51 -> { // authentication header: (length + 2) * 4 bytes
                    if (offset + 2 > end) {
                        return UNREADABLE;
                    }
                    headerLength = ((packet[offset + 1] & 0xFF) + 2) * 4;
                }
                case 44 -> { // fragment: 8 bytes; a non-zero offset means no transport header here
                    if (offset + 8 > end) {
                        return UNREADABLE;
                    }
                    if ((u16(packet, offset + 2) >>> 3) != 0) {
                        return port(packet, offset + 8, end, packet[offset] & 0xFF, true);
                    }
                    headerLength = 8;
                }
                default -> {
                    return port(packet, offset, end, next, false);
                }
            }
            if (walked == MAX_EXTENSIONS) {
                return UNREADABLE;
            }
            next = packet[offset] & 0xFF;
            offset += headerLength;
        }
    }

    private static long port(byte[] packet, int transport, int end, int protocol, boolean laterFragment) {
        long packed = (long) protocol << PROTOCOL_SHIFT;
        if (laterFragment) {
            return packed;
        }
        if (protocol == Flow.ICMP || protocol == Flow.ICMPV6) {
            return transport + 6 > end ? packed : packed | echo(packet, transport, protocol);
        }
        if (!Flow.hasPorts(protocol)) {
            return packed;
        }
        if (transport + 4 > end) {
            return UNREADABLE;
        }
        packed |= HAS_PORTS | (long) u16(packet, transport) << SOURCE_PORT_SHIFT | u16(packet, transport + 2);
        if (protocol == Flow.TCP) {
            if (transport + 14 > end) {
                return UNREADABLE;
            }
            int flags = packet[transport + 13] & 0xFF;
            if ((flags & 0x02) != 0 && (flags & 0x10) == 0) { // SYN without ACK
                packed |= OPENS_CONNECTION;
            }
            if ((flags & 0x05) != 0) { // FIN or RST
                packed |= CLOSES_CONNECTION;
            }
        }
        return packed;
    }

    /** An echo request or reply (ICMP 8 / 0, ICMPv6 128 / 129) and its identifier; 0 for any other message. */
    private static long echo(byte[] packet, int icmp, int protocol) {
        int type = packet[icmp] & 0xFF;
        long identifier = (long) u16(packet, icmp + 4) << SOURCE_PORT_SHIFT;
        if (type == (protocol == Flow.ICMP ? 8 : 128)) {
            return ECHO_REQUEST | identifier;
        }
        return type == (protocol == Flow.ICMP ? 0 : 129) ? ECHO_REPLY | identifier : 0;
    }

    private static int u16(byte[] bytes, int at) {
        return (bytes[at] & 0xFF) << 8 | bytes[at + 1] & 0xFF;
    }
}
