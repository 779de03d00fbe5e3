package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TcpOffloadTest {
    private static final int MSS = 1368;

    private static String[] addresses(int version) {
        return version == 4 ? new String[] {"10.1.0.2", "10.2.0.2"} : new String[] {"fd00:1::2", "fd00:2::2"};
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }

    private static List<byte[]> segmentsOf(byte[] tso, int version) {
        int header = TcpOffload.headerLength(tso, 0, tso.length, version);
        List<byte[]> segments = new ArrayList<>();
        byte[] out = new byte[2000];
        for (int i = 0; i < TcpOffload.segments(tso, 0, version, header, MSS); i++) {
            int length = TcpOffload.segment(tso, 0, version, header, MSS, i, out, 0);
            segments.add(Arrays.copyOf(out, length));
        }
        return segments;
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void aTsoPacketIsCutIntoSegmentsWithValidChecksumsSequenceAndFlags(int version) {
        String[] ip = addresses(version);
        byte[] data = randomBytes(10 * MSS + 100);
        byte[] tso = Packets.tcp(ip[0], ip[1], 1_000_000, TcpOffload.PSH, data);
        List<byte[]> segments = segmentsOf(tso, version);

        assertEquals(11, segments.size());
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        int header = TcpOffload.headerLength(tso, 0, tso.length, version);
        int ipHeader = version == 4 ? 20 : 40;
        for (int i = 0; i < segments.size(); i++) {
            byte[] segment = segments.get(i);
            assertTrue(Packets.checksumsValid(segment, 0, segment.length), "segment " + i);
            assertEquals(segment.length, TcpOffload.ipLength(segment, 0, version));
            assertEquals(1_000_000 + i * MSS, WireFormat.readInt(segment, ipHeader + 4));
            boolean last = i == segments.size() - 1;
            assertEquals(last, (segment[ipHeader + 13] & TcpOffload.PSH) != 0, "PSH only on the last");
            joined.write(segment, header, segment.length - header);
        }
        assertArrayEquals(data, joined.toByteArray());
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void segmentsOfOneBurstAreJoinedIntoOneTsoWriteAndOthersPassInOrder(int version) throws Exception {
        String[] ip = addresses(version);
        byte[] data = randomBytes(20 * MSS + 7);
        byte[] tso = Packets.tcp(ip[0], ip[1], 5, TcpOffload.PSH, data);
        List<byte[]> segments = segmentsOf(tso, version);
        byte[] unrelated = Packets.udp(ip[0], ip[1], 1, 2, new byte[30]);
        List<byte[]> written = new ArrayList<>();
        TcpCoalescer coalescer = new TcpCoalescer();
        TcpCoalescer.Sink sink = (b, at, length) -> written.add(Arrays.copyOfRange(b, at, at + length));

        for (int i = 0; i < 10; i++) {
            coalescer.add(segments.get(i), 0, segments.get(i).length, sink);
        }
        coalescer.add(unrelated, 0, unrelated.length, sink);        // ends the first run
        for (int i = 10; i < segments.size(); i++) {
            coalescer.add(segments.get(i), 0, segments.get(i).length, sink);
        }
        assertEquals(0, coalescer.flush(sink));

        assertEquals(3, written.size());
        int ipHeader = version == 4 ? 20 : 40;
        int header = ipHeader + 32;
        byte[] first = written.get(0);
        assertEquals(1, first[0], "NEEDS_CSUM");
        assertEquals(version == 4 ? 1 : 4, first[1], "GSO TCP");
        assertEquals(header, (first[2] & 0xFF) | (first[3] & 0xFF) << 8);
        assertEquals(MSS, (first[4] & 0xFF) | (first[5] & 0xFF) << 8);
        assertEquals(ipHeader, (first[6] & 0xFF) | (first[7] & 0xFF) << 8);
        assertEquals(16, (first[8] & 0xFF) | (first[9] & 0xFF) << 8);
        assertEquals(first.length - TcpCoalescer.VNET, TcpOffload.ipLength(first, TcpCoalescer.VNET, version));
        assertArrayEquals(Arrays.copyOf(data, 10 * MSS),
                Arrays.copyOfRange(first, TcpCoalescer.VNET + header, first.length));
        if (version == 4) {
            assertEquals(0xFFFF, Checksums.fold(Checksums.add(first, TcpCoalescer.VNET, 20, 0)), "IP header checksum");
        }

        byte[] second = written.get(1);
        assertArrayEquals(new byte[TcpCoalescer.VNET], Arrays.copyOf(second, TcpCoalescer.VNET), "plain: empty header");
        assertArrayEquals(unrelated, Arrays.copyOfRange(second, TcpCoalescer.VNET, second.length));

        byte[] third = written.get(2);
        assertEquals(10 * MSS + 5, WireFormat.readInt(third, TcpCoalescer.VNET + ipHeader + 4), "continues the seq");
        assertArrayEquals(Arrays.copyOfRange(data, 10 * MSS, data.length),
                Arrays.copyOfRange(third, TcpCoalescer.VNET + header, third.length));
        assertTrue((third[TcpCoalescer.VNET + ipHeader + 13] & TcpOffload.PSH) != 0, "the last segment's PSH kept");
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void segmentsThatDoNotFollowOnAreNotJoined(int version) throws Exception {
        String[] ip = addresses(version);
        byte[] a = Packets.tcp(ip[0], ip[1], 100, 0, new byte[MSS]);
        byte[] gap = Packets.tcp(ip[0], ip[1], 100 + 2 * MSS, 0, new byte[MSS]);   // a segment is missing
        byte[] syn = Packets.tcp(ip[0], ip[1], 100 + 3 * MSS, TcpOffload.SYN, new byte[0]);
        List<byte[]> written = new ArrayList<>();
        TcpCoalescer coalescer = new TcpCoalescer();
        TcpCoalescer.Sink sink = (b, at, length) -> written.add(Arrays.copyOfRange(b, at, at + length));
        for (byte[] packet : new byte[][] {a, gap, syn}) {
            coalescer.add(packet, 0, packet.length, sink);
        }
        coalescer.flush(sink);
        assertEquals(3, written.size());
        for (int i = 0; i < 3; i++) {
            byte[] packet = Arrays.copyOfRange(written.get(i), TcpCoalescer.VNET, written.get(i).length);
            assertEquals(0, written.get(i)[1], "no GSO");
            assertTrue(Packets.checksumsValid(packet, 0, packet.length), "written as it came");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {4, 6})
    void aPartialChecksumIsFinished(int version) {
        String[] ip = addresses(version);
        byte[] udp = Packets.udp(ip[0], ip[1], 1000, 2000, randomBytes(333));
        int l4 = version == 4 ? 20 : 40;
        // what the kernel hands over with CHECKSUM offload: only the pseudo-header sum in the checksum field
        int pseudo = Checksums.fold(Checksums.pseudoHeader(udp, 0, version, 17, udp.length - l4));
        Checksums.put16(udp, l4 + 6, pseudo);
        TcpOffload.finishChecksum(udp, 0, udp.length, l4, 6);
        assertTrue(Packets.checksumsValid(udp, 0, udp.length));
    }
}
