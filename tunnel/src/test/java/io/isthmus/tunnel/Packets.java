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
