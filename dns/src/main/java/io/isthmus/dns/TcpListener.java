package io.isthmus.dns;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS over TCP (RFC 7766): one accepting thread, one virtual thread per connection. Each message is framed by
 * a two-byte length; a client may send several queries without waiting (pipelining) and gets the answers in
 * order. A connection quiet for the idle timeout is closed.
 */
final class TcpListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TcpListener.class);
    /** Bounds what idle or hostile clients can hold; past it new connections are closed at once. */
    static final int MAX_CONNECTIONS = 512;
    private static final Duration ACCEPT_BACKOFF = Duration.ofMillis(100);

    private final ServerSocketChannel server;
    private final QueryProcessor processor;
    private final int idleTimeoutMillis;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final ConcurrentHashMap<SocketChannel, Thread> connections = new ConcurrentHashMap<>();
    private final Thread.Builder connectionThreads;
    private final Thread acceptor;
    private volatile boolean closed;

    /** Starts the acceptor, named {@code dns-tcp-PORT-accept}; connection threads are {@code dns-tcp-PORT-conn}. */
    TcpListener(ServerSocketChannel server, QueryProcessor processor, Duration idleTimeout, int port) {
        this.server = server;
        this.processor = processor;
        this.idleTimeoutMillis = Math.toIntExact(idleTimeout.toMillis());
        this.connectionThreads = Thread.ofVirtual().name("dns-tcp-" + port + "-conn");
        this.acceptor = Thread.ofPlatform().name("dns-tcp-" + port + "-accept").daemon(true).start(this::acceptLoop);
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                // Out of file descriptors, say: pause rather than spin on an error that will repeat at once.
                log.warn("dns: tcp accept failed: {}", e.toString());
                try {
                    Thread.sleep(ACCEPT_BACKOFF);
                } catch (InterruptedException interrupted) {
                    return;
                }
                continue;
            }
            if (!slots.tryAcquire()) {
                log.debug("dns: {} tcp connections open, closing a new one", MAX_CONNECTIONS);
                closeQuietly(connection);
                continue;
            }
            Thread thread = connectionThreads.unstarted(() -> serve(connection));
            connections.put(connection, thread);
            thread.start();
            if (closed) {
                closeQuietly(connection); // close() is under way and waits for this loop: let nothing new start
            }
        }
    }

    private void serve(SocketChannel connection) {
        InetSocketAddress client = null;
        try (connection) {
            client = (InetSocketAddress) connection.getRemoteAddress();
            Socket socket = connection.socket();
            socket.setSoTimeout(idleTimeoutMillis); // applies to each read of the stream below
            socket.setTcpNoDelay(true);
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            while (!closed) {
                int length = in.readUnsignedShort();
                byte[] wire = in.readNBytes(length);
                if (wire.length < length) {
                    return; // the client went away mid-message
                }
                Optional<byte[]> response = processor.process(wire, Transport.TCP, client);
                if (response.isPresent()) {
                    write(connection, response.get());
                }
            }
        } catch (EOFException | SocketTimeoutException | ClosedChannelException e) {
            // The client is done, idle too long, or we are closing: all normal ends of a connection.
        } catch (IOException | RuntimeException e) {
            log.debug("dns: tcp connection from {} failed: {}", client, e.toString());
        } finally {
            connections.remove(connection);
            slots.release();
        }
    }

    private static void write(SocketChannel connection, byte[] message) throws IOException {
        ByteBuffer framed = ByteBuffer.allocate(2 + message.length);
        framed.putShort((short) message.length).put(message).flip();
        while (framed.hasRemaining()) {
            connection.write(framed);
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("dns: closing tcp connection: {}", e.toString());
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close(); // wakes the acceptor
        } catch (IOException e) {
            log.debug("dns: closing tcp listener: {}", e.toString());
        }
        Joiner.join(List.of(acceptor));
        connections.keySet().forEach(TcpListener::closeQuietly);
        Joiner.join(connections.values());
    }
}
