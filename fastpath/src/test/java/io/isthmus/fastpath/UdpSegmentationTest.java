package io.isthmus.fastpath;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Runs sent with UDP_SEGMENT and received with or without UDP_GRO, on loopback; Linux x86_64 (5.0 or later). */
class UdpSegmentationTest {
    private static final InetSocketAddress LOOPBACK4 = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private static final BatchedUdpSocket.Options OPTIONS = BatchedUdpSocket.Options.defaults()
            .withBatch(64, 65_535).withBuffers(4 << 20, 4 << 20).withReceiveTimeout(Duration.ofSeconds(5));

    @Test
    void aRunGoesAsOneMessageAndAGroReceiverGetsItAsOneDatagramCutAtTheSegmentSize() throws IOException {
        try (BatchedUdpSocket receiver = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withUdpGro(true));
             BatchedUdpSocket sender = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            List<byte[]> datagrams = datagrams(40, 1452, 700);
            DatagramBatch out = sender.newBatch();
            for (byte[] d : datagrams) {
                assertTrue(out.addSegment(receiver.localAddress(), d, 0, d.length));
            }
            assertEquals(1, out.size(), "one message");
            assertEquals(40, out.segments(0));
            assertEquals(1452, out.segmentSize(0));
            assertEquals(40, out.datagrams());

            assertEquals(40, sender.send(out), "every segment counts as a datagram sent");

            DatagramBatch in = receiver.newBatch();
            assertEquals(1, receiver.receive(in));
            assertEquals(39 * 1452 + 700, in.length(0));
            assertEquals(1452, in.segmentSize(0));
            assertEquals(40, in.segments(0));
            assertSameDatagrams(datagrams, cut(in, 0));
        }
    }

    @Test
    void withoutGroTheKernelDeliversTheRunAsTheSameSeparateDatagrams() throws IOException {
        try (BatchedUdpSocket receiver = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
             BatchedUdpSocket sender = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            List<byte[]> datagrams = datagrams(10, 1000, 999);
            DatagramBatch out = sender.newBatch();
            for (byte[] d : datagrams) {
                out.addSegment(receiver.localAddress(), d, 0, d.length);
            }
            assertEquals(10, sender.send(out));

            List<byte[]> got = new ArrayList<>();
            DatagramBatch in = receiver.newBatch();
            while (got.size() < 10) {
                int n = receiver.receive(in);
                assertTrue(n > 0, "timed out after " + got.size());
                for (int i = 0; i < n; i++) {
                    assertEquals(in.length(i), in.segmentSize(i), "no GRO: each datagram alone");
                    got.add(in.payloadBytes(i));
                }
            }
            assertSameDatagrams(datagrams, got);
        }
    }

    @Test
    void aRunEndsAtAShorterSegmentAnotherPeerOrItsLimitsAndEachPartGoesAsItsOwnMessage() throws IOException {
        try (BatchedUdpSocket a = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withUdpGro(true));
             BatchedUdpSocket b = BatchedUdpSocket.open(LOOPBACK4, OPTIONS.withUdpGro(true));
             BatchedUdpSocket sender = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            DatagramBatch out = sender.newBatch();
            byte[] full = new byte[1000];
            byte[] small = new byte[10];
            out.addSegment(a.localAddress(), full, 0, 1000);
            out.addSegment(a.localAddress(), full, 0, 500); // shorter: ends the run
            out.addSegment(a.localAddress(), full, 0, 500); // a new run
            out.addSegment(b.localAddress(), full, 0, 500); // another peer
            out.add(b.localAddress(), small);                // a plain datagram is never part of a run
            out.addSegment(b.localAddress(), small, 0, 10);
            for (int i = 0; i < DatagramBatch.MAX_RUN_SEGMENTS + 1; i++) {
                out.addSegment(a.localAddress(), small, 0, 10); // one more than a run may have
            }
            assertEquals(List.of(2, 1, 1, 1, 1, DatagramBatch.MAX_RUN_SEGMENTS, 1), segmentsPerMessage(out));
            int total = out.datagrams();
            assertEquals(6 + DatagramBatch.MAX_RUN_SEGMENTS + 1, total);

            assertEquals(total, sender.send(out));

            assertEquals(2 + 1 + DatagramBatch.MAX_RUN_SEGMENTS + 1, receiveAll(a, 2 + 1 + 65));
            assertEquals(3, receiveAll(b, 3));
        }
    }

    @Test
    void aRunNeverGrowsPastTheBytesOneDatagramMayCarry() throws IOException {
        try (BatchedUdpSocket sender = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
            DatagramBatch out = sender.newBatch();
            byte[] segment = new byte[1452];
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), 9);
            for (int i = 0; i < 50; i++) {
                assertTrue(out.addSegment(to, segment, 0, segment.length));
            }
            assertEquals(DatagramBatch.MAX_RUN_BYTES / 1452, out.segments(0));
            assertEquals(2, out.size());
            assertTrue(out.length(0) <= DatagramBatch.MAX_RUN_BYTES);
        }
    }

    @Test
    void aRunTheRouteCannotCarryWholeGoesDatagramByDatagram() throws Exception {
        try (TestNamespace ns = TestNamespace.create("isthmus-udpseg")) {
            ns.ip("link", "set", "lo", "mtu", "1000"); // 1200-byte segments do not fit: the kernel refuses the run
            List<byte[]> datagrams = datagrams(5, 1200, 1200);
            List<byte[]> got = ns.namespace().call(() -> {
                try (BatchedUdpSocket receiver = BatchedUdpSocket.open(LOOPBACK4, OPTIONS);
                     BatchedUdpSocket sender = BatchedUdpSocket.open(LOOPBACK4, OPTIONS)) {
                    DatagramBatch out = sender.newBatch();
                    for (byte[] d : datagrams) {
                        out.addSegment(receiver.localAddress(), d, 0, d.length);
                    }
                    out.add(receiver.localAddress(), new byte[] {42}); // after the run, still sent
                    assertEquals(2, out.size());
                    assertEquals(6, sender.send(out), "every datagram went, the run's one by one (fragmented)");
                    List<byte[]> received = new ArrayList<>();
                    DatagramBatch in = receiver.newBatch();
                    while (received.size() < 6) {
                        int n = receiver.receive(in);
                        assertTrue(n > 0, "timed out after " + received.size());
                        for (int i = 0; i < n; i++) {
                            received.add(in.payloadBytes(i));
                        }
                    }
                    return received;
                }
            });
            assertSameDatagrams(datagrams, got.subList(0, 5));
            assertArrayEquals(new byte[] {42}, got.get(5));
        }
    }

    private static List<Integer> segmentsPerMessage(DatagramBatch batch) {
        List<Integer> counts = new ArrayList<>();
        for (int i = 0; i < batch.size(); i++) {
            counts.add(batch.segments(i));
        }
        return counts;
    }

    /** Receives until {@code expected} datagrams (segments counted) came; returns how many. */
    private static int receiveAll(BatchedUdpSocket socket, int expected) throws IOException {
        DatagramBatch in = socket.newBatch();
        int datagrams = 0;
        while (datagrams < expected) {
            int n = socket.receive(in);
            if (n == 0) {
                break;
            }
            for (int i = 0; i < n; i++) {
                datagrams += in.segments(i);
            }
        }
        return datagrams;
    }

    private static List<byte[]> cut(DatagramBatch batch, int i) {
        List<byte[]> parts = new ArrayList<>();
        int segment = batch.segmentSize(i);
        for (int from = 0; from < batch.length(i); from += segment) {
            byte[] part = new byte[Math.min(segment, batch.length(i) - from)];
            batch.copyPayload(i, from, part.length, part, 0);
            parts.add(part);
        }
        return parts;
    }

    /** {@code count} datagrams of {@code size} bytes, the last of {@code lastSize}, each with distinct content. */
    private static List<byte[]> datagrams(int count, int size, int lastSize) {
        List<byte[]> list = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            byte[] d = new byte[n == count - 1 ? lastSize : size];
            Arrays.fill(d, (byte) (n * 7 + 1));
            d[0] = (byte) n;
            list.add(d);
        }
        return list;
    }

    private static void assertSameDatagrams(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "datagrams");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "datagram " + i);
        }
    }
}
