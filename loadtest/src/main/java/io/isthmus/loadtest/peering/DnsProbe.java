package io.isthmus.loadtest.peering;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Watches DNS servers until a name answers with an expected set of A records, and says how long that took.
 * One thread and one UDP socket serve every watch: each pending watch is queried again every {@code interval}
 * for its first 100 ms, then every 10 ms (at least the interval) until 1 s, then every 50 ms, so slow answers do
 * not turn the probe into a load of its own (a fresh query id each time, so a late answer to an earlier query
 * still counts: it was made when it was sent back, which is what we want to know). The first answer that matches
 * completes the watch with the time from the watch's start to that answer's arrival. So a figure below 100 ms is
 * at most one interval (plus a loopback round trip) later than the moment the server started answering correctly;
 * above, at most 10 ms (50 ms above 1 s).
 *
 * <p>The queries are plain RFC 1035 messages (one question, type A, class IN, no EDNS, RD off) built and parsed
 * here, so the probe costs the server what one dig query costs and the load JVM nearly nothing.
 */
public final class DnsProbe implements AutoCloseable {
    private static final long TIMED_OUT = -1;

    private final long intervalNanos;
    private final DatagramChannel channel;
    private final Selector selector;
    private final ConcurrentLinkedQueue<Watch> incoming = new ConcurrentLinkedQueue<>();
    private final Watch[] byId = new Watch[1 << 16];
    private final AtomicLong queries = new AtomicLong();
    private final Thread thread;
    private volatile boolean running = true;
    private int nextId;

    private static final class Watch {
        final InetSocketAddress server;
        final byte[] query;
        final List<String> expected;
        final long startNanos;
        final long deadlineNanos;
        final CompletableFuture<Long> result = new CompletableFuture<>();
        long lastSentNanos = Long.MIN_VALUE;

        Watch(InetSocketAddress server, byte[] query, List<String> expected, long startNanos, long deadlineNanos) {
            this.server = server;
            this.query = query;
            this.expected = expected;
            this.startNanos = startNanos;
            this.deadlineNanos = deadlineNanos;
        }
    }

    public DnsProbe(Duration interval) {
        this.intervalNanos = Math.max(100_000, interval.toNanos());
        try {
            channel = DatagramChannel.open();
            channel.bind(new InetSocketAddress("127.0.0.1", 0));
            channel.configureBlocking(false);
            selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open a UDP socket on 127.0.0.1", e);
        }
        thread = Thread.ofPlatform().name("dns-probe").daemon(true).start(this::run);
    }

    /**
     * Completes with the nanoseconds from {@code startNanos} (a {@link System#nanoTime} value) to the first answer
     * of {@code server} for {@code name} whose A records are exactly {@code expected} (in any order; empty means
     * an answer without A records, e.g. NXDOMAIN), or with -1 when none came within {@code timeout} of the start.
     */
    public CompletableFuture<Long> await(InetSocketAddress server, String name, List<String> expected, long startNanos,
                                         Duration timeout) {
        Watch watch = new Watch(server, query(name), List.copyOf(expected).stream().sorted().toList(), startNanos,
                startNanos + timeout.toNanos());
        incoming.add(watch);
        selector.wakeup();
        return watch.result;
    }

