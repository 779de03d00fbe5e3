package io.isthmus.dns;

import java.net.InetSocketAddress;

/**
 * How the UDP side of the server moves datagrams, chosen once at start by {@link UdpListener#bind}: batched system
 * calls on one SO_REUSEPORT socket per thread ({@link UdpBatchedPath}), or one NIO channel that every thread shares
 * ({@link UdpNioPath}). Either way a thread answers what it received before it receives again, which keeps memory
 * bounded under a flood; it is right while every handler answers from memory.
 */
sealed interface UdpPath extends AutoCloseable permits UdpBatchedPath, UdpNioPath {

    /** The address and port bound. */
    InetSocketAddress localAddress();

    /** How many receive threads {@link #serve} expects, indexed from 0. */
    int threads();

    /**
     * What the path is, for logs and {@code /api/v1/status}: {@code recvmmsg(batch=32, threads=2, SO_REUSEPORT
     * sockets=2)}, or {@code nio(threads=2)} and why the batched path is not used.
     */
    ServingPath describe();

    /** The loop of receive thread {@code index}: answers with {@code processor} until {@link #close()}, then returns. */
    void serve(int index, QueryProcessor processor);

    /** Closes every socket, which makes every {@link #serve} loop return soon after. */
    @Override
    void close();
}
