package io.isthmus.fastpath;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Turns what a {@link TunDevice} with the vnet header hands over into plain, complete IP packets: a TCP (TSO) or
 * UDP (USO) super-packet of up to 64 KiB is cut into packets of at most {@code gso_size} payload bytes each, with
 * their IP and TCP/UDP headers fixed up (lengths, IPv4 identification and header checksum, TCP sequence numbers and
 * flags) and their transport checksums computed; a single packet whose checksum the kernel left partial
 * ({@code VIRTIO_NET_HDR_F_NEEDS_CSUM}) gets it finished. This is what lets a tunnel enable
 * {@link TunDevice.Offload#TSO4}/{@code TSO6}/{@code USO4}/{@code USO6}/{@code CHECKSUM} (one system call per
 * 64 KiB instead of per packet) and still seal MTU-sized packets.
 *
 * <pre>{@code
 * GsoSegmenter segmenter = new GsoSegmenter();                  // one per reader thread: it keeps no state
 * int length = queue.read(in);                                   // virtio_net_hdr + packet
 * segmenter.segment(in, 0, length, out, HEADROOM, sealAndSend);  // sealAndSend.accept(out, HEADROOM, n) per packet
 * }</pre>
 *
 * <p>{@code new GsoSegmenter(false)} leaves the TCP checksums of plain TCP packets (IPv4 without options, IPv6
 * without extension headers) partial — the pseudo-header sum, as a {@code NEEDS_CSUM} packet carries it — instead of
 * summing every payload byte again: for a tunnel whose far end writes them with {@code NEEDS_CSUM} or computes them
 * (see {@link TcpCoalescer#TcpCoalescer(java.lang.foreign.Arena, int, boolean)}), the AEAD tag being what guards the
 * bytes in between.
 *
 * <p>Allocates nothing: each resulting packet is written to {@code out} at {@code outOffset} (so a caller can leave
 * headroom for its own header before it, and room for a tag after) and handed to the sink before the next one
 * overwrites it. Writing back into a device with the vnet header needs a header too: 10 zero bytes
 * ({@link #writePlainHeader}) say "a plain, complete packet".
 */
public final class GsoSegmenter {
    // struct virtio_net_hdr (little-endian on x86_64).
    private static final int F_NEEDS_CSUM = 1;
    private static final int GSO_NONE = 0;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_TCPV6 = 4;
    private static final int GSO_UDP_L4 = 5;
    private static final int GSO_ECN = 0x80;
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int TCP_FIN = 0x01;
    private static final int TCP_PSH = 0x08;
    private static final int TCP_CWR = 0x80;
    private static final ValueLayout.OfShort SHORT_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(
            ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt INT_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong LONG_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private final boolean finishTcpChecksums;

    /** Computes every checksum: each packet comes out complete. */
    public GsoSegmenter() {
        this(true);
    }

    /**
     * @param finishTcpChecksums false leaves the checksum of each plain TCP packet partial (the pseudo-header sum),
     *                           for a consumer that has it set at the far end
     */
    public GsoSegmenter(boolean finishTcpChecksums) {
        this.finishTcpChecksums = finishTcpChecksums;
    }

    /** Receives each packet in turn; its bytes are valid only during the call. */
    @FunctionalInterface
    public interface PacketSink {
        void accept(MemorySegment buffer, long offset, int length) throws IOException;
    }

    /**
     * Cuts the vnet-header packet at {@code in[offset, offset + length)} into complete packets, each written to
     * {@code out} at {@code outOffset} and given to {@code sink}. Returns how many packets went to the sink; 0 when
     * the packet was malformed or of a kind not handled (UFO, IPv6 extension headers before TCP/UDP), so the caller
     * counts a drop. {@code out} needs room for the headers plus {@code gso_size} bytes (the MTU is enough); it may
     * not overlap {@code in}.
     */
    public int segment(MemorySegment in, long offset, int length, MemorySegment out, long outOffset, PacketSink sink)
            throws IOException {
        if (length < TunDevice.VNET_HEADER_SIZE + 20) {
            return 0;
        }
        int flags = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, offset));
        int gsoType = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, offset + 1)) & ~GSO_ECN;
        int gsoSize = Short.toUnsignedInt(in.get(SHORT_LE, offset + 4));
        int csumStart = Short.toUnsignedInt(in.get(SHORT_LE, offset + 6));
        int csumOffset = Short.toUnsignedInt(in.get(SHORT_LE, offset + 8));
        long packet = offset + TunDevice.VNET_HEADER_SIZE;
        int packetLength = length - TunDevice.VNET_HEADER_SIZE;
        if (gsoType == GSO_NONE) {
            MemorySegment.copy(in, packet, out, outOffset, packetLength);
            if ((flags & F_NEEDS_CSUM) != 0) {
                if (csumStart + csumOffset + 2 > packetLength) {
                    return 0;
                }
                if (!finishTcpChecksums && csumOffset == 16 && plainTcp(out, outOffset, packetLength, csumStart)) {
                    sink.accept(out, outOffset, packetLength); // left partial, as the kernel gave it
                    return 1;
                }
                // The field holds the pseudo-header sum; the sum from csum_start to the end, complemented, is it.
                int sum = fold(sum(out, outOffset + csumStart, packetLength - csumStart, 0));
                out.set(SHORT_BE, outOffset + csumStart + csumOffset, (short) ~sum);
            }
            sink.accept(out, outOffset, packetLength);
            return 1;
        }
        if (gsoType != GSO_TCPV4 && gsoType != GSO_TCPV6 && gsoType != GSO_UDP_L4 || gsoSize == 0) {
            return 0;
        }
        int version = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, packet)) >>> 4;
        int ipHeader;
        int protocol;
        if (version == 4) {
            ipHeader = (in.get(ValueLayout.JAVA_BYTE, packet) & 0x0f) * 4;
            protocol = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, packet + 9));
        } else if (version == 6) {
            ipHeader = 40;
            protocol = Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, packet + 6));
        } else {
            return 0;
        }
        boolean tcp = gsoType != GSO_UDP_L4;
        if (protocol != (tcp ? TCP : UDP) || ipHeader < 20 || ipHeader + (tcp ? 20 : 8) > packetLength) {
            return 0;
        }
        int l4Header = tcp ? (Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, packet + ipHeader + 12)) >>> 4) * 4 : 8;
        int headers = ipHeader + l4Header;
        if ((tcp && l4Header < 20) || headers > packetLength) {
            return 0;
        }
        int payload = packetLength - headers;
        int ipId = version == 4 ? Short.toUnsignedInt(in.get(SHORT_BE, packet + 4)) : 0;
        int sequence = tcp ? in.get(INT_BE, packet + ipHeader + 4) : 0;
        int tcpFlags = tcp ? Byte.toUnsignedInt(in.get(ValueLayout.JAVA_BYTE, packet + ipHeader + 13)) : 0;
        long l4 = outOffset + ipHeader;
        boolean partial = tcp && !finishTcpChecksums && (version == 6 || ipHeader == 20);
        int count = 0;
        for (int done = 0; done < payload || count == 0; done += gsoSize) {
            int chunk = Math.min(gsoSize, payload - done);
            boolean last = done + chunk >= payload;
            int total = headers + chunk;
            MemorySegment.copy(in, packet, out, outOffset, headers);
            MemorySegment.copy(in, packet + headers + done, out, outOffset + headers, chunk);
            if (version == 4) {
                out.set(SHORT_BE, outOffset + 2, (short) total);
                out.set(SHORT_BE, outOffset + 4, (short) (ipId + count));
                out.set(SHORT_BE, outOffset + 10, (short) 0);
                out.set(SHORT_BE, outOffset + 10, (short) ~fold(sum(out, outOffset, ipHeader, 0)));
            } else {
                out.set(SHORT_BE, outOffset + 4, (short) (total - 40));
            }
            int checksumField;
            if (tcp) {
                out.set(INT_BE, l4 + 4, sequence + done);
                int segmentFlags = tcpFlags;
                if (!last) {
                    segmentFlags &= ~(TCP_FIN | TCP_PSH);
                }
                if (count > 0) {
                    segmentFlags &= ~TCP_CWR;
                }
                out.set(ValueLayout.JAVA_BYTE, l4 + 13, (byte) segmentFlags);
                checksumField = 16;
            } else {
                out.set(SHORT_BE, l4 + 4, (short) (8 + chunk));
                checksumField = 6;
            }
            out.set(SHORT_BE, l4 + checksumField, (short) 0);
            int l4Length = total - ipHeader;
            long pseudo = pseudoHeaderSum(out, outOffset, version, protocol, l4Length);
            if (partial) {
                out.set(SHORT_BE, l4 + checksumField, (short) fold(pseudo));
                sink.accept(out, outOffset, total);
                count++;
                if (last) {
                    break;
                }
                continue;
            }
            int checksum = ~fold(sum(out, l4, l4Length, pseudo)) & 0xffff;
            if (!tcp && checksum == 0) {
                checksum = 0xffff; // UDP: zero would mean "no checksum"
            }
            out.set(SHORT_BE, l4 + checksumField, (short) checksum);
            sink.accept(out, outOffset, total);
            count++;
            if (last) {
                break;
            }
        }
        return count;
    }

    /** A TCP packet over IPv4 without options or IPv6 without extension headers, its TCP header at {@code csumStart}. */
    private static boolean plainTcp(MemorySegment packet, long at, int length, int csumStart) {
        int version = Byte.toUnsignedInt(packet.get(ValueLayout.JAVA_BYTE, at)) >>> 4;
        if (version == 4) {
            return csumStart == 20 && (packet.get(ValueLayout.JAVA_BYTE, at) & 0x0f) == 5 && length >= 40
                    && packet.get(ValueLayout.JAVA_BYTE, at + 9) == TCP
                    && (Short.toUnsignedInt(packet.get(SHORT_BE, at + 6)) & 0x3fff) == 0;
        }
        return version == 6 && csumStart == 40 && length >= 60 && packet.get(ValueLayout.JAVA_BYTE, at + 6) == TCP;
    }

    /** Writes the 10 zero bytes that precede a plain, complete packet written to a device with the vnet header. */
    public static void writePlainHeader(MemorySegment buffer, long offset) {
        buffer.asSlice(offset, TunDevice.VNET_HEADER_SIZE).fill((byte) 0);
    }

    private static long pseudoHeaderSum(MemorySegment packet, long ip, int version, int protocol, int l4Length) {
        long sum = version == 4 ? sum(packet, ip + 12, 8, 0) : sum(packet, ip + 8, 32, 0);
        return sum + protocol + l4Length;
    }

    /** The ones'-complement sum of {@code length} bytes, 64 bits at a time, added to {@code sum}; not folded. */
    static long sum(MemorySegment segment, long offset, int length, long sum) {
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            long words = segment.get(LONG_BE, offset + i); // two 32-bit words; 64 KiB of them cannot overflow
            sum += (words >>> 32) + (words & 0xffff_ffffL);
        }
        if (i + 4 <= length) {
            sum += Integer.toUnsignedLong(segment.get(INT_BE, offset + i));
            i += 4;
        }
        if (i + 2 <= length) {
            sum += Short.toUnsignedInt(segment.get(SHORT_BE, offset + i));
            i += 2;
        }
        if (i < length) {
            sum += Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, offset + i)) << 8;
        }
        return sum;
    }

    /** Folds a sum of 16- and 32-bit words to 16 bits. */
    static int fold(long sum) {
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) sum;
    }
}
