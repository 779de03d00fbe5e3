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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * The gateway's end of the CNI plugin: a unix socket (by default {@value #DEFAULT_SOCKET}) where each
 * {@code isthmus-ipam} process opens one connection per CNI call. Each connection runs on its own virtual thread
 * and is closed after its call, or when it outlives its deadline (a stuck plugin cannot hold a thread forever).
 *
 * <p>Every call is checked against {@link CniCallers} (the kernel's record of the connecting process): others get
 * CNI error 106 and are counted ({@link #refused(Refusal)}).
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
    private final CniCallers callers;
    private final java.util.Map<Refusal, LongAdder> refusals = new java.util.EnumMap<>(Refusal.class);
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService deadlines;
    private final Thread acceptor;
    private volatile boolean closed;

    /** Why a call was refused, for the metric. */
    public enum Refusal {
        /** The connecting process is neither uid 0 nor of the allowed group. */
        CALLER,
        /** The attachment's lease belongs to another container or pod (code 102). */
        NOT_OWNER,
        /** The claimed pod is not the one the authority (the Kubernetes API) knows (code 105). */
        POD_NOT_CONFIRMED
    }

    private CniServer(Path socket, ServerSocketChannel server, CniHandler handler, Duration connectionDeadline,
                      CniCallers callers) {
        this.socket = socket;
        this.callers = callers;
        for (Refusal refusal : Refusal.values()) {
            refusals.put(refusal, new LongAdder());
        }
        this.server = server;
        this.handler = handler;
        this.connectionDeadline = connectionDeadline;
        this.deadlines = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("cni-deadlines").factory());
        this.acceptor = Thread.ofVirtual().name("cni-accept " + socket).unstarted(this::acceptLoop);
    }

    /** Listens on {@code socket} with the default backend timeout, for uid 0 only. */
    public static CniServer start(Path socket, CniBackend backend) throws IOException {
        return start(socket, backend, DEFAULT_BACKEND_TIMEOUT);
    }

    /** For uid 0 only. */
    public static CniServer start(Path socket, CniBackend backend, Duration backendTimeout) throws IOException {
        return start(socket, backend, backendTimeout, CniCallers.rootOnly());
    }

    /**
     * Creates the socket's directory when missing, replaces a stale socket file (one nobody listens on), and starts
     * accepting. Refuses when another process serves the socket or the path is not a socket. The socket file gets mode
     * 0660 and, when {@code callers} names a group, that group.
     */
    public static CniServer start(Path socket, CniBackend backend, Duration backendTimeout, CniCallers callers)
            throws IOException {
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
            if (callers.group().isPresent()) {
                Files.getFileAttributeView(absolute, java.nio.file.attribute.PosixFileAttributeView.class)
                        .setGroup(callers.group().get());
            }
        } catch (IOException e) {
            server.close();
            throw new IOException("cannot listen on " + absolute + " for the CNI plugin: " + e.getMessage(), e);
        }
        // The plugin waits 30 s per read; a connection gets the two backend steps of an ADD plus that margin.
        Duration deadline = backendTimeout.multipliedBy(2).plusSeconds(30);
        CniServer cniServer = new CniServer(absolute, server, new CniHandler(backend, backendTimeout), deadline, callers);
        cniServer.acceptor.start();
        LOG.log(System.Logger.Level.INFO, "CNI endpoint listening on {0} for {1}", absolute, callers.describe());
        return cniServer;
    }

    public Path socket() {
        return socket;
    }

    /** How many calls were refused for {@code reason} since start. */
    public long refused(Refusal reason) {
        return refusals.get(reason).sum();
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
                // read first: a caller that gets its answer before it finished writing would see a reset instead
                Optional<String> refusal = refusalOf(connection);
                if (refusal.isPresent()) {
                    refusals.get(Refusal.CALLER).increment();
                    LOG.log(System.Logger.Level.WARNING, "CNI endpoint: refused " + request.op() + " "
                            + request.containerId() + ": " + refusal.get());
                    String version = NetworkConfig.versionText(request.config());
                    send(out, Reply.done(CniErrorCode.CALLER_REFUSED.code(),
                            CniResults.error(version, CniErrorCode.CALLER_REFUSED, refusal.get()), refusal.get()));
                    return;
                }
                switch (handler.handle(request)) {
                    case Finished finished -> send(out, counted(finished.reply()));
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

    /** Empty when the peer may call; else why not, in words for the operator. Fails closed. */
    private Optional<String> refusalOf(SocketChannel connection) {
        UnixDomainPrincipal peer;
        try {
            peer = connection.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.of("the gateway cannot read the caller's credentials (SO_PEERCRED): " + e.getMessage());
        }
        if (callers.permits(peer.user(), peer.group())) {
            return Optional.empty();
        }
        return Optional.of("the caller (user " + peer.user().getName() + ", group " + peer.group().getName()
                + ") may not use this CNI endpoint: it serves " + callers.describe()
                + " (isthmus.ipam.cni-caller-group names the group)");
    }

    private Reply counted(Reply reply) {
        if (reply.exitCode() == CniErrorCode.NOT_OWNER.code()) {
            refusals.get(Refusal.NOT_OWNER).increment();
        } else if (reply.exitCode() == CniErrorCode.POD_NOT_CONFIRMED.code()) {
            refusals.get(Refusal.POD_NOT_CONFIRMED).increment();
        }
        return reply;
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
        send(out, counted(handler.commit(reserved)));
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
