package io.isthmus.dns;

import io.isthmus.fastpath.BatchedUdpSocket;
import io.isthmus.fastpath.DatagramBatch;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batched path: one SO_REUSEPORT socket per thread on the same port, so the kernel spreads clients over the
 * threads with no lock between them; each thread takes up to {@value #BATCH} queries with one {@code recvmmsg},
 * answers them all, and sends the answers with one {@code sendmmsg}. An answer that must wait on an upstream
 * (forwarding) does not hold the batch up: it goes out alone, from the thread that waited, when it is ready.
 */
final class UdpBatchedPath implements UdpPath {
    private static final Logger log = LoggerFactory.getLogger(UdpBatchedPath.class);
    static final int BATCH = 32;
    /**
     * Bytes per received query: as much as a UDP datagram carries, as NSD and Knot size theirs, so that no query is
     * cut (a cut one would not parse: FORMERR). Queries are rarely over 512 bytes, and the kernel copies only what
     * arrived, so the cost is memory: {@value #BATCH} × 64 KB per batch, two batches per thread.
     * Answers are packed into the reply batch, so one may be as large as UDP allows.
     */
    static final int QUERY_SLOT = 65_535;
    /** Room for bursts: the kernel caps these at net.core.rmem_max / wmem_max. */
    private static final int RECEIVE_BUFFER = 4 << 20;
    private static final int SEND_BUFFER = 1 << 20;
    /** After a receive error other than close, so that one that persists does not spin a core. */
    private static final long ERROR_PAUSE_MILLIS = 10;

    private final List<BatchedUdpSocket> sockets;

    private UdpBatchedPath(List<BatchedUdpSocket> sockets) {
        this.sockets = sockets;
    }

    /** Binds {@code threads} sockets on {@code listen} (port 0: one free port for all), or none. */
    static UdpBatchedPath bind(InetSocketAddress listen, int threads) throws IOException {
        BatchedUdpSocket.Options options = BatchedUdpSocket.Options.defaults()
                .withBatch(BATCH, QUERY_SLOT)
                .withBuffers(RECEIVE_BUFFER, SEND_BUFFER);
        return new UdpBatchedPath(BatchedUdpSocket.openGroup(listen, threads, options));
    }

    @Override
    public InetSocketAddress localAddress() {
        return sockets.getFirst().localAddress();
    }

    @Override
    public int threads() {
        return sockets.size();
    }

    @Override
    public ServingPath describe() {
        return ServingPath.fast("recvmmsg(batch=" + BATCH + ", threads=" + sockets.size() + ", SO_REUSEPORT sockets=" + sockets.size() + ")");
    }

    @Override
    public void serve(int index, QueryProcessor processor) {
        BatchedUdpSocket socket = sockets.get(index);
        try {
            new Loop(socket, processor).run();
        } catch (IllegalStateException e) {
            // close() came before the batches were made
        }
    }

    /** One receive thread: its socket, its two batches, and the thread itself, to tell answers on time from late. */
    private static final class Loop {
        private final BatchedUdpSocket socket;
        private final QueryProcessor processor;
        private final DatagramBatch queries;
        private final DatagramBatch replies;
        private final Thread thread = Thread.currentThread();

        Loop(BatchedUdpSocket socket, QueryProcessor processor) {
            this.socket = socket;
            this.processor = processor;
            this.queries = socket.newBatch();
            this.replies = socket.newBatch();
        }

        /** Returns when the socket is closed; anything else is logged and the loop goes on. */
        void run() {
            while (true) {
                try {
                    answerOneBatch();
                } catch (ClosedChannelException e) {
                    return; // close() was called
                } catch (IOException e) {
                    log.warn("dns: udp receive failed on {}: {}", socket, e.getMessage());
                    if (!pause()) {
                        return;
                    }
                } catch (RuntimeException e) {
                    if (!socket.isOpen()) {
                        return; // close() freed the batches while we were reading one
                    }
                    // A thread that stopped here would leave every client the kernel hashes to its socket unanswered.
                    log.warn("dns: udp batch on {} failed; receiving on", socket, e);
                    replies.clear();
                }
            }
        }

        private void answerOneBatch() throws IOException {
            int received = socket.receive(queries);
            for (int i = 0; i < received; i++) {
                if (queries.truncated(i)) {
                    continue; // cannot happen with slots as large as a datagram; a cut query is not answered
                }
                InetSocketAddress client = queries.peer(i);
                int query = i;
                processor.process(queries.payloadBytes(i), Transport.UDP, client,
                        response -> reply(query, client, response));
            }
            send(socket, replies);
        }

        /**
         * An answer ready while {@code process} runs on this thread joins the batch of replies; one that waited on
         * an upstream comes later from another thread and goes out on its own.
         */
        private void reply(int query, InetSocketAddress client, byte[] response) {
            try {
                if (Thread.currentThread() != thread) {
                    if (!socket.sendOne(client, response)) {
                        log.debug("dns: the kernel refused a late udp answer to {}", client);
                    }
                    return;
                }
                if (!replies.add(queries, query, response)) {
                    send(socket, replies); // full: out with these, then queue this one
                    replies.add(queries, query, response);
                }
            } catch (ClosedChannelException e) {
                // closing: the answer is dropped, as a datagram may be
            } catch (IOException e) {
                log.debug("dns: udp answer to {} failed: {}", client, e.getMessage());
            }
        }
    }

    private static void send(BatchedUdpSocket socket, DatagramBatch replies) throws ClosedChannelException {
        int queued = replies.size();
        try {
            int sent = socket.send(replies);
            if (sent < queued) {
                // One client's trouble (an unreachable address, say) must not stop the listener.
                log.debug("dns: the kernel refused {} of {} udp answers", queued - sent, queued);
            }
        } catch (ClosedChannelException e) {
            throw e;
        } catch (IOException e) {
            log.warn("dns: udp send of {} answers failed on {}: {}", queued, socket, e.getMessage());
        }
    }

    /** False when interrupted: then the thread is asked to stop. */
    private static boolean pause() {
        try {
            Thread.sleep(ERROR_PAUSE_MILLIS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        sockets.forEach(BatchedUdpSocket::close); // each wakes its thread's receive
    }
}
