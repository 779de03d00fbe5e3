package io.isthmus.tunnel;

import io.isthmus.fastpath.GsoSegmenter;
import io.isthmus.fastpath.TcpCoalescer;
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
 * partial checksum; fastpath's {@link GsoSegmenter} cuts them into complete MTU-sized packets (checksums finished)
 * and each {@link #read} hands over the segments of one burst, which the engine seals and sends together.
 * Writing: consecutive TCP segments of one flow from one received batch are joined by fastpath's
 * {@link TcpCoalescer} and written as one TSO packet at {@link #flush()} (or when it is full); a burst costs one TUN
 * system call each way instead of one per segment. What the segmenter cannot cut (UFO, IPv6 extension headers
 * before TCP, a malformed vnet header) is handed over whole, so the engine drops and counts it.
 *
 * <p>Inner TCP checksums are not carried through the tunnel (the AEAD tag guards the bytes): reading leaves them
 * partial instead of summing every payload byte, and writing gives every plain TCP packet a partial checksum with
 * {@code NEEDS_CSUM}, which the kernel trusts, or finishes where the packet leaves through a device that cannot.
 */
public final class OffloadTunPacketQueue implements PacketQueue {
    /** The offloads to open the device with. */
    public static final EnumSet<TunDevice.Offload> OFFLOADS =
            EnumSet.of(TunDevice.Offload.CHECKSUM, TunDevice.Offload.TSO4, TunDevice.Offload.TSO6);

    private static final int VNET = TunDevice.VNET_HEADER_SIZE;
    private static final int BUFFER = VNET + 65_536;
    /** Super-packets held by the coalescer between flushes (64 KiB of native memory each). */
    private static final int COALESCER_SLOTS = 16;

    private final TunQueue queue;
    private final MemorySegment readBuffer;
    private final byte[] segments = new byte[BUFFER];
    private final MemorySegment segmentsView = MemorySegment.ofArray(segments);
    private final GsoSegmenter segmenter = new GsoSegmenter(false); // TCP checksums are not carried: see the README
    private final TcpCoalescer coalescer;
    private final GsoSegmenter.PacketSink toReader = this::handOver;
    private Packets reader;
    /** The engine writes from one array; its segment view is made once. */
    private byte[] written;
    private MemorySegment writtenView;
    /** Packets the kernel refused since the last flush. */
    private int refused;

    private OffloadTunPacketQueue(TunQueue queue, Arena arena) {
        if (queue.device().headerSize() != VNET || !queue.device().options().offloads().containsAll(OFFLOADS)) {
            throw new IllegalArgumentException("tun " + queue.device().name() + " must be opened with the vnet header"
                    + " and offloads " + OFFLOADS + ", not " + queue.device().options());
        }
        this.queue = queue;
        this.readBuffer = arena.allocate(BUFFER, 64);
        this.coalescer = new TcpCoalescer(arena, COALESCER_SLOTS, true);
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
    public int read(byte[] buffer, long timeoutNanos, Packets packets) throws IOException {
        int read = queue.read(readBuffer, 0, BUFFER, timeoutNanos);
        if (read == 0) {
            return 0;
        }
        reader = packets;
        try {
            int count = segmenter.segment(readBuffer, 0, read, segmentsView, 0, toReader);
            if (count > 0) {
                return count;
            }
        } finally {
            reader = null;
        }
        int length = Math.max(0, read - VNET); // not cut: handed over whole, for the engine to count
        MemorySegment.copy(readBuffer, ValueLayout.JAVA_BYTE, VNET, segments, 0, length);
        packets.accept(segments, 0, length);
        return 1;
    }

    private void handOver(MemorySegment buffer, long offset, int length) throws IOException {
        reader.accept(segments, (int) offset, length);
    }

    @Override
    public boolean write(byte[] from, int at, int length) throws IOException {
        if (from != written) {
            written = from;
            writtenView = MemorySegment.ofArray(from);
        }
        if (!coalescer.add(writtenView, at, length)) {
            refused += coalescer.flush(queue);
            coalescer.add(writtenView, at, length);
        }
        return true;
    }

    @Override
    public int flush() throws IOException {
        refused += coalescer.flush(queue);
        int count = refused;
        refused = 0;
        return count;
    }
}
