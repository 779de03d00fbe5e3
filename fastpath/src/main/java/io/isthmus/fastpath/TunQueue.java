package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedChannelException;
import java.util.Objects;

/**
 * One queue (descriptor) of a {@link TunDevice}: {@link #read} takes the next IP packet the kernel routed into the
 * device, {@link #write} hands one to the kernel as if it had arrived on the device. Both copy straight between the
 * kernel and a caller-owned buffer (a native {@link MemorySegment} or a direct {@link ByteBuffer}) and allocate
 * nothing.
 *
 * <p>The descriptor is non-blocking: {@code read} first tries to read, and only when nothing is queued waits in
 * {@code poll} on the descriptor and the device's close signal, so under load a packet costs one system call. One
 * thread at a time may read and one (the same or another) may write; reads of different queues may run in parallel
 * and should, one platform thread per queue. A buffer must hold the largest packet (the MTU, plus
 * {@link TunDevice#headerSize()}; 65,536 bytes is always enough): the kernel drops a packet that does not fit and
 * {@code read} throws.
 */
public final class TunQueue {
    private static final long POLLFD_SIZE = Syscalls.POLLFD.byteSize();
    private static final long POLL_EVENTS = Syscalls.POLLFD.byteOffset(groupElement("events"));
    private static final long POLL_REVENTS = Syscalls.POLLFD.byteOffset(groupElement("revents"));
    private static final int MAX_PACKET = 65_535 + TunDevice.VNET_HEADER_SIZE;
    /** A timeout that never passes. */
    private static final long FOREVER = -1;

    private final TunDevice device;
    private final int index;
    private final int fd;
    private final MemorySegment readState;
    private final MemorySegment writeState;
    /** {@code pollfd[2]}: this queue's descriptor and the device's close signal. */
    private final MemorySegment readPoll;
    private final MemorySegment writePoll;
    // The native address of the last direct ByteBuffer seen, so a reused buffer costs no lookup.
    private ByteBuffer readBuffer;
    private long readBufferAddress;
    private ByteBuffer writeBuffer;
    private long writeBufferAddress;

    TunQueue(TunDevice device, int index, int fd, int wakeFd, Arena arena) {
        this.device = device;
        this.index = index;
        this.fd = fd;
        this.readState = Syscalls.newCallState(arena);
        this.writeState = Syscalls.newCallState(arena);
        this.readPoll = pollSet(arena, fd, Syscalls.POLLIN, wakeFd);
        this.writePoll = pollSet(arena, fd, Syscalls.POLLOUT, wakeFd);
    }

    private static MemorySegment pollSet(Arena arena, int fd, short events, int wakeFd) {
        MemorySegment set = arena.allocate(Syscalls.POLLFD, 2);
        set.set(ValueLayout.JAVA_INT, 0, fd);
        set.set(ValueLayout.JAVA_SHORT, POLL_EVENTS, events);
        set.set(ValueLayout.JAVA_INT, POLLFD_SIZE, wakeFd);
        set.set(ValueLayout.JAVA_SHORT, POLLFD_SIZE + POLL_EVENTS, Syscalls.POLLIN);
        return set;
    }

    public TunDevice device() {
        return device;
    }

    /** 0 for the first queue. */
    public int index() {
        return index;
    }

    int fd() {
        return fd;
    }

    /** Reads one packet into the start of {@code buffer} (a native segment); see {@link #read(MemorySegment, long, int)}. */
    public int read(MemorySegment buffer) throws IOException {
        return read(buffer, 0, (int) Math.min(buffer.byteSize(), MAX_PACKET));
    }

    /**
     * Waits for the next packet and copies it to {@code buffer} at {@code offset}, at most {@code maxLength} bytes
     * (with the vnet header on, the {@value TunDevice#VNET_HEADER_SIZE}-byte header first). Returns its length.
     *
     * @throws AsynchronousCloseException when the device was closed meanwhile, from any thread
     * @throws ClosedChannelException     when the device was already closed
     * @throws SystemCallException        when the kernel failed the read (EFAULT: the packet was longer than
     *                                    {@code maxLength} and was dropped)
     */
    public int read(MemorySegment buffer, long offset, int maxLength) throws IOException {
        return readInto(buffer, offset, maxLength, FOREVER);
    }

