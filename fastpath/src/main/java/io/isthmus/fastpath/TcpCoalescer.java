package io.isthmus.fastpath;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The receiving half of TUN offloads (GRO in user space): consecutive in-order TCP segments of one flow, as a
 * tunnel receives them in one batch, are merged into one super-packet and written to a {@link TunDevice} with the
 * vnet header in one system call, with a {@code virtio_net_hdr} that tells the kernel how to cut it again
 * (TCPV4/TCPV6, {@code gso_size}, a partial checksum). Anything else (UDP, ICMP, TCP that cannot merge) is written
 * as it came, behind a zero header. The device must have been opened with the vnet header; offloads are not needed
 * for writing.
 *
 * <pre>{@code
 * TcpCoalescer coalescer = new TcpCoalescer(arena, 16);   // one per writer thread
 * for (each packet opened from the batch) {
 *     if (!coalescer.add(buffer, offset, length)) {      // full: write what is held, then add again
 *         coalescer.flush(queue);
 *         coalescer.add(buffer, offset, length);
 *     }
 * }
 * coalescer.flush(queue);                                 // at the end of every batch
 * }</pre>
 *
 * <p>Order within a flow is kept: a packet only ever joins the flow's latest held packet, and held packets are
 * written in the order they were started. Segments merge when they follow each other exactly (sequence numbers),
 * carry the same acknowledgement, options, addresses and IP header fields, have only ACK (and PSH on the last)
 * set, and all but the last carry the first one's payload size; at most 64 KiB in all. Each packet is copied once
 * into memory the coalescer owns ({@code slots} × 64 KiB from {@code arena}); nothing is allocated per packet.
 * Not thread-safe.
 *
 * <p>With {@code partialTcpChecksums}, every TCP packet it can parse (IPv4 without options and not a fragment, IPv6
 * without extension headers) — merged or not — is written with {@code NEEDS_CSUM} and the pseudo-header sum in its
 * checksum field, whatever that field held: the kernel trusts it on local delivery and finishes it only where a
 * packet leaves through a device that cannot. For a tunnel that does not carry inner TCP checksums (its AEAD tag
 * guards the bytes; see {@link GsoSegmenter#GsoSegmenter(boolean)}).
 */
public final class TcpCoalescer {
    private static final int HEADER = TunDevice.VNET_HEADER_SIZE;
    private static final int SLOT_SIZE = HEADER + 65_535;
    private static final int F_NEEDS_CSUM = 1;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_TCPV6 = 4;
    private static final int TCP = 6;
    private static final int TCP_ACK = 0x10;
    private static final int TCP_PSH = 0x08;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

    private final MemorySegment area;
    private final int capacity;
    // Per held packet (slot): its length (without the vnet header), and for a TCP packet that may still grow:
    private final int[] length;
    private final boolean[] open;
    private final int[] ipHeader;
    private final int[] tcpHeader;
    private final int[] gsoSize;
    private final int[] nextSequence;
    private final int[] segments;
    private final boolean partialTcpChecksums;
    private int used;
    private long merged;

    /** Holds up to {@code slots} packets (1..1024) between flushes, from {@code arena}. */
    public TcpCoalescer(Arena arena, int slots) {
        this(arena, slots, false);
    }

    /**
     * As {@link #TcpCoalescer(Arena, int)}; {@code partialTcpChecksums} writes every parsable TCP packet with a partial
     * checksum and {@code NEEDS_CSUM}, so the checksums it was given do not matter (see above).
     */
    public TcpCoalescer(Arena arena, int slots, boolean partialTcpChecksums) {
        this.partialTcpChecksums = partialTcpChecksums;
        if (slots < 1 || slots > 1024) {
            throw new InvalidArgumentException("coalescer slots", slots, "must be between 1 and 1024");
        }
        this.capacity = slots;
        this.area = arena.allocate((long) slots * SLOT_SIZE, 64);
        this.length = new int[slots];
        this.open = new boolean[slots];
        this.ipHeader = new int[slots];
        this.tcpHeader = new int[slots];
        this.gsoSize = new int[slots];
        this.nextSequence = new int[slots];
        this.segments = new int[slots];
    }

    /** Packets held, waiting for {@link #flush}. */
    public int held() {
        return used;
    }

    /** Segments that joined another packet instead of being written alone, since this coalescer was made. */
    public long merged() {
        return merged;
    }

    /**
     * Takes the complete IP packet at {@code buffer[offset, offset + length)}: merges it into the flow's latest held
     * packet or holds it on its own. Returns false, taking nothing, when it needs a slot and all are held; flush and
     * add it again. A packet that is not IPv4/IPv6 is held as it is (the kernel will refuse it on write).
     */
    public boolean add(MemorySegment buffer, long offset, int packetLength) {
        if (packetLength > SLOT_SIZE - HEADER) {
            throw new IllegalArgumentException("a packet of " + packetLength + " bytes is longer than 65535");
        }
        int version = packetLength > 0 ? Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, offset)) >>> 4 : 0;
        int ip = tcpIpHeader(buffer, offset, packetLength, version);
        if (ip > 0) {
            int tcp = (Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, offset + ip + 12)) >>> 4) * 4;
            int payload = packetLength - ip - tcp;
            int flags = Byte.toUnsignedInt(buffer.get(ValueLayout.JAVA_BYTE, offset + ip + 13));
            boolean mergeable = tcp >= 20 && payload > 0 && (flags == TCP_ACK || flags == (TCP_ACK | TCP_PSH));
            int latest = mergeable ? latestOfFlow(buffer, offset, version, ip) : -1;
            if (latest >= 0 && mergeable && canAppend(latest, buffer, offset, ip, tcp, payload)) {
                append(latest, buffer, offset, ip + tcp, payload, flags);
                return true;
            }
            if (used == capacity) {
                return false;
            }
            int slot = hold(buffer, offset, packetLength);
            open[slot] = mergeable && (flags & TCP_PSH) == 0;
            ipHeader[slot] = ip;
            tcpHeader[slot] = tcp;
            gsoSize[slot] = payload;
            nextSequence[slot] = buffer.get(INT_BE, offset + ip + 4) + payload;
            return true;
        }
        if (used == capacity) {
            return false;
        }
        int slot = hold(buffer, offset, packetLength);
        open[slot] = false;
        ipHeader[slot] = 0;
        return true;
    }

    /**
     * Writes every held packet to {@code queue} in the order they were started, merged ones with a GSO header, and
     * empties the coalescer. Returns how many writes the kernel refused (each a dropped packet or super-packet).
     */
    public int flush(TunQueue queue) throws IOException {
        if (queue.device().headerSize() != HEADER) {
            throw new IllegalStateException("tun " + queue.device().name() + " has no vnet header: open it with"
                    + " Options.withVnetHeader(...) to write coalesced packets");
        }
        int refused = 0;
        try {
            for (int slot = 0; slot < used; slot++) {
                long base = (long) slot * SLOT_SIZE;
                finish(slot, base);
                if (!queue.write(area, base, HEADER + length[slot])) {
                    refused++;
                }
            }
        } finally {
            used = 0;
        }
        return refused;
    }

    /**
     * Hands every held packet, its vnet header first, to {@code sink} in the order they were started, and empties
     * the coalescer; for a writer that is not a {@link TunQueue}. Returns how many.
     */
    public int flush(GsoSegmenter.PacketSink sink) throws IOException {
        int count = used;
        try {
            for (int slot = 0; slot < used; slot++) {
                long base = (long) slot * SLOT_SIZE;
                finish(slot, base);
                sink.accept(area, base, HEADER + length[slot]);
            }
        } finally {
            used = 0;
        }
        return count;
    }

    /** Drops every held packet without writing it. */
    public void clear() {
        used = 0;
    }

    /** The IP header length of an IPv4/IPv6 TCP packet that could take part in merging, else 0. */
    private static int tcpIpHeader(MemorySegment buffer, long offset, int packetLength, int version) {
        if (version == 4 && packetLength >= 40) {
            int ihl = (buffer.get(ValueLayout.JAVA_BYTE, offset) & 0x0f) * 4;
            int fragment = Short.toUnsignedInt(buffer.get(SHORT_BE, offset + 6));
            boolean fragmented = (fragment & 0x3fff) != 0; // MF or an offset
            if (ihl == 20 && !fragmented && buffer.get(ValueLayout.JAVA_BYTE, offset + 9) == TCP
                    && Short.toUnsignedInt(buffer.get(SHORT_BE, offset + 2)) == packetLength) {
                return 20;
            }
        } else if (version == 6 && packetLength >= 60) {
            if (buffer.get(ValueLayout.JAVA_BYTE, offset + 6) == TCP
                    && Short.toUnsignedInt(buffer.get(SHORT_BE, offset + 4)) == packetLength - 40) {
                return 40;
            }
        }
        return 0;
    }

    /** The latest held packet of the same TCP flow (addresses and ports), or -1. */
    private int latestOfFlow(MemorySegment buffer, long offset, int version, int ip) {
        for (int slot = used - 1; slot >= 0; slot--) {
            if (ipHeader[slot] != ip) {
                continue;
            }
            long held = (long) slot * SLOT_SIZE + HEADER;
            if (sameFlow(buffer, offset, area, held, version, ip)) {
                return slot;
            }
        }
        return -1;
    }

    private static boolean sameFlow(MemorySegment a, long at, MemorySegment b, long bt, int version, int ip) {
        if (version == 4) {
            return a.get(LONG, at + 12) == b.get(LONG, bt + 12) && a.get(INT_BE, at + ip) == b.get(INT_BE, bt + ip);
        }
        return a.get(LONG, at + 8) == b.get(LONG, bt + 8) && a.get(LONG, at + 16) == b.get(LONG, bt + 16)
                && a.get(LONG, at + 24) == b.get(LONG, bt + 24) && a.get(LONG, at + 32) == b.get(LONG, bt + 32)
                && a.get(INT_BE, at + ip) == b.get(INT_BE, bt + ip);
    }

    private boolean canAppend(int slot, MemorySegment buffer, long offset, int ip, int tcp, int payload) {
        if (!open[slot] || tcpHeader[slot] != tcp || payload > gsoSize[slot]
                || length[slot] + payload > SLOT_SIZE - HEADER
                || buffer.get(INT_BE, offset + ip + 4) != nextSequence[slot]) {
            return false;
        }
        long held = (long) slot * SLOT_SIZE + HEADER;
        if (ip == 20) {
            // TOS, DF, TTL alike; the first byte (version, IHL) too.
            if (area.get(ValueLayout.JAVA_BYTE, held + 1) != buffer.get(ValueLayout.JAVA_BYTE, offset + 1)
                    || area.get(SHORT_BE, held + 6) != buffer.get(SHORT_BE, offset + 6)
                    || area.get(ValueLayout.JAVA_BYTE, held + 8) != buffer.get(ValueLayout.JAVA_BYTE, offset + 8)) {
                return false;
            }
        } else if (area.get(INT_BE, held) != buffer.get(INT_BE, offset)
                || area.get(ValueLayout.JAVA_BYTE, held + 7) != buffer.get(ValueLayout.JAVA_BYTE, offset + 7)) {
            return false; // traffic class, flow label, hop limit
        }
        // The same acknowledgement and options (bytes 8..12 and 20..tcp of the TCP header).
        if (area.get(INT_BE, held + ip + 8) != buffer.get(INT_BE, offset + ip + 8)) {
            return false;
        }
        for (int i = 20; i < tcp; i += 4) {
            if (area.get(INT_BE, held + ip + i) != buffer.get(INT_BE, offset + ip + i)) {
                return false;
            }
        }
        return true;
    }

    private void append(int slot, MemorySegment buffer, long offset, int headers, int payload, int flags) {
        long held = (long) slot * SLOT_SIZE + HEADER;
        MemorySegment.copy(buffer, offset + headers, area, held + length[slot], payload);
        length[slot] += payload;
        nextSequence[slot] += payload;
        segments[slot]++;
        merged++;
        if ((flags & TCP_PSH) != 0) {
            long flagsAt = held + ipHeader[slot] + 13;
            area.set(ValueLayout.JAVA_BYTE, flagsAt, (byte) (area.get(ValueLayout.JAVA_BYTE, flagsAt) | TCP_PSH));
            open[slot] = false;
        }
        if (payload < gsoSize[slot]) {
            open[slot] = false; // only the last segment may be short
        }
    }

    private int hold(MemorySegment buffer, long offset, int packetLength) {
        int slot = used++;
        MemorySegment.copy(buffer, offset, area, (long) slot * SLOT_SIZE + HEADER, packetLength);
        length[slot] = packetLength;
        segments[slot] = 1;
        return slot;
    }

    /** Writes the vnet header of a held packet and, for a merged one, fixes its IP lengths and checksum fields. */
    private void finish(int slot, long base) {
        area.asSlice(base, HEADER).fill((byte) 0);
        boolean merged = segments[slot] > 1;
        if (!merged && (!partialTcpChecksums || ipHeader[slot] == 0)) {
            return; // complete as it came
        }
        long packet = base + HEADER;
        int ip = ipHeader[slot];
        int total = length[slot];
        boolean v4 = ip == 20;
        if (!merged) {
            long pseudo = v4 ? GsoSegmenter.sum(area, packet + 12, 8, 0) : GsoSegmenter.sum(area, packet + 8, 32, 0);
            area.set(SHORT_BE, packet + ip + 16, (short) GsoSegmenter.fold(pseudo + TCP + total - ip));
            area.set(ValueLayout.JAVA_BYTE, base, (byte) F_NEEDS_CSUM);
            area.set(SHORT_LE, base + 2, (short) (ip + tcpHeader[slot]));
            area.set(SHORT_LE, base + 6, (short) ip);
            area.set(SHORT_LE, base + 8, (short) 16);
            return;
        }
        if (v4) {
            area.set(SHORT_BE, packet + 2, (short) total);
            area.set(SHORT_BE, packet + 10, (short) 0);
            area.set(SHORT_BE, packet + 10, (short) ~GsoSegmenter.fold(GsoSegmenter.sum(area, packet, 20, 0)));
        } else {
            area.set(SHORT_BE, packet + 4, (short) (total - 40));
        }
        // A partial checksum: the pseudo-header sum (with the whole length), not complemented; the kernel adds the
        // rest for each packet it cuts, or trusts it when it delivers locally.
        int l4Length = total - ip;
        long pseudo = v4 ? GsoSegmenter.sum(area, packet + 12, 8, 0) : GsoSegmenter.sum(area, packet + 8, 32, 0);
        area.set(SHORT_BE, packet + ip + 16, (short) GsoSegmenter.fold(pseudo + TCP + l4Length));
        area.set(ValueLayout.JAVA_BYTE, base, (byte) F_NEEDS_CSUM);
        area.set(ValueLayout.JAVA_BYTE, base + 1, (byte) (v4 ? GSO_TCPV4 : GSO_TCPV6));
        area.set(SHORT_LE, base + 2, (short) (ip + tcpHeader[slot]));
        area.set(SHORT_LE, base + 4, (short) gsoSize[slot]);
        area.set(SHORT_LE, base + 6, (short) ip);
        area.set(SHORT_LE, base + 8, (short) 16);
    }
}