    /** Asks once and waits up to {@code timeout}: the A records {@code server} gives for {@code name} (maybe none). */
    public static List<String> lookup(InetSocketAddress server, String name, Duration timeout) throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            socket.setSoTimeout((int) Math.max(1, timeout.toMillis()));
            byte[] query = query(name);
            query[0] = 0x12;
            query[1] = 0x34;
            socket.send(new DatagramPacket(query, query.length, server));
            byte[] buffer = new byte[4096];
            while (true) {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                try {
                    socket.receive(packet);
                } catch (SocketTimeoutException e) {
                    throw new IOException("no answer from " + server + " for " + name + " within "
                            + timeout.toMillis() + " ms");
                }
                Answer answer = parse(buffer, packet.getLength());
                if (answer != null && buffer[0] == 0x12 && buffer[1] == 0x34) {
                    return answer.addresses();
                }
            }
        }
    }

    /** How many queries the probe has sent so far. */
    public long queriesSent() {
        return queries.get();
    }

    private void run() {
        List<Watch> active = new ArrayList<>();
        ByteBuffer buffer = ByteBuffer.allocate(4096);
        while (running) {
            try {
                for (Watch w = incoming.poll(); w != null; w = incoming.poll()) {
                    active.add(w);
                }
                long now = System.nanoTime();
                for (Iterator<Watch> it = active.iterator(); it.hasNext(); ) {
                    Watch w = it.next();
                    if (w.result.isDone()) {
                        it.remove();
                    } else if (now - w.deadlineNanos > 0) {
                        w.result.complete(TIMED_OUT);
                        it.remove();
                    } else if (w.lastSentNanos == Long.MIN_VALUE || now - w.lastSentNanos >= intervalAt(now - w.startNanos)) {
                        send(w, now);
                    }
                }
                long waitMillis = active.isEmpty() ? 50 : Math.max(1, intervalNanos / 1_000_000);
                selector.select(waitMillis);
                selector.selectedKeys().clear();
                while (true) {
                    buffer.clear();
                    if (channel.receive(buffer) == null) {
                        break;
                    }
                    long arrived = System.nanoTime();
                    int length = buffer.position();
                    if (length < 12) {
                        continue;
                    }
                    byte[] data = buffer.array();
                    int id = ((data[0] & 0xff) << 8) | (data[1] & 0xff);
                    Watch w = byId[id];
                    if (w == null || w.result.isDone()) {
                        continue;
                    }
                    Answer answer = parse(data, length);
                    if (answer != null && answer.addresses().stream().sorted().toList().equals(w.expected)) {
                        w.result.complete(arrived - w.startNanos);
                    }
                }
            } catch (IOException e) {
                if (running) {
                    System.err.println("peering-bench: DNS probe: " + e);
                }
            }
        }
    }

    /** How long to wait between queries for a watch that started {@code elapsed} nanoseconds ago. */
    long intervalAt(long elapsed) {
        if (elapsed < 100_000_000L) {
            return intervalNanos;
        }
        return Math.max(intervalNanos, elapsed < 1_000_000_000L ? 10_000_000L : 50_000_000L);
    }

    private void send(Watch w, long now) throws IOException {
        int id = nextId++ & 0xffff;
        byId[id] = w;
        w.query[0] = (byte) (id >> 8);
        w.query[1] = (byte) id;
        w.lastSentNanos = now;
        channel.send(ByteBuffer.wrap(w.query), w.server);
        queries.incrementAndGet();
    }

    /** A query for {@code name}, type A, class IN, id 0 (set per send). */
    static byte[] query(String name) {
        String fqdn = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
        ByteBuffer b = ByteBuffer.allocate(12 + fqdn.length() + 2 + 4);
        b.putShort((short) 0).putShort((short) 0).putShort((short) 1).putShort((short) 0).putShort((short) 0)
                .putShort((short) 0);
        for (String label : fqdn.split("\\.")) {
            byte[] bytes = label.getBytes(StandardCharsets.US_ASCII);
            if (bytes.length == 0 || bytes.length > 63) {
                throw new IllegalArgumentException("not a DNS name: " + name);
            }
            b.put((byte) bytes.length).put(bytes);
        }
        b.put((byte) 0).putShort((short) 1).putShort((short) 1);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /** The response code and the A records of the answer section. */
    record Answer(int rcode, List<String> addresses) {
    }

    /** Null when the message is not a well-formed response. */
    static Answer parse(byte[] m, int length) {
        try {
            if (length < 12 || (m[2] & 0x80) == 0) {
                return null;
            }
            int rcode = m[3] & 0x0f;
            int questions = u16(m, 4, length);
            int answers = u16(m, 6, length);
            int pos = 12;
            for (int i = 0; i < questions; i++) {
                pos = skipName(m, pos, length) + 4;
            }
            List<String> addresses = new ArrayList<>(answers);
            for (int i = 0; i < answers; i++) {
                pos = skipName(m, pos, length);
                int type = u16(m, pos, length);
                int rdLength = u16(m, pos + 8, length);
                pos += 10;
                if (pos + rdLength > length) {
                    return null;
                }
                if (type == 1 && rdLength == 4) {
                    addresses.add((m[pos] & 0xff) + "." + (m[pos + 1] & 0xff) + "." + (m[pos + 2] & 0xff) + "."
                            + (m[pos + 3] & 0xff));
                }
                pos += rdLength;
            }
            return new Answer(rcode, addresses);
        } catch (IndexOutOfBoundsException e) {
            return null;
        }
    }

    private static int u16(byte[] m, int pos, int length) {
        if (pos + 2 > length) {
            throw new IndexOutOfBoundsException(pos);
        }
        return ((m[pos] & 0xff) << 8) | (m[pos + 1] & 0xff);
    }

    private static int skipName(byte[] m, int pos, int length) {
        while (true) {
            if (pos >= length) {
                throw new IndexOutOfBoundsException(pos);
            }
            int len = m[pos] & 0xff;
            if (len == 0) {
                return pos + 1;
            }
            if ((len & 0xc0) == 0xc0) {
                return pos + 2;
            }
            pos += 1 + len;
        }
    }

    @Override
    public void close() {
        running = false;
        selector.wakeup();
        try {
            thread.join(1000);
            selector.close();
            channel.close();
        } catch (IOException | InterruptedException e) {
            // closing anyway
        }
    }
}