    /**
     * As {@link #read(MemorySegment, long, int)}, but waits at most {@code timeoutNanos} for a packet (0: does not
     * wait, one system call) and returns 0 when none came: to gather what is already queued into a batch after a
     * first, blocking read. Waiting has millisecond granularity (poll).
     */
    public int read(MemorySegment buffer, long offset, int maxLength, long timeoutNanos) throws IOException {
        return readInto(buffer, offset, maxLength, requireTimeout(timeoutNanos));
    }

    private int readInto(MemorySegment buffer, long offset, int maxLength, long timeoutNanos) throws IOException {
        requireNative(buffer);
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("the buffer to read into is read-only");
        }
        Objects.checkFromIndexSize(offset, maxLength, buffer.byteSize());
        try {
            return readAt(buffer.address() + offset, maxLength, timeoutNanos);
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    /**
     * Reads one packet into a direct {@code buffer} from its position, at most up to its limit, and advances the
     * position past it; returns its length. Throws as {@link #read(MemorySegment, long, int)}.
     */
    public int read(ByteBuffer buffer) throws IOException {
        return readInto(buffer, FOREVER);
    }

    /**
     * As {@link #read(ByteBuffer)}, waiting at most {@code timeoutNanos} (0: not at all); 0 when no packet came, and
     * the position stays.
     */
    public int read(ByteBuffer buffer, long timeoutNanos) throws IOException {
        return readInto(buffer, requireTimeout(timeoutNanos));
    }

    private static long requireTimeout(long timeoutNanos) {
        if (timeoutNanos < 0) {
            throw new IllegalArgumentException("timeout " + timeoutNanos + " ns is negative: give 0 not to wait, or"
                    + " use the read without a timeout to wait for ever");
        }
        return timeoutNanos;
    }

    private int readInto(ByteBuffer buffer, long timeoutNanos) throws IOException {
        if (buffer.isReadOnly()) {
            throw new IllegalArgumentException("the buffer to read into is read-only");
        }
        if (buffer != readBuffer) {
            readBufferAddress = addressOf(buffer);
            readBuffer = buffer;
        }
        try {
            int length = readAt(readBufferAddress + buffer.position(), buffer.remaining(), timeoutNanos);
            buffer.position(buffer.position() + length);
            return length;
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    private int readAt(long address, int maxLength, long timeoutNanos) throws IOException {
        if (!device.enter()) {
            throw new ClosedChannelException();
        }
        try {
            long deadline = timeoutNanos > 0 ? System.nanoTime() + timeoutNanos : 0;
            while (true) {
                long read = Syscalls.read(readState, fd, address, maxLength);
                if (!device.isOpen()) {
                    throw new AsynchronousCloseException();
                }
                if (read >= 0) {
                    return (int) read;
                }
                int errno = Syscalls.errno(readState);
                switch (errno) {
                    case Errno.EAGAIN -> {
                        if (timeoutNanos == 0) {
                            return 0;
                        }
                        int waitMillis = -1;
                        if (timeoutNanos != FOREVER) {
                            long left = deadline - System.nanoTime();
                            if (left <= 0) {
                                return 0;
                            }
                            waitMillis = (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                        }
                        awaitReady(readPoll, readState, "read", waitMillis);
                    }
                    case Errno.EINTR -> {
                        // a signal: try again
                    }
                    case Errno.EFAULT -> throw new SystemCallException("read from tun " + device.name() + " queue "
                            + index + " failed: EFAULT; the packet was longer than the buffer (" + maxLength
                            + " bytes) and was dropped: size buffers for the MTU"
                            + (device.headerSize() > 0 ? " plus the vnet header" : "") + ", or 65536 bytes", errno);
                    default -> throw Errno.networkFailure(Errno.Subject.TUN, "read from tun " + device.name()
                            + " queue " + index, errno, null);
                }
            }
        } finally {
            device.leave();
        }
    }

    /** Writes all of {@code packet} (a native segment) as one packet; see {@link #write(MemorySegment, long, int)}. */
    public boolean write(MemorySegment packet) throws IOException {
        return write(packet, 0, Math.toIntExact(packet.byteSize()));
    }

    /**
     * Hands the {@code length} bytes at {@code offset} of {@code buffer} to the kernel as one packet arriving on the
     * device (with the vnet header on, they start with the header; zeros for a plain packet). Returns false when the
     * kernel refused this packet alone: not an IPv4 or IPv6 packet, or malformed (EINVAL), the device down (EIO), or
     * no memory for it; the caller counts it as dropped and goes on.
     *
     * @throws AsynchronousCloseException when the device was closed meanwhile
     * @throws ClosedChannelException     when the device was already closed
     * @throws SystemCallException        when the queue itself failed
     */
    public boolean write(MemorySegment buffer, long offset, int length) throws IOException {
        requireNative(buffer);
        Objects.checkFromIndexSize(offset, length, buffer.byteSize());
        try {
            return writeAt(buffer.address() + offset, length);
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    /**
     * Writes the bytes of a direct {@code buffer} from its position to its limit as one packet, and moves the
     * position to the limit whether the kernel took it or not. Returns and throws as
     * {@link #write(MemorySegment, long, int)}.
     */
    public boolean write(ByteBuffer buffer) throws IOException {
        if (buffer != writeBuffer) {
            writeBufferAddress = addressOf(buffer);
            writeBuffer = buffer;
        }
        try {
            boolean written = writeAt(writeBufferAddress + buffer.position(), buffer.remaining());
            buffer.position(buffer.limit());
            return written;
        } finally {
            Reference.reachabilityFence(buffer);
        }
    }

    private boolean writeAt(long address, int length) throws IOException {
        if (!device.enter()) {
            throw new ClosedChannelException();
        }
        try {
            while (true) {
                long written = Syscalls.write(writeState, fd, address, length);
                if (!device.isOpen()) {
                    throw new AsynchronousCloseException();
                }
                if (written >= 0) {
                    return true;
                }
                int errno = Syscalls.errno(writeState);
                switch (errno) {
                    case Errno.EAGAIN -> awaitReady(writePoll, writeState, "write", -1);
                    case Errno.EINTR -> {
                        // a signal: try again
                    }
                    case Errno.EINVAL, Errno.EIO, Errno.ENOMEM, Errno.ENOBUFS, Errno.EMSGSIZE, Errno.EFAULT -> {
                        return false;
                    }
                    default -> throw Errno.networkFailure(Errno.Subject.TUN, "write to tun " + device.name()
                            + " queue " + index, errno, null);
                }
            }
        } finally {
            device.leave();
        }
    }

    /**
     * Waits until the queue is ready, {@code timeoutMillis} pass (-1: never), a signal comes, or the device closes
     * (then throws); inside enter/leave. The caller tries its call again in every other case.
     */
    private void awaitReady(MemorySegment pollSet, MemorySegment callState, String what, int timeoutMillis)
            throws IOException {
        int ready = Syscalls.poll(callState, pollSet, 2, timeoutMillis);
        if (!device.isOpen() || (ready > 0 && pollSet.get(ValueLayout.JAVA_SHORT, POLLFD_SIZE + POLL_REVENTS) != 0)) {
            throw new AsynchronousCloseException();
        }
        if (ready > 0) {
            short revents = pollSet.get(ValueLayout.JAVA_SHORT, POLL_REVENTS);
            if ((revents & (Syscalls.POLLERR | Syscalls.POLLNVAL)) != 0) {
                throw new SystemCallException("poll before " + what + " on tun " + device.name() + " queue " + index
                        + " reported an error (revents 0x" + Integer.toHexString(revents) + ")", Errno.EIO);
            }
            return;
        }
        if (ready == 0) {
            return; // the timeout passed
        }
        int errno = Syscalls.errno(callState);
        if (errno != Errno.EINTR) { // a signal: the caller tries again and works out what is left of its timeout
            throw Errno.networkFailure(Errno.Subject.TUN, "poll before " + what + " on tun " + device.name()
                    + " queue " + index, errno, null);
        }
    }

    private static void requireNative(MemorySegment buffer) {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("the buffer must be native memory (from an Arena), not " + buffer);
        }
    }

    private static long addressOf(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("the buffer must be a direct ByteBuffer (ByteBuffer.allocateDirect)");
        }
        MemorySegment segment = MemorySegment.ofBuffer(buffer);
        return segment.address() - buffer.position();
    }

    @Override
    public String toString() {
        return "TunQueue[" + device.name() + " #" + index + "]";
    }
}
