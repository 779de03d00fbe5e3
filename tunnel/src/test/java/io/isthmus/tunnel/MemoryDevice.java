package io.isthmus.tunnel;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An in-process stand-in for a multi-queue TUN device: packets the "pods" send are {@link #inject injected} and
 * spread over the queues by flow hash, as the kernel does; what the engine writes lands in {@link #delivered()}.
 */
final class MemoryDevice {
    private final List<BlockingQueue<byte[]>> toEngine = new ArrayList<>();
    private final BlockingQueue<byte[]> delivered = new LinkedBlockingQueue<>();
    private final List<PacketQueue> queues = new ArrayList<>();

    MemoryDevice(int queueCount) {
        for (int i = 0; i < queueCount; i++) {
            BlockingQueue<byte[]> in = new LinkedBlockingQueue<>();
            toEngine.add(in);
            queues.add(new PacketQueue() {
                @Override
                public int read(byte[] buffer, long timeoutNanos, Packets packets) throws java.io.IOException {
                    byte[] packet;
                    try {
                        packet = timeoutNanos == 0 ? in.poll() : in.poll(timeoutNanos, TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.InterruptedIOException();
                    }
                    if (packet == null) {
                        return 0;
                    }
                    System.arraycopy(packet, 0, buffer, 0, Math.min(buffer.length, packet.length));
                    packets.accept(buffer, 0, packet.length);
                    return 1;
                }

                @Override
                public boolean write(byte[] from, int at, int length) {
                    byte[] copy = new byte[length];
                    System.arraycopy(from, at, copy, 0, length);
                    return delivered.add(copy);
                }
            });
        }
    }

    List<PacketQueue> queues() {
        return queues;
    }

    void inject(byte[] packet) {
        int hash = InnerPacket.flowHash(packet, 0, packet.length);
        toEngine.get(Math.floorMod(hash, toEngine.size())).add(packet);
    }

    /** The next packet the engine delivered, or null after {@code millis}. */
    byte[] take(long millis) throws InterruptedException {
        return delivered.poll(millis, TimeUnit.MILLISECONDS);
    }

    int pendingDeliveries() {
        return delivered.size();
    }
}
