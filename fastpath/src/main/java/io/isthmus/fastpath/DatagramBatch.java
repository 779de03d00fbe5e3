package io.isthmus.fastpath;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Up to {@link #capacity()} datagrams in native memory that one {@link BatchedUdpSocket} call moves at once: what
 * {@link BatchedUdpSocket#receive} filled, or what {@link #add} queued for {@link BatchedUdpSocket#send}.
 *
 * <pre>{@code
 * int n = socket.receive(queries);
 * for (int i = 0; i < n; i++) {
 *     byte[] reply = answer(queries.payloadBytes(i), queries.peer(i));
 *     if (!replies.add(queries, i, reply)) {   // full: send what we have, then queue again
 *         socket.send(replies);
 *         replies.add(queries, i, reply);
 *     }
 * }
 * socket.send(replies);
 * }</pre>
 *
 * <p>Made by {@link BatchedUdpSocket#newBatch()} from memory the socket owns: the mmsghdr, iovec and socket address
 * arrays and a data area of {@code capacity × slotSize} bytes. Received datagrams sit one per slot; queued ones are
 * packed, so one may be as large as the whole area. Reading a batch allocates only what the caller asks for
 * ({@link #payloadBytes}, {@link #peer}); {@link #copyPayload} and {@link #add} allocate nothing. Not thread-safe;
 * unusable once its socket is closed.
 */
public final class DatagramBatch {
    private static final long MMSGHDR_SIZE = Syscalls.MMSGHDR.byteSize();
    private static final long IOVEC_SIZE = Syscalls.IOVEC.byteSize();

    // Coordinates: (segment, base offset, index).
    private static final VarHandle MSG_NAME = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_name")).withInvokeExactBehavior();
    private static final VarHandle MSG_NAMELEN = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_namelen")).withInvokeExactBehavior();
    private static final VarHandle MSG_IOV = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_iov")).withInvokeExactBehavior();
    private static final VarHandle MSG_IOVLEN = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_iovlen")).withInvokeExactBehavior();
    private static final VarHandle MSG_CONTROL = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_control")).withInvokeExactBehavior();
    private static final VarHandle MSG_CONTROLLEN = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_controllen")).withInvokeExactBehavior();
    private static final VarHandle MSG_FLAGS = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_hdr"), groupElement("msg_flags")).withInvokeExactBehavior();
    private static final VarHandle MSG_LEN = Syscalls.MMSGHDR.arrayElementVarHandle(
            groupElement("msg_len")).withInvokeExactBehavior();
    private static final VarHandle IOV_BASE = Syscalls.IOVEC.arrayElementVarHandle(
            groupElement("iov_base")).withInvokeExactBehavior();
    private static final VarHandle IOV_LEN = Syscalls.IOVEC.arrayElementVarHandle(
            groupElement("iov_len")).withInvokeExactBehavior();

    private final BatchedUdpSocket owner;
    private final int family;
    private final int capacity;
    private final int slotSize;
    private final MemorySegment headers;
    private final MemorySegment iovecs;
    private final MemorySegment names;
    private final MemorySegment data;
    /** One cmsg room per slot: UDP_SEGMENT of a queued run, UDP_GRO of a received datagram. */
    private final MemorySegment control;
    private final boolean gro;
    /** Datagrams in each queued message: 1, or the segments of a run sent with UDP_SEGMENT. */
    private final int[] segments;

    private int size;
    private int datagrams;
    /** The segment size of the last queued message while it may still grow (0 when it may not), its peer, bytes. */
    private int runSegmentSize;
    private InetSocketAddress runPeer;
    private long runBytes;
    /** The run being sent datagram by datagram: its segment size, data address and length. */
    private int splitSize;
    private long splitBase;
    private long splitLength;
    /** True while the slots hold queued datagrams (packed); false while they hold received ones (one per slot). */
    private boolean queued;
    private long used;

    /**
     * The most segments one run sent with UDP_SEGMENT may have (the kernel's UDP_MAX_SEGMENTS is 64 up to Linux 6.x,
     * more since).
     */
    public static final int MAX_RUN_SEGMENTS = 64;
    /** The most bytes one run may carry: below the 65,507 a UDP datagram over IPv4 can hold, with room to spare. */
    public static final int MAX_RUN_BYTES = 65_000;
    private static final long CMSG_LEN_SHORT = Syscalls.CMSG_DATA + 2;
    private static final long CMSG_LEN_INT = Syscalls.CMSG_DATA + 4;

    DatagramBatch(BatchedUdpSocket owner, int family, Arena arena, int capacity, int slotSize, boolean gro) {
        this.owner = owner;
        this.gro = gro;
        this.control = arena.allocate((long) capacity * Syscalls.CMSG_SPACE_INT, 8);
        this.segments = new int[capacity];
        this.family = family;
        this.capacity = capacity;
        this.slotSize = slotSize;
        this.headers = arena.allocate(Syscalls.MMSGHDR, capacity);
        this.iovecs = arena.allocate(Syscalls.IOVEC, capacity);
        this.names = arena.allocate(Syscalls.SOCKADDR_IN6, capacity);
        this.data = arena.allocate((long) capacity * slotSize, 64);
        for (int i = 0; i < capacity; i++) {
            MSG_NAME.set(headers, 0L, (long) i, names.asSlice(i * SocketAddresses.SLOT, SocketAddresses.SLOT));
            MSG_IOV.set(headers, 0L, (long) i, iovecs.asSlice(i * IOVEC_SIZE, IOVEC_SIZE));
            MSG_IOVLEN.set(headers, 0L, (long) i, 1L);
            MSG_CONTROL.set(headers, 0L, (long) i, control.asSlice((long) i * Syscalls.CMSG_SPACE_INT,
                    Syscalls.CMSG_SPACE_INT));
            MSG_CONTROLLEN.set(headers, 0L, (long) i, 0L);
        }
        layOutForReceive();
    }

    /** The most datagrams this batch holds. */
    public int capacity() {
        return capacity;
    }

    /** The bytes of each receive slot: a longer datagram is cut to this and marked {@link #truncated}. */
    public int slotSize() {
        return slotSize;
    }

    /** The datagrams it holds now: received, or queued and not yet sent. */
    public int size() {
        return size;
    }

    /** The bytes of datagram {@code i}. */
    public int length(int i) {
        Objects.checkIndex(i, size);
        return queued ? (int) (long) IOV_LEN.get(iovecs, 0L, (long) i) : (int) MSG_LEN.get(headers, 0L, (long) i);
    }

    /**
     * The size of the segments received datagram {@code i} is made of: with {@link BatchedUdpSocket.Options#udpGro},
     * the kernel may have joined several datagrams of one sender into it, each {@code segmentSize} bytes but the last
     * (which may be shorter); otherwise, and for a datagram that came alone, its {@link #length}. For a queued
     * message, the segment size it is sent with.
     */
    public int segmentSize(int i) {
        Objects.checkIndex(i, size);
        if (queued) {
            return segments[i] > 1 ? Short.toUnsignedInt(control.get(ValueLayout.JAVA_SHORT,
                    (long) i * Syscalls.CMSG_SPACE_INT + Syscalls.CMSG_DATA)) : length(i);
        }
        long room = (long) i * Syscalls.CMSG_SPACE_INT;
        if (gro && (long) MSG_CONTROLLEN.get(headers, 0L, (long) i) >= CMSG_LEN_INT
                && control.get(ValueLayout.JAVA_LONG, room) >= CMSG_LEN_INT
                && control.get(ValueLayout.JAVA_INT, room + 8) == Syscalls.SOL_UDP
                && control.get(ValueLayout.JAVA_INT, room + 12) == Syscalls.UDP_GRO) {
            int segment = control.get(ValueLayout.JAVA_INT, room + Syscalls.CMSG_DATA);
            if (segment > 0) {
                return Math.min(segment, length(i));
            }
        }
        return length(i);
    }

    /** The datagrams received datagram or queued message {@code i} holds: its segments. */
    public int segments(int i) {
        if (queued) {
            Objects.checkIndex(i, size);
            return segments[i];
        }
        int length = length(i);
        int segment = segmentSize(i);
        return length == 0 ? 1 : (length + segment - 1) / segment;
    }

    /** Every datagram queued now, counting each segment of a run; what {@link BatchedUdpSocket#send} will send. */
    public int datagrams() {
        return queued ? datagrams : size;
    }

    /** Whether received datagram {@code i} was longer than a slot and so was cut to {@link #slotSize()}. */
    public boolean truncated(int i) {
        Objects.checkIndex(i, size);
        return !queued && ((int) MSG_FLAGS.get(headers, 0L, (long) i) & Syscalls.MSG_TRUNC) != 0;
    }

    /** The bytes of datagram {@code i}, read-only, valid until the next receive into, or clear of, this batch. */
    public MemorySegment payload(int i) {
        return data.asSlice(offset(i), length(i)).asReadOnly();
    }

    /** Copies datagram {@code i} into {@code to} at {@code at}; returns its length. */
    public int copyPayload(int i, byte[] to, int at) {
        int length = length(i);
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset(i), to, at, length);
        return length;
    }

    /** Copies {@code length} bytes of datagram {@code i} from {@code from} on (a segment of it) into {@code to}. */
    public void copyPayload(int i, int from, int length, byte[] to, int at) {
        Objects.checkFromIndexSize(from, length, length(i));
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, offset(i) + from, to, at, length);
    }

    /** A copy of datagram {@code i}. */
    public byte[] payloadBytes(int i) {
        byte[] bytes = new byte[length(i)];
        copyPayload(i, bytes, 0);
        return bytes;
    }

    /** Who sent datagram {@code i}, or where queued datagram {@code i} goes. */
    public InetSocketAddress peer(int i) {
        Objects.checkIndex(i, size);
        return SocketAddresses.read(names, i * SocketAddresses.SLOT);
    }

    /** The port of {@link #peer}, without making an address object. */
    public int peerPort(int i) {
        Objects.checkIndex(i, size);
        return SocketAddresses.port(names, i * SocketAddresses.SLOT);
    }

    /**
     * Queues {@code payload} as a reply to the sender of datagram {@code i} of {@code received} (its address is
     * copied over, native to native). Returns false when this batch has no slot or room left: send it, then add again.
     *
     * @throws IllegalArgumentException when the payload is larger than this batch could ever hold
     */
    public boolean add(DatagramBatch received, int i, byte[] payload) {
        if (!replyTo(received, i, payload.length)) {
            return false;
        }
        MemorySegment.copy(payload, 0, data, ValueLayout.JAVA_BYTE, used, payload.length);
        queue(payload.length);
        return true;
    }

    /** As {@link #add(DatagramBatch, int, byte[])}, from native or heap memory. */
    public boolean add(DatagramBatch received, int i, MemorySegment payload) {
        if (!replyTo(received, i, payload.byteSize())) {
            return false;
        }
        MemorySegment.copy(payload, 0, data, used, payload.byteSize());
        queue(payload.byteSize());
        return true;
    }

    /** Queues {@code payload} for {@code peer}; false when no slot or room is left (see {@link #add(DatagramBatch, int, byte[])}). */
    public boolean add(InetSocketAddress peer, byte[] payload) {
        return add(peer, payload, 0, payload.length);
    }

    /** Queues {@code length} bytes of {@code payload} from {@code offset} for {@code peer}; as {@link #add(InetSocketAddress, byte[])}. */
    public boolean add(InetSocketAddress peer, byte[] payload, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, payload.length);
        SocketAddresses.requireWritable(family, peer);
        if (!reserve(length)) {
            return false;
        }
        int nameLength = SocketAddresses.write(names, size * SocketAddresses.SLOT, family, peer);
        MSG_NAMELEN.set(headers, 0L, (long) size, nameLength);
        MemorySegment.copy(payload, offset, data, ValueLayout.JAVA_BYTE, used, length);
        queue(length);
        return true;
    }

    /**
     * Queues {@code length} bytes of {@code payload} for {@code peer} as one segment of a run: it joins the last
     * queued message when that went to the same peer by {@code addSegment}, its segments are {@code length} bytes or
     * more and all equal so far, and the run stays within {@link #MAX_RUN_SEGMENTS} and {@link #MAX_RUN_BYTES};
     * otherwise it starts a new message. A run of several segments is sent as one message with {@code UDP_SEGMENT}
     * (Linux 4.18): the kernel cuts it into the separate datagrams the peer receives. A segment shorter than the
     * run's ends it. Returns false when there is no room left (send, then add again).
     */
    public boolean addSegment(InetSocketAddress peer, byte[] payload, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, payload.length);
        int last = size - 1;
        if (queued && last >= 0 && runSegmentSize > 0 && length > 0 && length <= runSegmentSize
                && segments[last] < MAX_RUN_SEGMENTS && runBytes + length <= MAX_RUN_BYTES
                && used + length <= data.byteSize() && (peer == runPeer || peer.equals(runPeer))) {
            MemorySegment.copy(payload, offset, data, ValueLayout.JAVA_BYTE, used, length);
            used += length;
            runBytes += length;
            IOV_LEN.set(iovecs, 0L, (long) last, runBytes);
            if (++segments[last] == 2) {
                long room = (long) last * Syscalls.CMSG_SPACE_INT;
                control.set(ValueLayout.JAVA_LONG, room, CMSG_LEN_SHORT);
                control.set(ValueLayout.JAVA_INT, room + 8, Syscalls.SOL_UDP);
                control.set(ValueLayout.JAVA_INT, room + 12, Syscalls.UDP_SEGMENT);
                control.set(ValueLayout.JAVA_SHORT, room + Syscalls.CMSG_DATA, (short) runSegmentSize);
                MSG_CONTROLLEN.set(headers, 0L, (long) last, (long) Syscalls.CMSG_SPACE_INT);
            }
            datagrams++;
            if (length < runSegmentSize) {
                runSegmentSize = 0; // only the last segment of a run may be shorter
            }
            return true;
        }
        if (!add(peer, payload, offset, length)) {
            return false;
        }
        runSegmentSize = length <= MAX_RUN_BYTES / 2 ? length : 0;
        runPeer = peer;
        runBytes = length;
        return true;
    }

    /** Empties the batch, ready for {@link #add} (or another receive). */
    public void clear() {
        size = 0;
        used = 0;
        datagrams = 0;
        runSegmentSize = 0;
        runPeer = null;
        queued = true;
    }

    private boolean reserve(long bytes) {
        if (bytes > data.byteSize()) {
            throw new IllegalArgumentException("a datagram of " + bytes + " bytes cannot fit a batch of "
                    + data.byteSize() + " bytes (" + capacity + " slots of " + slotSize + ")");
        }
        if (!queued) {
            if (size > 0) {
                throw new IllegalStateException("the batch holds received datagrams: clear() it before adding");
            }
            clear();
        }
        return size < capacity && used + bytes <= data.byteSize();
    }

    /** Takes a slot, if {@code bytes} fit, and copies the sender of {@code received[i]} into it as its peer. */
    private boolean replyTo(DatagramBatch received, int i, long bytes) {
        Objects.checkIndex(i, received.size);
        if (received.family != family) {
            throw new IllegalArgumentException("the datagram came to a socket of another address family");
        }
        if (!reserve(bytes)) {
            return false;
        }
        int length = (int) MSG_NAMELEN.get(received.headers, 0L, (long) i);
        MemorySegment.copy(received.names, i * SocketAddresses.SLOT, names, size * SocketAddresses.SLOT, length);
        MSG_NAMELEN.set(headers, 0L, (long) size, length);
        return true;
    }

    /** Points the next slot at the {@code length} bytes just copied to the free part of the data area. */
    private void queue(long length) {
        IOV_BASE.set(iovecs, 0L, (long) size, data.address() + used);
        IOV_LEN.set(iovecs, 0L, (long) size, length);
        MSG_CONTROLLEN.set(headers, 0L, (long) size, 0L);
        segments[size] = 1;
        used += length;
        size++;
        datagrams++;
        runSegmentSize = 0;
    }

    private long offset(int i) {
        Objects.checkIndex(i, size);
        return queued ? (long) IOV_BASE.get(iovecs, 0L, (long) i) - data.address() : (long) i * slotSize;
    }

    // For BatchedUdpSocket.

    BatchedUdpSocket owner() {
        return owner;
    }

    MemorySegment headers() {
        return headers;
    }

    /** The datagrams in queued messages {@code from} (inclusive) to {@code to} (exclusive). */
    int datagramsIn(int from, int to) {
        int sum = 0;
        for (int i = from; i < to; i++) {
            sum += segments[i];
        }
        return sum;
    }

    /**
     * Points queued run {@code i} at its segment {@code k} alone (no UDP_SEGMENT), for a send that goes datagram by
     * datagram, starting with {@code k = 0}; {@link #restoreRun} puts it back.
     */
    void pointAtSegment(int i, int k) {
        if (k == 0) {
            splitSize = segmentSize(i);
            splitBase = (long) IOV_BASE.get(iovecs, 0L, (long) i);
            splitLength = (long) IOV_LEN.get(iovecs, 0L, (long) i);
        }
        long from = (long) k * splitSize;
        IOV_BASE.set(iovecs, 0L, (long) i, splitBase + from);
        IOV_LEN.set(iovecs, 0L, (long) i, Math.min(splitSize, splitLength - from));
        MSG_CONTROLLEN.set(headers, 0L, (long) i, 0L);
    }

    /** Undoes {@link #pointAtSegment}. */
    void restoreRun(int i) {
        IOV_BASE.set(iovecs, 0L, (long) i, splitBase);
        IOV_LEN.set(iovecs, 0L, (long) i, splitLength);
        MSG_CONTROLLEN.set(headers, 0L, (long) i, (long) Syscalls.CMSG_SPACE_INT);
    }

    /** The headers from datagram {@code from} on, for a send that resumes after a refused datagram. */
    MemorySegment headersFrom(int from) {
        return from == 0 ? headers : headers.asSlice(from * MMSGHDR_SIZE);
    }

    /** Readies every slot to receive; a batch last used for sending gets its one-slot-per-datagram layout back. */
    void prepareReceive() {
        if (queued) {
            layOutForReceive();
        }
        long controlRoom = gro ? Syscalls.CMSG_SPACE_INT : 0L;
        for (int i = 0; i < capacity; i++) {
            MSG_NAMELEN.set(headers, 0L, (long) i, SocketAddresses.IPV6_LENGTH); // in: room; out: what was written
            MSG_CONTROLLEN.set(headers, 0L, (long) i, controlRoom);
        }
        size = 0;
    }

    void received(int count) {
        size = count;
    }

    private void layOutForReceive() {
        long base = data.address();
        for (int i = 0; i < capacity; i++) {
            IOV_BASE.set(iovecs, 0L, (long) i, base + (long) i * slotSize);
            IOV_LEN.set(iovecs, 0L, (long) i, (long) slotSize);
        }
        queued = false;
        used = 0;
        size = 0;
        datagrams = 0;
        runSegmentSize = 0;
        runPeer = null;
    }
}
