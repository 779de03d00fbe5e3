package io.isthmus.fastpath;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Echo throughput on loopback: a {@link BatchedUdpSocket} echo server (recvmmsg/sendmmsg) against a plain
 * {@link DatagramChannel} echo server (receive/send per datagram), each on one platform thread, driven by the same
 * load generator (one thread keeping a window of datagrams in flight, itself batched so that it is not the
 * bottleneck). Prints datagrams echoed per second for both and their ratio; asserts nothing.
 *
 * <pre>
 * ./mvnw -B -o -q -pl fastpath test-compile
 * java --enable-native-access=ALL-UNNAMED -cp fastpath/target/classes:fastpath/target/test-classes \
 *     io.isthmus.fastpath.BatchedUdpEchoBenchmark [seconds=5] [rounds=1] [payload=64] [window=256]
 * </pre>
 * Each round runs both servers for {@code seconds} after one second of warm-up; several rounds alternate them, so
 * that other load on the machine falls on both, and the median is printed last.
 */
public final class BatchedUdpEchoBenchmark {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private static final Duration WARM_UP = Duration.ofSeconds(1);
    /** Stops a run early past this many datagrams, whatever the time. */
    private static final long MAX_DATAGRAMS = 100_000_000L;
    private static final int BUFFER = 4 << 20;
    private static final int BATCH = 32;
    private static final int CLIENT_BATCH = 64;
    /** How long the generator waits for an echo before it counts the window lost and starts a new one. */
    private static final Duration LOSS_TIMEOUT = Duration.ofMillis(200);

    private BatchedUdpEchoBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        Duration measure = Duration.ofSeconds(arg(args, 0, 5, 1, 60));
        int rounds = arg(args, 1, 1, 1, 20);
        int payload = arg(args, 2, 64, 1, 1400);
        int window = arg(args, 3, 256, 1, 4096);
        FastPaths.Report report = FastPaths.probe();
        System.out.println(report);
        if (!report.batchedUdp().available()) {
            System.exit(2);
        }
        System.out.printf(Locale.ROOT, "echo on 127.0.0.1: %d-byte datagrams, %d in flight, %d s per run after %d s"
                        + " warm-up, %d round(s), %d cores%n", payload, window, measure.toSeconds(), WARM_UP.toSeconds(),
                rounds, Runtime.getRuntime().availableProcessors());
        List<Double> ratios = new ArrayList<>();
        List<Double> batched = new ArrayList<>();
        List<Double> nio = new ArrayList<>();
        for (int round = 1; round <= rounds; round++) {
            Result b = batchedEcho(measure, payload, window);
            Result n = nioEcho(measure, payload, window);
            batched.add(b.perSecond());
            nio.add(n.perSecond());
            ratios.add(b.perSecond() / n.perSecond());
            System.out.printf(Locale.ROOT, "round %d: batched %,.0f datagrams/s (%.1f per recvmmsg, %d lost)"
                            + " | nio %,.0f datagrams/s (%d lost) | ratio %.2fx%n", round, b.perSecond(),
                    b.perReceive(), b.lost(), n.perSecond(), n.lost(), b.perSecond() / n.perSecond());
        }
        System.out.printf(Locale.ROOT, "median: batched %,.0f datagrams/s, nio %,.0f datagrams/s, ratio %.2fx%n",
                median(batched), median(nio), median(ratios));
    }

    private record Result(double perSecond, long lost, double perReceive) {
    }

    private static Result batchedEcho(Duration measure, int payload, int window) throws Exception {
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults()
                .withBatch(BATCH, 2048).withBuffers(BUFFER, BUFFER);
        AtomicLong receives = new AtomicLong();
        AtomicLong datagrams = new AtomicLong();
        try (BatchedUdpSocket server = BatchedUdpSocket.open(LOOPBACK, options)) {
            Thread echo = Thread.ofPlatform().name("batched-echo").start(() -> {
                DatagramBatch in = server.newBatch();
                DatagramBatch out = server.newBatch();
                long calls = 0;
                long moved = 0;
                try {
                    while (true) {
                        int n = server.receive(in);
                        calls++;
                        moved += n;
                        for (int i = 0; i < n; i++) {
                            out.add(in, i, in.payload(i));
                        }
                        server.send(out);
                    }
                } catch (IOException e) {
                    // closed at the end of the run
                } finally {
                    receives.set(calls);
                    datagrams.set(moved);
                }
            });
            Result result = drive(server.localAddress(), measure, payload, window);
            server.close();
            echo.join();
            return new Result(result.perSecond(), result.lost(), (double) datagrams.get() / Math.max(1, receives.get()));
        }
    }

    private static Result nioEcho(Duration measure, int payload, int window) throws Exception {
        try (DatagramChannel server = DatagramChannel.open(StandardProtocolFamily.INET)) {
            server.setOption(StandardSocketOptions.SO_RCVBUF, BUFFER);
            server.setOption(StandardSocketOptions.SO_SNDBUF, BUFFER);
            server.bind(LOOPBACK);
            Thread echo = Thread.ofPlatform().name("nio-echo").start(() -> {
                ByteBuffer buffer = ByteBuffer.allocateDirect(2048);
                try {
                    while (true) {
                        buffer.clear();
                        SocketAddress from = server.receive(buffer);
                        buffer.flip();
                        server.send(buffer, from);
                    }
                } catch (ClosedChannelException e) {
                    // closed at the end of the run
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            Result result = drive((InetSocketAddress) server.getLocalAddress(), measure, payload, window);
            server.close();
            echo.join();
            return result;
        }
    }

    /** Keeps {@code window} datagrams in flight to {@code server} and counts the echoes after the warm-up. */
    private static Result drive(InetSocketAddress server, Duration measure, int payloadSize, int window)
            throws IOException {
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults()
                .withBatch(CLIENT_BATCH, 2048).withBuffers(BUFFER, BUFFER).withReceiveTimeout(LOSS_TIMEOUT);
        try (BatchedUdpSocket client = BatchedUdpSocket.open(LOOPBACK, options)) {
            DatagramBatch out = client.newBatch();
            DatagramBatch in = client.newBatch();
            byte[] payload = new byte[payloadSize];
            long start = System.nanoTime();
            long countFrom = start + WARM_UP.toNanos();
            long end = countFrom + measure.toNanos();
            long inFlight = 0;
            long counted = 0;
            long lost = 0;
            long now = start;
            while (now < end && counted < MAX_DATAGRAMS) {
                while (inFlight < window) {
                    int burst = (int) Math.min(CLIENT_BATCH, window - inFlight);
                    for (int i = 0; i < burst; i++) {
                        out.add(server, payload);
                    }
                    inFlight += client.send(out);
                }
                int echoed = client.receive(in);
                now = System.nanoTime();
                if (echoed == 0) {
                    lost += inFlight; // none came back within the timeout: count them lost, start afresh
                    inFlight = 0;
                    continue;
                }
                inFlight -= echoed;
                if (now >= countFrom) {
                    counted += echoed;
                }
            }
            double seconds = (now - countFrom) / 1e9;
            return new Result(counted / seconds, lost, 0);
        }
    }

    private static int arg(String[] args, int index, int fallback, int min, int max) {
        if (args.length <= index) {
            return fallback;
        }
        int value = Integer.parseInt(args[index]);
        if (value < min || value > max) {
            throw new IllegalArgumentException("argument " + (index + 1) + " must be between " + min + " and " + max);
        }
        return value;
    }

    private static double median(List<Double> values) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }
}
