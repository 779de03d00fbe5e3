package io.isthmus.tunnel;

import java.io.IOException;

/**
 * One queue of the local packet device (a TUN queue): the engine reads the packets local pods send to remote
 * clusters from it, and writes the packets that came through the tunnel to it. Each engine worker owns one queue;
 * a multi-queue device spreads flows over its queues by a flow hash, so one flow stays on one worker, in order.
 */
public interface PacketQueue {
    /** Takes the packets a {@link #read} brings, one at a time. */
    @FunctionalInterface
    interface Packets {
        /**
         * One IP packet of {@code length} bytes at {@code packet[at]}, valid only during the call. A {@code length}
         * larger than what is left of the array means the packet was longer than the reader's buffer (only its
         * start is there): the engine drops it as oversized.
         */
        void accept(byte[] packet, int at, int length) throws IOException;
    }

    /**
     * Reads what the device has next — one packet, or from a device with TCP segmentation offload the segments of
     * one burst of up to 64 KiB — and hands each packet to {@code packets} in order. Waits up to {@code timeoutNanos}
     * for something (0: does not wait). {@code buffer} is the caller's, for a queue that needs one to read a packet
     * into; a queue may use its own. Returns how many packets went to {@code packets}, 0 when nothing came.
     */
    int read(byte[] buffer, long timeoutNanos, Packets packets) throws IOException;

    /**
     * Writes one IP packet of {@code length} bytes at {@code from[at]} to the local side; false when the local side
     * refused this packet alone (the engine counts it as dropped and goes on).
     */
    boolean write(byte[] from, int at, int length) throws IOException;

    /**
     * Called after each received batch: a queue that holds written packets back (to join them) writes them now.
     * Returns how many packets the local side refused since the last flush.
     */
    default int flush() throws IOException {
        return 0;
    }
}
