package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GsoSegmenterTest {
    private static final int TCP = 6;
    private final Arena arena = Arena.ofConfined();
    private final GsoSegmenter segmenter = new GsoSegmenter();

    @AfterEach
    void free() {
        arena.close();
    }

    @Test
    void aTcpIpv4SuperPacketIsCutIntoMssSizedPacketsWithValidHeadersAndChecksums() throws Exception {
        byte[] payload = pattern(5000);
        byte[] superPacket = tcp(address("10.1.0.1"), address("10.2.0.1"), 1000, payload, 0x19); // FIN PSH ACK

        List<byte[]> packets = segment(vnet(1, 1, 1400, 20, 16), superPacket);

        assertEquals(4, packets.size());
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0; i < packets.size(); i++) {
            ByteBuffer p = ByteBuffer.wrap(packets.get(i));
            int payloadLength = i < 3 ? 1400 : 800;
            assertEquals(40 + payloadLength, p.getShort(2) & 0xffff, "total length of packet " + i);
            assertEquals(0x1234 + i, p.getShort(4) & 0xffff, "ip id of packet " + i);
            assertEquals(0, Packets.checksum(packets.get(i), 0, 20, 0), "ip header checksum of packet " + i);
            assertEquals(1000 + 1400 * i, p.getInt(24), "sequence of packet " + i);
            assertEquals(i < 3 ? 0x10 : 0x19, p.get(33) & 0xff, "FIN and PSH only on the last");
            assertEquals(0, transportChecksum(packets.get(i), 20), "tcp checksum of packet " + i);
            joined.write(packets.get(i), 40, payloadLength);
        }
        assertArrayEquals(payload, joined.toByteArray());
    }

    @Test
    void aUdpIpv6SuperPacketIsCutWithUdpLengthsAndChecksums() throws Exception {
        byte[] payload = pattern(3000);
        byte[] superPacket = Packets.udp(address("fd00:1::1"), 5000, address("fd00:2::1"), 6000, payload);

        List<byte[]> packets = segment(vnet(1, 5, 1000, 40, 6), superPacket);

        assertEquals(3, packets.size());
        for (byte[] packet : packets) {
            ByteBuffer p = ByteBuffer.wrap(packet);
            assertEquals(1008, p.getShort(4) & 0xffff, "ipv6 payload length");
            assertEquals(1008, p.getShort(44) & 0xffff, "udp length");
            assertEquals(0, transportChecksum(packet, 40));
            Packets.Udp udp = Packets.parseUdp(packet, packet.length);
            assertEquals(6000, udp.destinationPort());
        }
    }

    @Test
    void aSinglePacketWithAPartialChecksumGetsItFinished() throws Exception {
        byte[] packet = Packets.udp(address("10.1.0.1"), 5000, address("10.2.0.1"), 6000, pattern(333));
        ByteBuffer p = ByteBuffer.wrap(packet);
        // What the kernel leaves with CHECKSUM_PARTIAL: the pseudo-header sum, not complemented, in the field.
        p.putShort(26, (short) 0);
        long pseudo = 0;
        for (int i = 12; i < 20; i += 2) {
            pseudo += p.getShort(i) & 0xffff;
        }
        pseudo += 17 + packet.length - 20;
        p.putShort(26, (short) GsoSegmenter.fold(pseudo));

        List<byte[]> packets = segment(vnet(1, 0, 0, 20, 6), packet);

        assertEquals(1, packets.size());
        assertEquals(0, transportChecksum(packets.get(0), 20));
    }

    @Test
    void segmentsOfOneFlowCoalesceBackIntoOneSuperPacketThatSegmentsAgainIntoTheSamePackets() throws Exception {
        byte[] payload = pattern(5000);
        byte[] superPacket = tcp(address("10.1.0.1"), address("10.2.0.1"), 1000, payload, 0x18); // PSH ACK
        List<byte[]> packets = segment(vnet(1, 1, 1400, 20, 16), superPacket);
        byte[] other = Packets.udp(address("10.1.0.1"), 5000, address("10.2.0.1"), 6000, pattern(10));
        TcpCoalescer coalescer = new TcpCoalescer(arena, 4);
        MemorySegment staging = arena.allocate(2048);
        for (int i = 0; i < packets.size(); i++) {
            MemorySegment.copy(packets.get(i), 0, staging, ValueLayout.JAVA_BYTE, 0, packets.get(i).length);
            assertTrue(coalescer.add(staging, 0, packets.get(i).length));
            if (i == 1) {
                MemorySegment.copy(other, 0, staging, ValueLayout.JAVA_BYTE, 0, other.length);
                assertTrue(coalescer.add(staging, 0, other.length)); // another flow in between
            }
        }
        assertEquals(2, coalescer.held());
        assertEquals(3, coalescer.merged());
        List<byte[]> flushed = new ArrayList<>();
        coalescer.flush((buffer, offset, length) -> flushed.add(buffer.asSlice(offset, length)
                .toArray(ValueLayout.JAVA_BYTE)));

        assertEquals(2, flushed.size());
        ByteBuffer header = ByteBuffer.wrap(flushed.get(0), 0, 10).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, header.get(0), "NEEDS_CSUM");
        assertEquals(1, header.get(1), "GSO_TCPV4");
        assertEquals(1400, header.getShort(4));
        assertEquals(10 + 40 + 5000, flushed.get(0).length);
        assertArrayEquals(new byte[10], java.util.Arrays.copyOf(flushed.get(1), 10), "the UDP packet: a zero header");
        assertArrayEquals(other, java.util.Arrays.copyOfRange(flushed.get(1), 10, flushed.get(1).length));
        // Cut again, the super-packet gives back exactly the packets it was made of.
        byte[] merged = flushed.get(0);
        List<byte[]> again = segment(java.util.Arrays.copyOf(merged, 10), java.util.Arrays.copyOfRange(merged, 10,
                merged.length));
        assertEquals(packets.size(), again.size());
        for (int i = 0; i < packets.size(); i++) {
            assertArrayEquals(packets.get(i), again.get(i), "packet " + i);
        }
    }

    @Test
    void aGapInTheSequenceOrAPshStartsANewHeldPacket() throws Exception {
        TcpCoalescer coalescer = new TcpCoalescer(arena, 8);
        MemorySegment staging = arena.allocate(2048);
        int[][] segments = {{1000, 0x18}, {1100, 0x10}, {1300, 0x10}, {1400, 0x10}}; // PSH ends the first
        for (int[] s : segments) {
            byte[] packet = tcp(address("10.1.0.1"), address("10.2.0.1"), s[0], pattern(100), s[1]);
            fixTcpChecksum(packet);
            MemorySegment.copy(packet, 0, staging, ValueLayout.JAVA_BYTE, 0, packet.length);
            assertTrue(coalescer.add(staging, 0, packet.length));
        }
        // 1000 (PSH: closed), 1100 alone (next is 1300, a gap), 1300 + 1400 merged
        assertEquals(3, coalescer.held());
        assertEquals(1, coalescer.merged());
    }

    @Test
    void malformedOrUnhandledPacketsComeOutAsNothing() throws Exception {
        byte[] packet = Packets.udp(address("10.1.0.1"), 5000, address("10.2.0.1"), 6000, pattern(100));
        assertEquals(0, segment(vnet(0, 3, 1000, 20, 6), packet).size(), "UFO is not handled");
        assertEquals(0, segment(vnet(0, 1, 1000, 20, 16), packet).size(), "TSO of a UDP packet");
        assertEquals(0, segment(vnet(0, 1, 1000, 20, 16), new byte[12]).size(), "too short");
    }

    @Test
    void leftPartialTcpChecksumsAreThePseudoHeaderSumAndEveryOtherByteIsTheSame() throws Exception {
        byte[] superPacket = tcp(address("10.1.0.1"), address("10.2.0.1"), 77, pattern(5000), 0x18);
        List<byte[]> complete = segment(vnet(1, 1, 1400, 20, 16), superPacket);
        GsoSegmenter partial = new GsoSegmenter(false);
        List<byte[]> left = segment(partial, vnet(1, 1, 1400, 20, 16), superPacket);

        assertEquals(complete.size(), left.size());
        for (int i = 0; i < left.size(); i++) {
            byte[] a = complete.get(i);
            byte[] b = left.get(i);
            ByteBuffer p = ByteBuffer.wrap(b);
            int l4Length = b.length - 20;
            long pseudo = ((p.getShort(12) & 0xffff) + (p.getShort(14) & 0xffff) + (p.getShort(16) & 0xffff)
                    + (p.getShort(18) & 0xffff)) + TCP + l4Length;
            assertEquals(~Packets.checksum(new byte[0], 0, 0, pseudo) & 0xffff, p.getShort(36) & 0xffff,
                    "partial checksum of packet " + i);
            b[36] = a[36];
            b[37] = a[37];
            assertArrayEquals(a, b, "packet " + i + " apart from its checksum");
        }
    }

    @Test
    void withPartialTcpChecksumsEveryTcpPacketIsWrittenWithNeedsCsumWhateverItsChecksumHeld() throws Exception {
        TcpCoalescer coalescer = new TcpCoalescer(arena, 4, true);
        byte[] syn = tcp(address("10.1.0.1"), address("10.2.0.1"), 5, new byte[0], 0x02);
        syn[36] = 0x12; // a checksum that is not right: it is not carried
        syn[37] = 0x34;
        byte[] udp = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 2, 0, 1, 0, 53, 0, 53, 0, 8, 0, 0};
        MemorySegment staging = arena.allocate(2048);
        for (byte[] packet : List.of(syn, udp)) {
            MemorySegment.copy(packet, 0, staging, ValueLayout.JAVA_BYTE, 0, packet.length);
            assertTrue(coalescer.add(staging, 0, packet.length));
        }
        List<byte[]> flushed = new ArrayList<>();
        coalescer.flush((buffer, offset, length) -> flushed.add(buffer.asSlice(offset, length)
                .toArray(ValueLayout.JAVA_BYTE)));

        ByteBuffer tcpHeader = ByteBuffer.wrap(flushed.get(0), 0, 10).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, tcpHeader.get(0), "NEEDS_CSUM");
        assertEquals(0, tcpHeader.get(1), "no segmentation");
        assertEquals(20, tcpHeader.getShort(6), "csum_start");
        assertEquals(16, tcpHeader.getShort(8), "csum_offset");
        byte[] written = java.util.Arrays.copyOfRange(flushed.get(0), 10, flushed.get(0).length);
        long pseudo = 0x0a01 + 0x0001 + 0x0a02 + 0x0001 + TCP + 20;
        assertEquals(~Packets.checksum(new byte[0], 0, 0, pseudo) & 0xffff,
                ByteBuffer.wrap(written).getShort(36) & 0xffff, "the pseudo-header sum");
        assertArrayEquals(new byte[10], java.util.Arrays.copyOf(flushed.get(1), 10), "UDP: a plain header");
        assertArrayEquals(udp, java.util.Arrays.copyOfRange(flushed.get(1), 10, flushed.get(1).length));
    }

    private List<byte[]> segment(byte[] header, byte[] packet) throws Exception {
        return segment(segmenter, header, packet);
    }

    private List<byte[]> segment(GsoSegmenter segmenter, byte[] header, byte[] packet) throws Exception {
        MemorySegment in = arena.allocate(header.length + packet.length);
        MemorySegment.copy(header, 0, in, ValueLayout.JAVA_BYTE, 0, header.length);
        MemorySegment.copy(packet, 0, in, ValueLayout.JAVA_BYTE, header.length, packet.length);
        MemorySegment out = arena.allocate(2048 + 64);
        List<byte[]> packets = new ArrayList<>();
        int count = segmenter.segment(in, 0, (int) in.byteSize(), out, 64,
                (buffer, offset, length) -> packets.add(buffer.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE)));
        assertEquals(packets.size(), count);
        return packets;
    }

    private static byte[] vnet(int flags, int gsoType, int gsoSize, int csumStart, int csumOffset) {
        return ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN).put((byte) flags).put((byte) gsoType)
                .putShort((short) 0).putShort((short) gsoSize).putShort((short) csumStart)
                .putShort((short) csumOffset).array();
    }

    /** An IPv4/TCP packet with a 20-byte TCP header, ack 1, window 65535, checksum left 0 (the segmenter sets it). */
    private static byte[] tcp(InetAddress source, InetAddress destination, int sequence, byte[] payload, int flags) {
        ByteBuffer p = ByteBuffer.allocate(40 + payload.length);
        p.put((byte) 0x45).put((byte) 0).putShort((short) (40 + payload.length)).putShort((short) 0x1234)
                .putShort((short) 0x4000).put((byte) 64).put((byte) TCP).putShort((short) 0)
                .put(source.getAddress()).put(destination.getAddress());
        p.putShort((short) 40000).putShort((short) 80).putInt(sequence).putInt(1).put((byte) 0x50).put((byte) flags)
                .putShort((short) 65535).putShort((short) 0).putShort((short) 0).put(payload);
        return p.array();
    }

    private static void fixTcpChecksum(byte[] packet) {
        ByteBuffer.wrap(packet).putShort(36, (short) 0);
        int check = transportChecksum(packet, 20);
        ByteBuffer.wrap(packet).putShort(36, (short) check);
    }

    /** The ones'-complement check of a transport segment with its pseudo-header: 0 when its checksum is right. */
    private static int transportChecksum(byte[] packet, int ipHeader) {
        boolean v4 = ipHeader == 20;
        int protocol = v4 ? packet[9] & 0xff : packet[6] & 0xff;
        int l4Length = packet.length - ipHeader;
        long pseudo = 0;
        int from = v4 ? 12 : 8;
        int to = v4 ? 20 : 40;
        for (int i = from; i < to; i += 2) {
            pseudo += ((packet[i] & 0xff) << 8) | (packet[i + 1] & 0xff);
        }
        return Packets.checksum(packet, ipHeader, l4Length, pseudo + protocol + l4Length);
    }

    private static byte[] pattern(int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * 31 + 7);
        }
        return bytes;
    }

    private static InetAddress address(String literal) {
        return IpPrefix.parseAddress(literal, "address");
    }
}
