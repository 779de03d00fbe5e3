package io.isthmus.tunnel;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;

/** Builds inner IP/UDP packets for tests. */
final class Packets {
    private Packets() {
    }

    static byte[] udp(String source, String destination, int sourcePort, int destinationPort, byte[] payload) {
        InetAddress from = address(source);
        InetAddress to = address(destination);
        int udpLength = 8 + payload.length;
        if (from instanceof Inet4Address) {
            ByteBuffer b = ByteBuffer.allocate(20 + udpLength);
            b.put((byte) 0x45).put((byte) 0).putShort((short) (20 + udpLength)).putShort((short) 0)
                    .putShort((short) 0x4000).put((byte) 64).put((byte) 17).putShort((short) 0)
                    .put(from.getAddress()).put(to.getAddress());
            int sum = 0;
            for (int i = 0; i < 20; i += 2) {
                sum += (b.get(i) & 0xFF) << 8 | b.get(i + 1) & 0xFF;
            }
            while (sum >> 16 != 0) {
                sum = (sum & 0xFFFF) + (sum >> 16);
            }
            b.putShort(10, (short) ~sum);
            b.putShort((short) sourcePort).putShort((short) destinationPort).putShort((short) udpLength)
                    .putShort((short) 0).put(payload);
            return b.array();
        }
        ByteBuffer b = ByteBuffer.allocate(40 + udpLength);
        b.putInt(0x6000_0000).putShort((short) udpLength).put((byte) 17).put((byte) 64)
                .put(from.getAddress()).put(to.getAddress())
                .putShort((short) sourcePort).putShort((short) destinationPort).putShort((short) udpLength)
                .putShort((short) 0).put(payload);
        return b.array();
    }

    /** A TCP packet (ACK, with the given extra flags) with valid checksums; 12 bytes of TCP options (timestamps). */
    static byte[] tcp(String source, String destination, int seq, int flags, byte[] payload) {
        InetAddress from = address(source);
        InetAddress to = address(destination);
        boolean v4 = from instanceof Inet4Address;
        int ip = v4 ? 20 : 40;
        int tcpLength = 32 + payload.length;
        ByteBuffer b = ByteBuffer.allocate(ip + tcpLength);
        if (v4) {
            b.put((byte) 0x45).put((byte) 0).putShort((short) (ip + tcpLength)).putShort((short) 77)
                    .putShort((short) 0x4000).put((byte) 64).put((byte) 6).putShort((short) 0)
                    .put(from.getAddress()).put(to.getAddress());
        } else {
            b.putInt(0x6000_0000).putShort((short) tcpLength).put((byte) 6).put((byte) 64)
                    .put(from.getAddress()).put(to.getAddress());
        }
        b.putShort((short) 40000).putShort((short) 5201).putInt(seq).putInt(12345)
                .put((byte) 0x80).put((byte) (0x10 | flags)).putShort((short) 502).putShort((short) 0).putShort((short) 0)
                .put(new byte[] {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7}).put(payload);
        byte[] packet = b.array();
        if (v4) {
            Checksums.ipv4Header(packet, 0);
        }
        long sum = Checksums.pseudoHeader(packet, 0, v4 ? 4 : 6, 6, tcpLength);
        Checksums.put16(packet, ip + 16, ~Checksums.fold(Checksums.add(packet, ip, tcpLength, sum)) & 0xFFFF);
        return packet;
    }

    /** Whether the IPv4 header (if any) and TCP/UDP checksums of the packet verify. */
    static boolean checksumsValid(byte[] packet, int at, int length) {
        int version = (packet[at] & 0xFF) >>> 4;
        int ip = version == 4 ? (packet[at] & 0x0F) * 4 : 40;
        if (version == 4 && Checksums.fold(Checksums.add(packet, at, ip, 0)) != 0xFFFF) {
            return false;
        }
        int protocol = version == 4 ? packet[at + 9] : packet[at + 6];
        long sum = Checksums.pseudoHeader(packet, at, version, protocol, length - ip);
        return Checksums.fold(Checksums.add(packet, at + ip, length - ip, sum)) == 0xFFFF;
    }

    static byte[] payload(byte[] packet) {
        int header = (packet[0] >>> 4) == 4 ? 20 : 40;
        byte[] payload = new byte[packet.length - header - 8];
        System.arraycopy(packet, header + 8, payload, 0, payload.length);
        return payload;
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
