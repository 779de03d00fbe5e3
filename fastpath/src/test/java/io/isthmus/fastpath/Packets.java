package io.isthmus.fastpath;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/** Builds and reads IPv4/IPv6 UDP packets for TUN tests and the benchmark; checksums included. */
final class Packets {
    static final int UDP = 17;

    private Packets() {
    }

    /** An IPv4 or IPv6 UDP packet from {@code source}:{@code sourcePort} to {@code destination}:{@code port}. */
    static byte[] udp(InetAddress source, int sourcePort, InetAddress destination, int port, byte[] payload) {
        boolean v4 = source instanceof Inet4Address;
        int ipHeader = v4 ? 20 : 40;
        int udpLength = 8 + payload.length;
        ByteBuffer packet = ByteBuffer.allocate(ipHeader + udpLength);
        if (v4) {
            packet.put((byte) 0x45).put((byte) 0).putShort((short) (20 + udpLength)).putShort((short) 0x1234)
                    .putShort((short) 0x4000).put((byte) 64).put((byte) UDP).putShort((short) 0)
                    .put(source.getAddress()).put(destination.getAddress());
            packet.putShort(10, (short) checksum(packet.array(), 0, 20, 0));
        } else {
            packet.putInt(0x60000000).putShort((short) udpLength).put((byte) UDP).put((byte) 64)
                    .put(source.getAddress()).put(destination.getAddress());
        }
        packet.putShort((short) sourcePort).putShort((short) port).putShort((short) udpLength).putShort((short) 0)
                .put(payload);
        byte[] bytes = packet.array();
        long pseudo = pseudoHeaderSum(source.getAddress(), destination.getAddress(), udpLength);
        int udpChecksum = checksum(bytes, ipHeader, udpLength, pseudo);
        packet.putShort(ipHeader + 6, (short) (udpChecksum == 0 ? 0xffff : udpChecksum));
        return bytes;
    }

    /** The ones'-complement checksum of {@code length} bytes at {@code offset}, starting from {@code sum}. */
    static int checksum(byte[] bytes, int offset, int length, long sum) {
        for (int i = 0; i + 1 < length; i += 2) {
            sum += ((bytes[offset + i] & 0xff) << 8) | (bytes[offset + i + 1] & 0xff);
        }
        if ((length & 1) != 0) {
            sum += (bytes[offset + length - 1] & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }

    private static long pseudoHeaderSum(byte[] source, byte[] destination, int udpLength) {
        long sum = 0;
        for (byte[] address : new byte[][] {source, destination}) {
            for (int i = 0; i < address.length; i += 2) {
                sum += ((address[i] & 0xff) << 8) | (address[i + 1] & 0xff);
            }
        }
        return sum + UDP + udpLength;
    }

    /** What a test checks of a packet read from a TUN. */
    record Udp(int version, int protocol, InetAddress source, InetAddress destination, int sourcePort,
               int destinationPort, byte[] payload, boolean ipChecksumValid) {
    }

    /** Parses an IPv4/IPv6 UDP packet; null for anything else (router solicitations, MLD reports...). */
    static Udp parseUdp(byte[] packet, int length) {
        if (length < 1) {
            return null;
        }
        int version = (packet[0] & 0xff) >>> 4;
        int protocol;
        int header;
        byte[] source;
        byte[] destination;
        boolean checksumValid = true;
        if (version == 4 && length >= 28) {
            header = (packet[0] & 0x0f) * 4;
            protocol = packet[9] & 0xff;
            source = Arrays.copyOfRange(packet, 12, 16);
            destination = Arrays.copyOfRange(packet, 16, 20);
            checksumValid = checksum(packet, 0, header, 0) == 0;
        } else if (version == 6 && length >= 48) {
            header = 40;
            protocol = packet[6] & 0xff;
            source = Arrays.copyOfRange(packet, 8, 24);
            destination = Arrays.copyOfRange(packet, 24, 40);
        } else {
            return null;
        }
        if (protocol != UDP) {
            return null;
        }
        ByteBuffer udp = ByteBuffer.wrap(packet, header, length - header);
        int sourcePort = Short.toUnsignedInt(udp.getShort());
        int destinationPort = Short.toUnsignedInt(udp.getShort());
        int udpLength = Short.toUnsignedInt(udp.getShort());
        byte[] payload = Arrays.copyOfRange(packet, header + 8, header + udpLength);
        try {
            return new Udp(version, protocol, InetAddress.getByAddress(source), InetAddress.getByAddress(destination),
                    sourcePort, destinationPort, payload, checksumValid);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
