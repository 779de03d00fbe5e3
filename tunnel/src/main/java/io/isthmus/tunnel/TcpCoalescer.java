package io.isthmus.tunnel;

import java.io.IOException;
import java.util.Arrays;

/**
 * Joins consecutive TCP segments of one flow, as they come out of one received batch, into one packet with a
 * {@code virtio_net_hdr} that asks the kernel to treat it as a TSO packet of that segment size (GRO in user space),
 * so a burst costs one TUN write. Segments join when every header byte matches except lengths, IPv4 id and
 * checksums, the sequence number follows on, all but the last carry exactly the first one's payload size, and no
 * SYN, FIN, RST or URG is set; a PSH ends the run. Anything else is written as it came, with an empty vnet header.
 * The joined packet's TCP checksum is left partial (pseudo-header only, {@code NEEDS_CSUM}): the kernel completes
 * it if the packet ever leaves this host, and trusts it when delivering locally; each segment was authenticated by
 * the AEAD anyway. Not thread-safe: one per TUN queue writer.
 */
final class TcpCoalescer {
    static final int VNET = 10;
    private static final int MAX_IP = 65_535;
    private static final byte NEEDS_CSUM = 1;
    private static final byte GSO_TCPV4 = 1;
    private static final byte GSO_TCPV6 = 4;

    /** Where packets go: {@code length} bytes at {@code b[at]}, starting with the vnet header. */
    interface Sink {
        boolean write(byte[] b, int at, int length) throws IOException;
    }

    private final byte[] buffer = new byte[VNET + MAX_IP];
    /** Bytes of the pending packet after the vnet header; 0 when none. */
    private int length;
    private int version;
    private int ipHeader;
    private int header;
    private int mss;
    private int segments;
    private int nextSeq;
    private boolean ended;

    /** Takes one packet; returns how many packets the sink refused meanwhile. */
    int add(byte[] packet, int at, int packetLength, Sink sink) throws IOException {
        int refused = 0;
        int version = InnerPacket.version(packet, at, packetLength);
        int header = version == 0 ? -1 : TcpOffload.headerLength(packet, at, packetLength, version);
        int total = header < 0 ? 0 : TcpOffload.ipLength(packet, at, version);
        int payload = total - header;
        int flags = header < 0 ? 0 : packet[at + TcpOffload.ipHeaderLength(packet, at, version) + 13] & 0xFF;
        boolean joinable = header > 0 && total <= packetLength && payload > 0
                && (flags & (TcpOffload.SYN | TcpOffload.FIN | TcpOffload.RST | TcpOffload.URG)) == 0
                && (flags & TcpOffload.ACK) != 0;
        if (joinable && length > 0 && follows(packet, at, version, header, payload)) {
            System.arraycopy(packet, at + header, buffer, VNET + length, payload);
            length += payload;
            segments++;
            nextSeq += payload;
            if (payload < mss || (flags & TcpOffload.PSH) != 0) {
                ended = true;
                buffer[VNET + ipHeader + 13] |= (byte) (flags & TcpOffload.PSH);
            }
            return 0;
        }
        refused += flush(sink);
        if (joinable) {
            System.arraycopy(packet, at, buffer, VNET, total);
            this.length = total;
            this.version = version;
            this.ipHeader = TcpOffload.ipHeaderLength(packet, at, version);
            this.header = header;
            this.mss = payload;
            this.segments = 1;
            this.nextSeq = WireFormat.readInt(packet, at + ipHeader + 4) + payload;
            this.ended = (flags & TcpOffload.PSH) != 0;
            return refused;
        }
        Arrays.fill(buffer, 0, VNET, (byte) 0);
        System.arraycopy(packet, at, buffer, VNET, packetLength);
        if (!sink.write(buffer, 0, VNET + packetLength)) {
            refused++;
        }
        return refused;
    }

    /** Writes the pending packet, if any; returns how many packets the sink refused (all of its segments, or 0). */
    int flush(Sink sink) throws IOException {
        if (length == 0) {
            return 0;
        }
        Arrays.fill(buffer, 0, VNET, (byte) 0);
        if (segments > 1) {
            int ip = VNET;
            if (version == 4) {
                Checksums.put16(buffer, ip + 2, length);
                Checksums.ipv4Header(buffer, ip);
            } else {
                Checksums.put16(buffer, ip + 4, length - InnerPacket.IPV6_HEADER);
            }
            int tcpLength = length - ipHeader;
            int partial = Checksums.fold(Checksums.pseudoHeader(buffer, ip, version, 6, tcpLength));
            Checksums.put16(buffer, ip + ipHeader + 16, partial);
            buffer[0] = NEEDS_CSUM;
            buffer[1] = version == 4 ? GSO_TCPV4 : GSO_TCPV6;
            putLittle16(2, header);
            putLittle16(4, mss);
            putLittle16(6, ipHeader);
            putLittle16(8, 16);
        }
        int count = segments;
        boolean written = sink.write(buffer, 0, VNET + length);
        length = 0;
        segments = 0;
        return written ? 0 : count;
    }

    private boolean follows(byte[] packet, int at, int version, int header, int payload) {
        if (ended || version != this.version || header != this.header || payload > mss
                || length + payload > (version == 4 ? MAX_IP : MAX_IP + InnerPacket.IPV6_HEADER)
                || WireFormat.readInt(packet, at + ipHeader + 4) != nextSeq) {
            return false;
        }
        for (int i = 0; i < header; i++) {
            if (packet[at + i] != buffer[VNET + i] && !mayDiffer(i, packet[at + i] ^ buffer[VNET + i])) {
                return false;
            }
        }
        return true;
    }

    /** Header bytes that differ between segments of one burst: lengths, IPv4 id and checksum, seq, PSH, TCP checksum. */
    private boolean mayDiffer(int i, int difference) {
        if (version == 4 ? (i >= 2 && i < 6) || i == 10 || i == 11 : i == 4 || i == 5) {
            return true;
        }
        int tcp = i - ipHeader;
        return (tcp >= 4 && tcp < 8) || tcp == 16 || tcp == 17 || (tcp == 13 && (difference & ~TcpOffload.PSH) == 0);
    }

    private void putLittle16(int at, int value) {
        buffer[at] = (byte) value;
        buffer[at + 1] = (byte) (value >>> 8);
    }
}
