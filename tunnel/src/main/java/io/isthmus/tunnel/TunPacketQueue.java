package io.isthmus.tunnel;

import io.isthmus.fastpath.TunDevice;
import io.isthmus.fastpath.TunQueue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link TunQueue} as the engine's {@link PacketQueue}: packets are copied between the queue's native buffers
 * and the engine's heap arrays (the JDK ciphers run fastest on arrays). One system call per packet each way; the
 * engine gathers what is already queued (reads with timeout 0) into one {@code sendmmsg}. Inner TCP checksums are
 * not carried through the tunnel, so each plain TCP packet written gets its checksum computed here.
 */
public final class TunPacketQueue implements PacketQueue {
    private static final int BUFFER = 65_536;

    private final TunQueue queue;
    private final MemorySegment readBuffer;
    private final MemorySegment writeBuffer;

    private TunPacketQueue(TunQueue queue, Arena arena) {
        if (queue.device().headerSize() != 0) {
            throw new IllegalArgumentException("tun " + queue.device().name()
                    + " has the vnet header on; the tunnel reads plain packets");
        }
        this.queue = queue;
        this.readBuffer = arena.allocate(BUFFER, 64);
        this.writeBuffer = arena.allocate(BUFFER, 64);
    }

    /** One per queue of {@code device}; their buffers are freed by the garbage collector after the device closes. */
    public static List<PacketQueue> of(TunDevice device) {
        List<PacketQueue> queues = new ArrayList<>();
        for (TunQueue queue : device.queues()) {
            queues.add(new TunPacketQueue(queue, Arena.ofAuto()));
        }
        return List.copyOf(queues);
    }

    @Override
    public int read(byte[] buffer, long timeoutNanos, Packets packets) throws IOException {
        int length = queue.read(readBuffer, 0, BUFFER, timeoutNanos);
        if (length == 0) {
            return 0;
        }
        MemorySegment.copy(readBuffer, ValueLayout.JAVA_BYTE, 0, buffer, 0, Math.min(length, buffer.length));
        packets.accept(buffer, 0, length);
        return 1;
    }

    @Override
    public boolean write(byte[] from, int at, int length) throws IOException {
        Checksums.finishTcp(from, at, length); // not carried through the tunnel: a plain TUN needs it complete
        MemorySegment.copy(from, at, writeBuffer, ValueLayout.JAVA_BYTE, 0, length);
        return queue.write(writeBuffer, 0, length);
    }
}
