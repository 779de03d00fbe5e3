package io.isthmus.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay on loopback that a test can cut: it forwards every connection to {@code target} byte for byte (TLS
 * passes through untouched) until {@link #cut()}, which closes every relayed connection and refuses new ones (they
 * are accepted and closed at once, as a peer behind a broken network would look to a client retrying) until
 * {@link #heal()}. For partitions of processes that talk over loopback, where no namespace of the test's own lies
 * between them.
 */
public final class TcpRelay implements AutoCloseable {
    private final InetSocketAddress target;
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean cut;
    private volatile boolean closed;

    private TcpRelay(InetSocketAddress target, ServerSocket server) {
        this.target = target;
        this.server = server;
    }

    /** Listens on {@code 127.0.0.1:port} (0: any free port) and relays to {@code target}. */
    public static TcpRelay start(int port, InetSocketAddress target) throws IOException {
        ServerSocket server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        TcpRelay relay = new TcpRelay(target, server);
        Thread.ofPlatform().daemon().name("tcp-relay-" + server.getLocalPort()).start(relay::accept);
        return relay;
    }

    public int port() {
        return server.getLocalPort();
    }

    private void accept() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (cut) {
                quietly(client);
                continue;
            }
            Thread.ofPlatform().daemon().start(() -> relay(client));
        }
    }

    private void relay(Socket client) {
        Socket upstream = new Socket();
        open.add(client);
        open.add(upstream);
        try {
            upstream.connect(target, 5000);
            if (cut) {
                throw new IOException("cut");
            }
            Thread.ofPlatform().daemon().start(() -> pump(upstream, client));
            pump(client, upstream);
        } catch (IOException e) {
            quietly(client);
            quietly(upstream);
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            // either side went away, or the relay was cut
        } finally {
            quietly(from);
            quietly(to);
        }
    }

    /** Closes every relayed connection; new ones are closed at once until {@link #heal()}. */
    public void cut() {
        cut = true;
        for (Socket socket : open) {
            quietly(socket);
        }
    }

    /** Relays new connections again. */
    public void heal() {
        cut = false;
    }

    private void quietly(Socket socket) {
        open.remove(socket);
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        closed = true;
        cut();
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
