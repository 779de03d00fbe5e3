package io.isthmus.tunnel;

import java.io.IOException;

/**
 * One queue of the local packet device (a TUN queue): the engine reads the packets local pods send to remote
 * clusters from it, and writes the packets that came through the tunnel to it. Each engine worker owns one queue;
 * a multi-queue device spreads flows over its queues by a flow hash, so one flow stays on one worker, in order.
 */
public interface PacketQueue {
    /**
     * Reads one IP packet into {@code to[at..at+capacity)}: waits up to {@code timeoutNanos} for one (0: does not
     * wait). Returns its length, or 0 when none came. A packet longer than {@code capacity} returns a length larger
     * than {@code capacity} (only the first {@code capacity} bytes are in the buffer).
     */
    int read(byte[] to, int at, int capacity, long timeoutNanos) throws IOException;

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
