package io.isthmus.tunnel;

import io.isthmus.fastpath.TunDevice;
import io.isthmus.fastpath.TunQueue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;

/**
 * A {@link TunQueue} with the vnet header and TCP segmentation offload on, as the engine's {@link PacketQueue}.
 *
 * <p>Reading: the kernel hands over TCP packets of up to 64 KiB with a segment size (TSO) and packets with a
 * partial checksum; this queue finishes the checksums and returns the segments one by one, the later ones from
 * {@code read} with timeout 0, so the engine seals a whole burst and sends it with one {@code sendmmsg}.
 * Writing: consecutive TCP segments of one flow from one received batch are joined by {@link TcpCoalescer} and
 * written as one TSO packet at {@link #flush()}; a burst costs one TUN system call each way instead of one per
 * segment.
 */
public final class OffloadTunPacketQueue implements PacketQueue {
    /** The offloads to open the device with. */
    public static final EnumSet<TunDevice.Offload> OFFLOADS =
            EnumSet.of(TunDevice.Offload.CHECKSUM, TunDevice.Offload.TSO4, TunDevice.Offload.TSO6);

    private static final int VNET = TunDevice.VNET_HEADER_SIZE;
    private static final int BUFFER = VNET + 65_536;
    private static final byte NEEDS_CSUM = 1;
    private static final int GSO_NONE = 0;
    private static final int GSO_TCPV4 = 1;
    private static final int GSO_TCPV6 = 4;

    private final TunQueue queue;
    private final MemorySegment readBuffer;
    private final MemorySegment writeBuffer;
    private final byte[] superPacket = new byte[BUFFER];
    private final TcpCoalescer coalescer = new TcpCoalescer();
    private final TcpCoalescer.Sink sink = this::writeRaw;
    // The TSO packet being handed out segment by segment.
    private int pendingVersion;
    private int pendingHeader;
    private int pendingMss;
    private int nextSegment;
    private int segmentCount;
    /** Packets the kernel refused since the last flush. */
    private int refused;

    private OffloadTunPacketQueue(TunQueue queue, Arena arena) {
        if (queue.device().headerSize() != VNET || !queue.device().options().offloads().containsAll(OFFLOADS)) {
            throw new IllegalArgumentException("tun " + queue.device().name() + " must be opened with the vnet header"
                    + " and offloads " + OFFLOADS + ", not " + queue.device().options());
        }
        this.queue = queue;
        this.readBuffer = arena.allocate(BUFFER, 64);
        this.writeBuffer = arena.allocate(BUFFER, 64);
    }

    public static TunDevice.Options deviceOptions(int queues) {
        return TunDevice.Options.defaults().withQueues(queues).withVnetHeader(OFFLOADS);
    }

    /** One per queue of {@code device} (opened with {@link #deviceOptions}). */
    public static List<PacketQueue> of(TunDevice device) {
        List<PacketQueue> queues = new ArrayList<>();
        for (TunQueue queue : device.queues()) {
            queues.add(new OffloadTunPacketQueue(queue, Arena.ofAuto()));
        }
        return List.copyOf(queues);
    }

    @Override
    public int read(byte[] to, int at, int capacity, long timeoutNanos) throws IOException {
        while (true) {
            if (nextSegment < segmentCount) {
                return nextSegment(to, at, capacity);
            }
            int read = queue.read(readBuffer, 0, BUFFER, timeoutNanos);
            if (read == 0) {
                return 0;
            }
            int length = read - VNET;
            if (length <= 0) {
                continue;
            }
            MemorySegment.copy(readBuffer, ValueLayout.JAVA_BYTE, VNET, superPacket, 0, length);
            int flags = readBuffer.get(ValueLayout.JAVA_BYTE, 0);
            int gsoType = readBuffer.get(ValueLayout.JAVA_BYTE, 1) & 0x7F; // without the ECN bit
            int gsoSize = little16(4);
            int version = InnerPacket.version(superPacket, 0, length);
            if (gsoType == GSO_NONE || version == 0) {
                if ((flags & NEEDS_CSUM) != 0 && little16(6) + little16(8) + 2 <= length) {
                    TcpOffload.finishChecksum(superPacket, 0, length, little16(6), little16(8));
                }
                System.arraycopy(superPacket, 0, to, at, Math.min(length, capacity));
                return length;
            }
            int header = TcpOffload.headerLength(superPacket, 0, length, version);
            if ((gsoType != GSO_TCPV4 && gsoType != GSO_TCPV6) || header < 0 || gsoSize <= 0
                    || TcpOffload.ipLength(superPacket, 0, version) > length) {
                // Not a TSO packet we can cut: hand it over whole; the engine drops and counts what it cannot send.
                System.arraycopy(superPacket, 0, to, at, Math.min(length, capacity));
                return Math.max(length, capacity + 1);
            }
            pendingVersion = version;
            pendingHeader = header;
            pendingMss = gsoSize;
            nextSegment = 0;
            segmentCount = TcpOffload.segments(superPacket, 0, version, header, gsoSize);
        }
    }

    private int nextSegment(byte[] to, int at, int capacity) {
        if (pendingHeader + pendingMss > capacity) {
            nextSegment = segmentCount; // segments larger than the tunnel MTU: report one oversized packet
            return capacity + 1;
        }
        return TcpOffload.segment(superPacket, 0, pendingVersion, pendingHeader, pendingMss, nextSegment++, to, at);
    }

    @Override
    public boolean write(byte[] from, int at, int length) throws IOException {
        refused += coalescer.add(from, at, length, sink);
        return true;
    }

    @Override
    public int flush() throws IOException {
        refused += coalescer.flush(sink);
        int count = refused;
        refused = 0;
        return count;
    }

    private boolean writeRaw(byte[] b, int at, int length) throws IOException {
        MemorySegment.copy(b, at, writeBuffer, ValueLayout.JAVA_BYTE, 0, length);
        return queue.write(writeBuffer, 0, length);
    }

    private int little16(int offset) {
        return (readBuffer.get(ValueLayout.JAVA_BYTE, offset) & 0xFF)
                | (readBuffer.get(ValueLayout.JAVA_BYTE, offset + 1) & 0xFF) << 8;
    }
}
