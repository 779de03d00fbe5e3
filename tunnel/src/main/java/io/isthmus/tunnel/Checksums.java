package io.isthmus.tunnel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/** The Internet checksum (RFC 1071) over byte arrays, eight bytes at a time, and the TCP/UDP pseudo-header. */
final class Checksums {
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private Checksums() {
    }

    /** Adds the 16-bit big-endian words of {@code b[at..at+length)} to {@code sum} (a trailing odd byte is padded). */
    static long add(byte[] b, int at, int length, long sum) {
        int i = at;
        int end = at + length;
        for (; i + 8 <= end; i += 8) {
            long v = (long) LONG.get(b, i);
            sum += (v >>> 32) + (v & 0xFFFF_FFFFL);
            if (sum < 0) { // cannot happen for packets under 2^31 bytes, but fold early rather than ever overflow
                sum = (sum >>> 32) + (sum & 0xFFFF_FFFFL);
            }
        }
        for (; i + 2 <= end; i += 2) {
            sum += (b[i] & 0xFF) << 8 | b[i + 1] & 0xFF;
        }
        if (i < end) {
            sum += (b[i] & 0xFF) << 8;
        }
        return sum;
    }

    /** Folds a sum to 16 bits (not complemented). */
    static int fold(long sum) {
        sum = (sum >>> 32) + (sum & 0xFFFF_FFFFL);
        sum = (sum >>> 16) + (sum & 0xFFFF);
        sum = (sum >>> 16) + (sum & 0xFFFF);
        sum = (sum >>> 16) + (sum & 0xFFFF);
        return (int) sum;
    }

    /** The pseudo-header of a TCP/UDP segment of {@code l4Length} bytes in the IP packet at {@code at}. */
    static long pseudoHeader(byte[] packet, int at, int version, int protocol, int l4Length) {
        long sum = version == 4 ? add(packet, at + 12, 8, 0) : add(packet, at + 8, 32, 0);
        return sum + protocol + l4Length;
    }

    static void put16(byte[] b, int at, int value) {
        b[at] = (byte) (value >>> 8);
        b[at + 1] = (byte) value;
    }

    static int get16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }

    /**
     * Computes the TCP checksum of a plain TCP packet (IPv4 without options and not a fragment, IPv6 without
     * extension headers, lengths as declared) whatever its checksum field holds; other packets are left alone. The
     * tunnel does not carry inner TCP checksums (the AEAD tag guards the bytes), so a receiver writing to a device
     * that cannot take a partial checksum sets them.
     */
    static void finishTcp(byte[] packet, int at, int length) {
        int ip;
        if (length >= 40 && packet[at] == 0x45 && packet[at + 9] == 6 && (get16(packet, at + 6) & 0x3FFF) == 0
                && get16(packet, at + 2) == length) {
            ip = 20;
        } else if (length >= 60 && (packet[at] & 0xF0) == 0x60 && packet[at + 6] == 6
                && get16(packet, at + 4) == length - 40) {
            ip = 40;
        } else {
            return;
        }
        int tcpLength = length - ip;
        put16(packet, at + ip + 16, 0);
        long sum = pseudoHeader(packet, at, ip == 20 ? 4 : 6, 6, tcpLength);
        put16(packet, at + ip + 16, ~fold(add(packet, at + ip, tcpLength, sum)) & 0xFFFF);
    }

    /** Recomputes the IPv4 header checksum of the packet at {@code at}. */
    static void ipv4Header(byte[] packet, int at) {
        int headerLength = (packet[at] & 0x0F) * 4;
        put16(packet, at + 10, 0);
        put16(packet, at + 10, ~fold(add(packet, at, headerLength, 0)) & 0xFFFF);
    }
}
