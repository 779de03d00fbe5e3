package io.isthmus.tunnel;

/**
 * TCP segmentation (what the kernel hands a TUN reader with TSO on: one packet of up to 64 KiB and a segment size)
 * and its reverse, coalescing consecutive segments of one flow into one such packet for a TUN writer (what GRO
 * does), so a burst costs one TUN system call instead of one per segment. Works on byte arrays; IPv4 (options
 * allowed) and IPv6 without extension headers.
 */
final class TcpOffload {
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;
    static final int CWR = 0x80;

    private TcpOffload() {
    }

    /** The bytes of IP and TCP headers of a TCP packet at {@code at}, or -1 when it is not a TCP packet we handle. */
    static int headerLength(byte[] packet, int at, int length, int version) {
        int ipLength;
        if (version == 4) {
            ipLength = (packet[at] & 0x0F) * 4;
            boolean fragment = (Checksums.get16(packet, at + 6) & 0x3FFF) != 0;
            if (packet[at + 9] != 6 || fragment) {
                return -1;
            }
        } else {
            ipLength = InnerPacket.IPV6_HEADER;
            if (packet[at + 6] != 6) {
                return -1;
            }
        }
        if (length < ipLength + 20) {
            return -1;
        }
        int tcpLength = ((packet[at + ipLength + 12] & 0xFF) >>> 4) * 4;
        if (tcpLength < 20 || ipLength + tcpLength > length) {
            return -1;
        }
        return ipLength + tcpLength;
    }

    static int ipHeaderLength(byte[] packet, int at, int version) {
        return version == 4 ? (packet[at] & 0x0F) * 4 : InnerPacket.IPV6_HEADER;
    }

    /** The length the IP header declares for the whole packet. */
    static int ipLength(byte[] packet, int at, int version) {
        return version == 4 ? Checksums.get16(packet, at + 2) : InnerPacket.IPV6_HEADER + Checksums.get16(packet, at + 4);
    }

    /**
     * Writes segment {@code index} of the TSO packet at {@code from[at]} (headers of {@code headerLength} bytes,
     * payload cut in {@code mss}-byte pieces) to {@code to[toAt]}, with its lengths, sequence number, flags and
     * checksums (IPv4 header, TCP) set; returns its length, or 0 when there is no such segment.
     */
    static int segment(byte[] from, int at, int version, int headerLength, int mss, int index, byte[] to, int toAt) {
        int payload = ipLength(from, at, version) - headerLength;
        int offset = index * mss;
        if (offset >= payload && !(index == 0 && payload == 0)) {
            return 0;
        }
        int pieceLength = Math.min(mss, payload - offset);
        int ipHeader = ipHeaderLength(from, at, version);
        int tcp = toAt + ipHeader;
        System.arraycopy(from, at, to, toAt, headerLength);
        System.arraycopy(from, at + headerLength + offset, to, toAt + headerLength, pieceLength);
        int length = headerLength + pieceLength;
        if (version == 4) {
            Checksums.put16(to, toAt + 2, length);
            Checksums.put16(to, toAt + 4, Checksums.get16(from, at + 4) + index);
            Checksums.ipv4Header(to, toAt);
        } else {
            Checksums.put16(to, toAt + 4, length - InnerPacket.IPV6_HEADER);
        }
        WireFormat.writeInt(to, tcp + 4, WireFormat.readInt(from, at + ipHeader + 4) + offset);
        boolean last = offset + pieceLength >= payload;
        int flags = to[tcp + 13] & 0xFF;
        if (!last) {
            flags &= ~(FIN | PSH);
        }
        if (index > 0) {
            flags &= ~CWR;
        }
        to[tcp + 13] = (byte) flags;
        int tcpLength = length - ipHeader;
        Checksums.put16(to, tcp + 16, 0);
        long sum = Checksums.pseudoHeader(to, toAt, version, 6, tcpLength);
        Checksums.put16(to, tcp + 16, ~Checksums.fold(Checksums.add(to, tcp, tcpLength, sum)) & 0xFFFF);
        return length;
    }

    /** How many segments {@link #segment} makes of the packet. */
    static int segments(byte[] from, int at, int version, int headerLength, int mss) {
        int payload = ipLength(from, at, version) - headerLength;
        return payload <= 0 ? 1 : (payload + mss - 1) / mss;
    }

    /**
     * Finishes a partial checksum: the kernel left the pseudo-header sum at {@code start + offset}; the checksum
     * covers everything from {@code start} on.
     */
    static void finishChecksum(byte[] packet, int at, int length, int start, int offset) {
        int field = at + start + offset;
        int initial = Checksums.get16(packet, field);
        Checksums.put16(packet, field, 0);
        int sum = ~Checksums.fold(Checksums.add(packet, at + start, length - start, initial)) & 0xFFFF;
        boolean udp = offset == 6;
        Checksums.put16(packet, field, udp && sum == 0 ? 0xFFFF : sum);
    }
}
