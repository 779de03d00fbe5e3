package io.isthmus.loadtest.peering;

import org.junit.jupiter.api.Test;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DnsProbeTest {
    @Test
    void queryIsOneQuestionForTypeAClassIn() {
        byte[] q = DnsProbe.query("svc-1.bench.svc.clusterset.local.");
        assertEquals(12 + 1 + 5 + 1 + 5 + 1 + 3 + 1 + 10 + 1 + 5 + 1 + 4, q.length);
        assertEquals(1, ((q[4] & 0xff) << 8) | (q[5] & 0xff), "qdcount");
        assertEquals(0, q[2] & 0x80, "a query, not a response");
        assertArrayEquals(new byte[] {0, 1, 0, 1}, java.util.Arrays.copyOfRange(q, q.length - 4, q.length));
        assertThrows(IllegalArgumentException.class, () -> DnsProbe.query("a..b"));
    }

    /** A response to {@code query} with the given A records; the answer names point at the question (0xc00c). */
    static byte[] response(byte[] query, int rcode, String... addresses) {
        ByteBuffer b = ByteBuffer.allocate(query.length + addresses.length * 16);
        b.put(query);
        b.put(2, (byte) 0x84).put(3, (byte) rcode).putShort(6, (short) addresses.length);
        for (String address : addresses) {
            b.putShort((short) 0xc00c).putShort((short) 1).putShort((short) 1).putInt(5).putShort((short) 4);
            for (String part : address.split("\\.")) {
                b.put((byte) Integer.parseInt(part));
            }
        }
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    @Test
    void parsesTheAnswerSectionsAddresses() {
        byte[] q = DnsProbe.query("svc-1.bench.svc.clusterset.local");
        byte[] r = response(q, 0, "10.96.0.1", "10.97.0.1");
        DnsProbe.Answer answer = DnsProbe.parse(r, r.length);
        assertEquals(0, answer.rcode());
        assertEquals(List.of("10.96.0.1", "10.97.0.1"), answer.addresses());
        byte[] nx = response(q, 3);
        assertEquals(new DnsProbe.Answer(3, List.of()), DnsProbe.parse(nx, nx.length));
        assertNull(DnsProbe.parse(q, q.length), "a query is not a response");
        assertNull(DnsProbe.parse(r, r.length - 2), "truncated");
    }

    @Test
    void awaitCompletesWithTheFirstMatchingAnswerAndTimesOutOtherwise() throws Exception {
        AtomicInteger asked = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        try (DatagramSocket server = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            server.setSoTimeout(100);
            Thread serving = Thread.ofPlatform().daemon(true).start(() -> {
                byte[] buffer = new byte[512];
                while (!stop.get()) {
                    DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                    try {
                        server.receive(packet);
                    } catch (java.io.IOException timeout) {
                        continue;
                    }
                    byte[] query = java.util.Arrays.copyOf(buffer, packet.getLength());
                    // The old address for the first few queries, then the new one.
                    byte[] reply = response(query, 0, asked.incrementAndGet() <= 3 ? "10.0.0.1" : "10.0.0.2");
                    try {
                        server.send(new DatagramPacket(reply, reply.length, packet.getSocketAddress()));
                    } catch (java.io.IOException ignored) {
                        return;
                    }
                }
            });
            InetSocketAddress address = (InetSocketAddress) server.getLocalSocketAddress();
            try (DnsProbe probe = new DnsProbe(Duration.ofMillis(2))) {
                long start = System.nanoTime();
                long nanos = probe.await(address, "svc-1.bench.svc.clusterset.local", List.of("10.0.0.2"), start,
                        Duration.ofSeconds(5)).get();
                assertTrue(nanos > 0 && nanos < 5_000_000_000L, "took " + nanos);
                assertTrue(asked.get() >= 4, "asked again until the answer changed: " + asked.get());
                long missed = probe.await(address, "svc-2.bench.svc.clusterset.local", List.of("10.9.9.9"),
                        System.nanoTime(), Duration.ofMillis(50)).get();
                assertEquals(-1, missed);
                assertEquals(List.of("10.0.0.2"), DnsProbe.lookup(address, "svc-3.bench.svc.clusterset.local",
                        Duration.ofSeconds(2)));
            } finally {
                stop.set(true);
                serving.join(2000);
            }
        }
    }
}
