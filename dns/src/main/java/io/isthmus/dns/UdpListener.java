package io.isthmus.dns;

import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.FastPaths;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The UDP side of the server: a {@link UdpPath} and its receive threads, named {@code dns-udp-PORT-N}.
 *
 * <p>The path is chosen at {@link #bind}: batched {@code recvmmsg}/{@code sendmmsg} when {@link FastPaths#batchedUdp()}
 * finds them working here, else plain NIO, and {@link #path()} says which and, for NIO, why. Two system properties,
 * read at each bind:
 * <ul>
 *   <li>{@value #PATH_PROPERTY}: {@code auto} (the default), {@code nio} to force the fallback (for comparisons),
 *       or {@code recvmmsg} to fail start rather than fall back;</li>
 *   <li>{@value #THREADS_PROPERTY}: receive threads (1..64), by default the number of cores up to 4. On the
 *       batched path each thread has its own SO_REUSEPORT socket on the port.</li>
 * </ul>
 */
final class UdpListener implements AutoCloseable {
    static final String PATH_PROPERTY = "isthmus.dns.udp.path";
    static final String THREADS_PROPERTY = "isthmus.dns.udp.threads";
    private static final int DEFAULT_MAX_THREADS = 4;
    private static final int MAX_THREADS = 64;

    private final UdpPath path;
    private final List<Thread> threads = new ArrayList<>();

    private UdpListener(UdpPath path) {
        this.path = path;
    }

    /**
     * Binds {@code listen} on the path the system properties and the probe choose; no thread runs until
     * {@link #start}. Throws what binding threw (a {@link java.net.BindException} when the port is taken).
     */
    static UdpListener bind(InetSocketAddress listen) throws IOException {
        int threads = threadsProperty();
        String requested = System.getProperty(PATH_PROPERTY, "auto").strip().toLowerCase(Locale.ROOT);
        return new UdpListener(switch (requested) {
            case "nio" -> UdpNioPath.bind(listen, threads, "forced by -D" + PATH_PROPERTY + "=nio");
            case "recvmmsg" -> {
                Availability batched = FastPaths.batchedUdp();
                if (!batched.available()) {
                    throw new IOException("-D" + PATH_PROPERTY + "=recvmmsg asks for batched UDP, which is"
                            + " unavailable here: " + batched.reason());
                }
                yield UdpBatchedPath.bind(listen, threads);
            }
            case "auto", "" -> {
                Availability batched = FastPaths.batchedUdp();
                yield batched.available()
                        ? UdpBatchedPath.bind(listen, threads)
                        : UdpNioPath.bind(listen, threads, "batched syscalls (recvmmsg/sendmmsg) unavailable: " + batched.reason());
            }
            default -> throw new IllegalArgumentException(
                    "-D" + PATH_PROPERTY + "=" + requested + " is not one of auto, nio, recvmmsg");
        });
    }

    private static int threadsProperty() {
        String text = System.getProperty(THREADS_PROPERTY);
        if (text == null || text.isBlank()) {
            return Math.clamp(Runtime.getRuntime().availableProcessors(), 1, DEFAULT_MAX_THREADS);
        }
        try {
            int threads = Integer.parseInt(text.strip());
            if (threads >= 1 && threads <= MAX_THREADS) {
                return threads;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException("-D" + THREADS_PROPERTY + "=" + text + " is not a number of threads"
                + " between 1 and " + MAX_THREADS);
    }

    /** The address and port bound. */
    InetSocketAddress localAddress() {
        return path.localAddress();
    }

    /** e.g. {@code recvmmsg(batch=32, threads=2, SO_REUSEPORT sockets=2)}, or {@code nio(threads=2)} and why. */
    ServingPath path() {
        return path.describe();
    }

    /** Starts the receive threads, answering with {@code processor}. */
    void start(QueryProcessor processor) {
        int port = path.localAddress().getPort();
        for (int i = 0; i < path.threads(); i++) {
            int index = i;
            threads.add(Thread.ofPlatform().name("dns-udp-" + port + "-" + i).daemon(true)
                    .start(() -> path.serve(index, processor)));
        }
    }

    /** Closes the sockets and returns once every receive thread is gone. */
    @Override
    public void close() {
        path.close();
        Joiner.join(threads);
    }
}
