package io.isthmus.ipam.cni;

import io.isthmus.ipam.cni.CniHandler.Finished;
import io.isthmus.ipam.cni.CniHandler.Reserved;
import io.isthmus.ipam.cni.CniWire.ProtocolException;
import io.isthmus.ipam.cni.CniWire.Reply;
import io.isthmus.ipam.cni.CniWire.Request;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's end of the CNI plugin: a unix socket (by default {@value #DEFAULT_SOCKET}) where each
 * {@code isthmus-ipam} process opens one connection per CNI call. Each connection runs on its own virtual thread
 * and is closed after its call, or when it outlives its deadline (a stuck plugin cannot hold a thread forever).
 *
 * <p>{@link #close()} stops accepting, closes open connections (an ADD not yet committed is never committed, and its
 * reservation expires in the backend) and removes the socket file.
 */
public final class CniServer implements AutoCloseable {
    public static final String DEFAULT_SOCKET = "/run/isthmus/ipam.sock";
    /** How long the backend may take for one step (reserve, commit, release, check) before the call gets code 11. */
    public static final Duration DEFAULT_BACKEND_TIMEOUT = Duration.ofSeconds(10);

    private static final System.Logger LOG = System.getLogger(CniServer.class.getName());
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path socket;
    private final ServerSocketChannel server;
    private final CniHandler handler;
    private final Duration connectionDeadline;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService deadlines;
    private final Thread acceptor;
    private volatile boolean closed;

    private CniServer(Path socket, ServerSocketChannel server, CniHandler handler, Duration connectionDeadline) {
        this.socket = socket;
        this.server = server;
        this.handler = handler;
        this.connectionDeadline = connectionDeadline;
        this.deadlines = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("cni-deadlines").factory());
        this.acceptor = Thread.ofVirtual().name("cni-accept " + socket).unstarted(this::acceptLoop);
    }

    /** Listens on {@code socket} with the default backend timeout. */
    public static CniServer start(Path socket, CniBackend backend) throws IOException {
        return start(socket, backend, DEFAULT_BACKEND_TIMEOUT);
    }

    /**
     * Creates the socket's directory when missing, replaces a stale socket file (one nobody listens on), and starts
     * accepting. Refuses when another process serves the socket or the path is not a socket.
     */
    public static CniServer start(Path socket, CniBackend backend, Duration backendTimeout) throws IOException {
        Path absolute = socket.toAbsolutePath();
        Path directory = absolute.getParent();
        if (directory != null) {
            Files.createDirectories(directory);
        }
        removeStaleSocket(absolute);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(absolute));
            // The container runtime runs plugins as root; nobody else has business here.
            Files.setPosixFilePermissions(absolute, PosixFilePermissions.fromString("rw-rw----"));
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + absolute + " for the CNI plugin: " + e.getMessage(), e);
        }
        // The plugin waits 30 s per read; a connection gets the two backend steps of an ADD plus that margin.
        Duration deadline = backendTimeout.multipliedBy(2).plusSeconds(30);
        CniServer cniServer = new CniServer(absolute, server, new CniHandler(backend, backendTimeout), deadline);
        cniServer.acceptor.start();
        LOG.log(System.Logger.Level.INFO, "CNI endpoint listening on {0}", absolute);
        return cniServer;
    }

    public Path socket() {
        return socket;
    }

    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; move it away or choose another socket path");
        }
        boolean served;
        try {
            SocketChannel.open(UnixDomainSocketAddress.of(path)).close();
            served = true;
        } catch (IOException refused) {
            served = false;
        }
        if (served) {
            throw new IOException("another process already serves " + path + "; stop it or choose another socket path");
        }
        Files.deleteIfExists(path); // nobody listens: left over from a process that died
        LOG.log(System.Logger.Level.INFO, "removed the stale socket {0}", path);
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel connection;
            try {
                connection = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "CNI endpoint: accept failed: " + e.getMessage());
                continue;
            }
            connections.add(connection);
            if (closed) { // close() ran between accept and add; it will not see this one
                closeQuietly(connection);
                return;
            }
            Thread.ofVirtual().name("cni-call").start(() -> serve(connection));
        }
    }

    private void serve(SocketChannel connection) {
        var deadline = deadlines.schedule(() -> closeQuietly(connection), connectionDeadline.toMillis(), TimeUnit.MILLISECONDS);
        try (connection) {
            InputStream in = Channels.newInputStream(connection);
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(connection));
            try {
                Request request = CniWire.readRequest(in);
                if (request == null) {
                    return;
                }
                switch (handler.handle(request)) {
                    case Finished finished -> send(out, finished.reply());
                    case Reserved reserved -> commitWhenAsked(in, out, reserved);
                }
            } catch (ProtocolException e) {
                LOG.log(System.Logger.Level.WARNING, "CNI endpoint: bad frame from the plugin: " + e.getMessage());
                send(out, Reply.done(CniErrorCode.IO_FAILURE.code(), CniResults.error(NetworkConfig.CniVersion.V1_1_0.text,
                        CniErrorCode.IO_FAILURE, "the gateway could not read the request: " + e.getMessage()), e.getMessage()));
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.log(System.Logger.Level.DEBUG, "CNI endpoint: connection ended: " + e.getMessage());
            }
        } finally {
            deadline.cancel(false);
            connections.remove(connection);
        }
    }

    private void commitWhenAsked(InputStream in, OutputStream out, Reserved reserved) throws IOException {
        CniBackend.Reservation reservation = reserved.reservation();
        send(out, Reply.reserved("reserved " + reservation.addressing().ips().stream().map(CniResults::addressText).toList()
                + " in pool " + reservation.pool() + " for " + reservation.attachment().containerId() + "/"
                + reservation.attachment().ifname()));
        Request next = CniWire.readRequest(in);
        if (next == null || next.op() != CniWire.Op.COMMIT) {
            // Not committed: the reservation expires in the backend by itself.
            LOG.log(System.Logger.Level.INFO, "CNI endpoint: the plugin left reservation {0} of {1} uncommitted",
                    reservation.id(), reservation.attachment());
            if (next != null) {
                throw new ProtocolException("expected COMMIT after a reservation, got " + next.op());
            }
            return;
        }
        send(out, handler.commit(reserved));
    }

    private static void send(OutputStream out, Reply reply) throws IOException {
        LOG.log(System.Logger.Level.DEBUG, reply.log());
        CniWire.writeReply(out, reply);
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        server.close();
        for (SocketChannel connection : connections) {
            closeQuietly(connection);
        }
        deadlines.shutdownNow();
        try {
            acceptor.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(socket);
        LOG.log(System.Logger.Level.INFO, "CNI endpoint on {0} closed", socket);
    }
}
