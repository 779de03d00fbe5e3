package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A UDP socket made and driven through Linux system calls, moving many datagrams per call: {@link #receive} fills a
 * {@link DatagramBatch} with one {@code recvmmsg}, {@link #send} empties one with {@code sendmmsg}.
 *
 * <pre>{@code
 * try (BatchedUdpSocket socket = BatchedUdpSocket.open(address, BatchedUdpSocket.Options.defaults())) {
 *     DatagramBatch in = socket.newBatch(), out = socket.newBatch();
 *     while (true) {
 *         int n = socket.receive(in);                 // blocks for the first datagram, takes what else is queued
 *         for (int i = 0; i < n; i++) {
 *             out.add(in, i, in.payload(i));          // echo: the reply goes to the sender of in[i]
 *         }
 *         socket.send(out);                            // one system call for every reply
 *     }
 * }
 * }</pre>
 *
 * <p>The socket owns the native memory of its batches (a shared {@link Arena}); {@link #close()} frees it. One thread
 * at a time may {@link #receive} and one (the same or another) may {@link #send}; {@link #sendOne} may come from any
 * thread at any time, and so may {@link #close()}: it wakes a thread blocked in {@link #receive}, which then throws
 * {@link AsynchronousCloseException}, and returns once the descriptor is closed and the memory freed. Use {@link FastPaths#batchedUdp()} first: where it says unavailable,
 * {@link #open} throws {@link UnsupportedOperationException}.
 */
public final class BatchedUdpSocket implements AutoCloseable {
    private static final System.Logger log = System.getLogger(BatchedUdpSocket.class.getName());
    /** A port picked for a group can be taken before the group binds it; then we pick again this often. */
    private static final int GROUP_ATTEMPTS = 8;

    private final int fd;
    private final int family;
    private final InetSocketAddress localAddress;
    private final Options options;
    private final NativeHandle handle;
    private final Arena arena;
    private final MemorySegment receiveState;
    private final MemorySegment sendState;
    /** Whether the kernel refused a run already (logged once). */
    private final AtomicBoolean runsRefused = new AtomicBoolean();

    /**
     * How a socket is set up and how large its batches are.
     *
     * @param batchSize          datagrams per batch, so per system call (1..1024, the kernel's UIO_MAXIOV)
     * @param slotSize           bytes per received datagram; longer ones are cut and marked truncated (1..65535)
     * @param reusePort          SO_REUSEPORT: several sockets share the port and the kernel spreads senders over them
     * @param receiveBufferBytes SO_RCVBUF to ask for, 0 for the system default (the kernel caps it at rmem_max)
     * @param sendBufferBytes    SO_SNDBUF to ask for, 0 for the system default (capped at wmem_max)
     * @param receiveTimeout     how long {@link #receive} waits for a first datagram before returning 0; zero waits
     *                           for ever
     * @param udpGro             UDP_GRO (Linux 5.0): the kernel may hand over several datagrams of one sender as one
     *                           received datagram, cut at {@link DatagramBatch#segmentSize}; give it slots of
     *                           65535 bytes. {@link #open} fails, saying so, where the kernel lacks it
     */
    public record Options(int batchSize, int slotSize, boolean reusePort, int receiveBufferBytes, int sendBufferBytes,
                          Duration receiveTimeout, boolean udpGro) {
        public Options {
            if (batchSize < 1 || batchSize > 1024) {
                throw new IllegalArgumentException("batch size " + batchSize + " is not between 1 and 1024");
            }
            if (slotSize < 1 || slotSize > 65_535) {
                throw new IllegalArgumentException("slot size " + slotSize + " is not between 1 and 65535");
            }
            if (receiveBufferBytes < 0 || sendBufferBytes < 0) {
                throw new IllegalArgumentException("socket buffer sizes must be 0 (system default) or positive");
            }
            if (receiveTimeout == null || receiveTimeout.isNegative()) {
                throw new IllegalArgumentException("receive timeout must be zero (wait for ever) or positive");
            }
        }

        /** 32 datagrams of up to 2048 bytes per batch, system buffer sizes, no SO_REUSEPORT, no timeout, no GRO. */
        public static Options defaults() {
            return new Options(32, 2048, false, 0, 0, Duration.ZERO, false);
        }

        public Options withBatch(int batchSize, int slotSize) {
            return new Options(batchSize, slotSize, reusePort, receiveBufferBytes, sendBufferBytes, receiveTimeout,
                    udpGro);
        }

        public Options withReusePort(boolean reusePort) {
            return new Options(batchSize, slotSize, reusePort, receiveBufferBytes, sendBufferBytes, receiveTimeout,
                    udpGro);
        }

        public Options withBuffers(int receiveBufferBytes, int sendBufferBytes) {
            return new Options(batchSize, slotSize, reusePort, receiveBufferBytes, sendBufferBytes, receiveTimeout,
                    udpGro);
        }

        public Options withReceiveTimeout(Duration receiveTimeout) {
            return new Options(batchSize, slotSize, reusePort, receiveBufferBytes, sendBufferBytes, receiveTimeout,
                    udpGro);
        }

        public Options withUdpGro(boolean udpGro) {
            return new Options(batchSize, slotSize, reusePort, receiveBufferBytes, sendBufferBytes, receiveTimeout,
                    udpGro);
        }
    }

    private BatchedUdpSocket(int fd, int family, InetSocketAddress localAddress, Options options) {
        this.fd = fd;
        this.family = family;
        this.localAddress = localAddress;
        this.options = options;
        this.arena = Arena.ofShared();
        // Shutdown wakes blocked callers: for UDP, Linux marks the socket shut down and wakes its waiters, though it
        // also answers ENOTCONN, which is expected here.
        this.handle = new NativeHandle("udp socket " + show(localAddress), arena, new int[] {fd},
                () -> Syscalls.shutdown(fd, Syscalls.SHUT_RDWR));
        this.receiveState = Syscalls.newCallState(arena);
        this.sendState = Syscalls.newCallState(arena);
    }

    /**
     * Creates a UDP socket of {@code address}'s family, applies {@code options} and binds it; port 0 lets the kernel
     * pick one ({@link #localAddress()} tells which).
     *
     * @throws BindException when the address is in use, needs privileges or is not one of this node's, saying so
     * @throws IOException   when the socket cannot be created or set up, saying why
     * @throws UnsupportedOperationException where {@link FastPaths#batchedUdp()} reports it unavailable
     */
    public static BatchedUdpSocket open(InetSocketAddress address, Options options) throws IOException {
        Syscalls.ensureAvailable("batched UDP");
        int family = SocketAddresses.family(address);
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = Syscalls.newCallState(call);
            int fd = Syscalls.socket(state, family, Syscalls.SOCK_DGRAM | Syscalls.SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw Errno.socketFailure("socket(" + (family == Syscalls.AF_INET6 ? "AF_INET6" : "AF_INET")
                        + ", SOCK_DGRAM) for " + show(address), Syscalls.errno(state));
            }
            try {
                if (options.reusePort()) {
                    setInt(call, state, fd, Syscalls.SO_REUSEPORT, "SO_REUSEPORT", 1);
                }
                if (options.receiveBufferBytes() > 0) {
                    setInt(call, state, fd, Syscalls.SO_RCVBUF, "SO_RCVBUF", options.receiveBufferBytes());
                }
                if (options.sendBufferBytes() > 0) {
                    setInt(call, state, fd, Syscalls.SO_SNDBUF, "SO_SNDBUF", options.sendBufferBytes());
                }
                if (!options.receiveTimeout().isZero()) {
                    setReceiveTimeout(call, state, fd, options.receiveTimeout());
                }
                if (options.udpGro()) {
                    enableGro(call, state, fd);
                }
                MemorySegment name = call.allocate(Syscalls.SOCKADDR_IN6);
                int length = SocketAddresses.write(name, 0, family, address);
                if (Syscalls.bind(state, fd, name, length) != 0) {
                    throw Errno.bindFailure(show(address), Syscalls.errno(state));
                }
                MemorySegment nameLength = call.allocate(ValueLayout.JAVA_INT);
                nameLength.set(ValueLayout.JAVA_INT, 0, SocketAddresses.IPV6_LENGTH);
                if (Syscalls.getsockname(state, fd, name, nameLength) != 0) {
                    throw Errno.failure("getsockname after binding " + show(address), Syscalls.errno(state));
                }
                return new BatchedUdpSocket(fd, family, SocketAddresses.read(name, 0), options);
            } catch (IOException | RuntimeException | Error e) {
                Syscalls.close(fd);
                throw e;
            }
        }
    }

    /**
     * {@code count} sockets with SO_REUSEPORT on one address and port, so that {@code count} threads each receive on
     * their own. A port in use fails the whole group, even when what holds it also set SO_REUSEPORT: the port is
     * first claimed by a plain socket (port 0: a free port picked that way), released, and then bound by the group.
     * If the picked port is taken in that instant, another is picked.
     *
     * @throws BindException as {@link #open}; nothing stays bound
     */
    public static List<BatchedUdpSocket> openGroup(InetSocketAddress address, int count, Options options)
            throws IOException {
        if (count < 1) {
            throw new IllegalArgumentException("a group needs at least one socket, not " + count);
        }
        Options shared = options.withReusePort(true);
        int attempts = address.getPort() == 0 ? GROUP_ATTEMPTS : 1;
        for (int attempt = 1; ; attempt++) {
            InetSocketAddress claimed;
            try (BatchedUdpSocket exclusive = open(address, Options.defaults().withBatch(1, 1))) {
                claimed = exclusive.localAddress();
            }
            List<BatchedUdpSocket> group = new ArrayList<>(count);
            try {
                for (int i = 0; i < count; i++) {
                    group.add(open(claimed, shared));
                }
                return List.copyOf(group);
            } catch (BindException e) {
                group.forEach(BatchedUdpSocket::close);
                if (attempt >= attempts || group.size() > 0) {
                    throw e;
                }
            } catch (IOException | RuntimeException e) {
                group.forEach(BatchedUdpSocket::close);
                throw e;
            }
        }
    }

    /** The address and port bound. */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public Options options() {
        return options;
    }

    public boolean isOpen() {
        return handle.isOpen();
    }

    /**
     * A batch of {@code options().batchSize()} slots of {@code options().slotSize()} bytes, from this socket's memory;
     * freed when the socket closes. Make the batches a thread needs once, before its loop.
     */
    public DatagramBatch newBatch() {
        if (!handle.enter()) {
            throw new IllegalStateException("socket " + show(localAddress) + " is closed");
        }
        try {
            return new DatagramBatch(this, family, arena, options.batchSize(), options.slotSize(), options.udpGro());
        } finally {
            handle.leave();
        }
    }

    /**
     * Receives into {@code batch}: waits for a first datagram, then takes whatever else is already queued, up to the
     * batch's capacity, in one {@code recvmmsg}. Returns how many ({@code batch.size()}); 0 only when
     * {@link Options#receiveTimeout()} passed without one.
     *
     * @throws AsynchronousCloseException when {@link #close()} was called meanwhile, from any thread
     * @throws ClosedChannelException     when the socket was already closed
     * @throws IOException                when the kernel refused, naming the errno
     */
    public int receive(DatagramBatch batch) throws IOException {
        requireOwn(batch);
        if (!handle.enter()) {
            throw new ClosedChannelException();
        }
        try {
            batch.prepareReceive();
            while (true) {
                int received = Syscalls.recvmmsg(receiveState, fd, batch.headers(), batch.capacity(),
                        Syscalls.MSG_WAITFORONE);
                if (!isOpen()) {
                    batch.received(0); // shutdown makes recvmmsg return empty datagrams; they are not data
                    throw new AsynchronousCloseException();
                }
                if (received >= 0) {
                    batch.received(received);
                    return received;
                }
                int errno = Syscalls.errno(receiveState);
                switch (errno) {
                    case Errno.EINTR -> {
                        // a signal: wait again
                    }
                    case Errno.EAGAIN -> {
                        return 0; // SO_RCVTIMEO passed
                    }
                    default -> throw Errno.failure("recvmmsg on udp " + show(localAddress), errno);
                }
            }
        } finally {
            handle.leave();
        }
    }

    /**
     * Sends every datagram queued in {@code batch} with {@code sendmmsg} and clears it. A datagram the kernel refuses
     * on its own account (unreachable destination, too large, a full queue) is skipped and the rest still go; the
     * return value is how many went. Datagrams queued with {@link DatagramBatch#addSegment} go as one message per
     * run with {@code UDP_SEGMENT} (the kernel cuts it, once, as late as it can), and count one each.
     *
     * @throws AsynchronousCloseException when {@link #close()} was called meanwhile
     * @throws ClosedChannelException     when the socket was already closed
     * @throws IOException                when the socket itself failed, naming the errno
     */
    public int send(DatagramBatch batch) throws IOException {
        requireOwn(batch);
        if (batch.size() == 0) {
            return 0;
        }
        if (!handle.enter()) {
            throw new ClosedChannelException();
        }
        try {
            return sendAll(batch, sendState);
        } finally {
            batch.clear();
            handle.leave();
        }
    }

    /**
     * Sends one datagram to {@code peer}, from any thread, alongside whatever the batch sender is doing: for replies
     * that are ready later than the batch they came in (an answer that waited on an upstream). Its native memory
     * comes from a confined arena per call, so keep it off the hot path. Returns false when the kernel refused the
     * datagram on its own account (as {@link #send} skips it).
     *
     * @throws ClosedChannelException when the socket is closed (or closing)
     * @throws IOException            when the socket itself failed
     */
    public boolean sendOne(InetSocketAddress peer, byte[] payload) throws IOException {
        if (!handle.enter()) {
            throw new ClosedChannelException();
        }
        try (Arena call = Arena.ofConfined()) {
            DatagramBatch one = new DatagramBatch(this, family, call, 1, Math.max(1, payload.length), false);
            one.add(peer, payload);
            return sendAll(one, Syscalls.newCallState(call)) == 1;
        } finally {
            handle.leave();
        }
    }

    /**
     * One sendmmsg, and another after each message the kernel refused alone; how many datagrams went (a message
     * with UDP segmentation counts each of its segments). Inside enter/leave.
     */
    private int sendAll(DatagramBatch batch, MemorySegment callState) throws IOException {
        int size = batch.size();
        int sent = 0;
        int next = 0;
        while (next < size) {
            int accepted = Syscalls.sendmmsg(callState, fd, batch.headersFrom(next), size - next, 0);
            if (!isOpen()) {
                throw new AsynchronousCloseException();
            }
            if (accepted > 0) {
                sent += batch.datagramsIn(next, next + accepted);
                next += accepted;
                continue;
            }
            int errno = Syscalls.errno(callState);
            if (errno == Errno.EINTR) {
                continue;
            }
            if (!Errno.concernsOneMessage(errno)) {
                throw Errno.failure("sendmmsg on udp " + show(localAddress), errno);
            }
            if (batch.segments(next) > 1 && Errno.refusesRun(errno)) {
                // The route cannot take this run whole (its segments exceed the path MTU, or the device cannot
                // checksum a run): its datagrams go one by one, as they would have without UDP_SEGMENT.
                if (runsRefused.compareAndSet(false, true)) {
                    log.log(System.Logger.Level.WARNING, "udp {0}: a run of {1} datagrams of {2} bytes sent with"
                            + " UDP_SEGMENT was refused ({3}); such runs go datagram by datagram",
                            show(localAddress), Integer.toString(batch.segments(next)),
                            Integer.toString(batch.segmentSize(next)), Errno.name(errno));
                }
                sent += sendApart(batch, next, callState);
            }
            next++; // the kernel refused datagram `next` alone; the rest may still go
        }
        return sent;
    }

    /** Sends the segments of run {@code i} as separate datagrams, one call each; how many went. */
    private int sendApart(DatagramBatch batch, int i, MemorySegment callState) throws IOException {
        int sent = 0;
        int segments = batch.segments(i);
        try {
            for (int k = 0; k < segments; k++) {
                batch.pointAtSegment(i, k);
                int accepted;
                do {
                    accepted = Syscalls.sendmmsg(callState, fd, batch.headersFrom(i), 1, 0);
                } while (accepted < 0 && Syscalls.errno(callState) == Errno.EINTR);
                if (!isOpen()) {
                    throw new AsynchronousCloseException();
                }
                if (accepted == 1) {
                    sent++;
                } else if (!Errno.concernsOneMessage(Syscalls.errno(callState))) {
                    throw Errno.failure("sendmmsg on udp " + show(localAddress), Syscalls.errno(callState));
                }
            }
        } finally {
            batch.restoreRun(i);
        }
        return sent;
    }

    /**
     * Closes the socket, waking any thread blocked in {@link #receive} or {@link #send}; returns once the descriptor
     * is closed and the batches' memory freed (at most a few seconds should a call not return). Idempotent.
     */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "BatchedUdpSocket[" + show(localAddress) + (isOpen() ? "" : ", closed") + "]";
    }

    private void requireOwn(DatagramBatch batch) {
        if (batch.owner() != this) {
            throw new IllegalArgumentException("the batch belongs to another socket: use this socket's newBatch()");
        }
    }

    private static void setInt(Arena call, MemorySegment state, int fd, int option, String name, int value)
            throws IOException {
        MemorySegment holder = call.allocateFrom(ValueLayout.JAVA_INT, value);
        if (Syscalls.setsockopt(state, fd, Syscalls.SOL_SOCKET, option, holder) != 0) {
            throw Errno.failure("setsockopt(" + name + ", " + value + ")", Syscalls.errno(state));
        }
    }

    private static void enableGro(Arena call, MemorySegment state, int fd) throws IOException {
        MemorySegment on = call.allocateFrom(ValueLayout.JAVA_INT, 1);
        if (Syscalls.setsockopt(state, fd, Syscalls.SOL_UDP, Syscalls.UDP_GRO, on) != 0) {
            int errno = Syscalls.errno(state);
            throw Errno.failure("setsockopt(SOL_UDP, UDP_GRO, 1)" + (errno == Errno.ENOPROTOOPT
                    ? ": this kernel has no UDP receive coalescing (needs Linux 5.0); open without udpGro" : ""), errno);
        }
    }

    private static void setReceiveTimeout(Arena call, MemorySegment state, int fd, Duration timeout)
            throws IOException {
        long seconds = timeout.toSeconds();
        long micros = timeout.toNanosPart() / 1000;
        if (seconds == 0 && micros == 0) {
            micros = 1; // {0, 0} would mean no timeout at all
        }
        MemorySegment timeval = call.allocate(Syscalls.TIMEVAL);
        timeval.set(ValueLayout.JAVA_LONG, Syscalls.TIMEVAL.byteOffset(groupElement("tv_sec")), seconds);
        timeval.set(ValueLayout.JAVA_LONG, Syscalls.TIMEVAL.byteOffset(groupElement("tv_usec")), micros);
        if (Syscalls.setsockopt(state, fd, Syscalls.SOL_SOCKET, Syscalls.SO_RCVTIMEO, timeval) != 0) {
            throw Errno.failure("setsockopt(SO_RCVTIMEO, " + timeout + ")", Syscalls.errno(state));
        }
    }

    /** {@code 127.0.0.1:53} or {@code [::1]:53}, never a host name lookup. */
    static String show(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + address.getPort();
    }
}
