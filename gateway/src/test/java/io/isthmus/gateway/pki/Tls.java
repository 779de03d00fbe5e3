package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

/** Real TLS over loopback for the tests: an echo server on an SSLServerSocket and clients on SSLSockets. */
final class Tls {
    private static final int TIMEOUT_MS = 5_000;

    private Tls() {
    }

    /** What the server saw of one connection: the peer's cluster and serial, or why the handshake failed. */
    record Accepted(ClusterId peer, BigInteger peerSerial, Exception failure) {
        Accepted requireSuccess() {
            if (failure != null) {
                throw new AssertionError("server-side handshake failed: " + failure, failure);
            }
            return this;
        }

        Exception requireFailure() {
            assertNotNull(failure, "expected the server to reject the peer, but it accepted " + peer);
            return failure;
        }
    }

    static final class Server implements AutoCloseable {
        private final SSLServerSocket socket;
        private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();

        Server(SSLContext context) throws IOException {
            socket = (SSLServerSocket) context.getServerSocketFactory()
                    .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
            threads.submit(this::acceptLoop);
        }

        int port() {
            return socket.getLocalPort();
        }

        SSLServerSocket socket() {
            return socket;
        }

        /** The next connection's outcome (after its handshake). */
        Accepted next() throws InterruptedException {
            Accepted next = accepted.poll(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            if (next == null) {
                fail("no connection reached the server within " + TIMEOUT_MS + " ms");
            }
            return next;
        }

        private void acceptLoop() {
            while (!socket.isClosed()) {
                try {
                    SSLSocket connection = (SSLSocket) socket.accept();
                    threads.submit(() -> serve(connection));
                } catch (IOException e) {
                    return; // closed
                }
            }
        }

        private void serve(SSLSocket connection) {
            boolean handshaken = false;
            try (connection) {
                connection.setSoTimeout(TIMEOUT_MS);
                connection.startHandshake();
                X509Certificate peer = (X509Certificate) connection.getSession().getPeerCertificates()[0];
                accepted.add(new Accepted(PeerIdentity.of(connection.getSession()), peer.getSerialNumber(), null));
                handshaken = true;
                var in = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.UTF_8));
                var out = new PrintWriter(connection.getOutputStream(), true, StandardCharsets.UTF_8);
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    out.println("echo " + line);
                }
            } catch (Exception e) {
                if (!handshaken) {
                    accepted.add(new Accepted(null, null, e));
                } // else: the client went away
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            threads.shutdownNow();
        }
    }

    static final class Client implements AutoCloseable {
        private final SSLSocket socket;
        private final BufferedReader in;
        private final PrintWriter out;

        private Client(SSLSocket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            this.out = new PrintWriter(socket.getOutputStream(), true, StandardCharsets.UTF_8);
        }

        /** One round trip over the connection. */
        String echo(String line) throws IOException {
            out.println(line);
            String reply = in.readLine();
            if (reply == null) {
                throw new IOException("server closed the connection");
            }
            return reply;
        }

        SSLSocket socket() {
            return socket;
        }

        ClusterId serverCluster() throws Exception {
            return PeerIdentity.of(socket.getSession());
        }

        BigInteger serverSerial() throws Exception {
            return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** Connects and completes the client's side of the handshake. */
    static Client connect(SSLContext context, int port) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port);
        try {
            socket.setSoTimeout(TIMEOUT_MS);
            socket.startHandshake();
            return new Client(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Connects and makes one round trip, or fails; for connections the server is expected to refuse. */
    static void tryConnect(SSLContext context, int port) {
        try (Client client = connect(context, port)) {
            client.echo("hello");
        } catch (IOException expected) {
            // the server's verdict is what the test looks at
        }
    }

    /** The {@link CertificateRejectedException} somewhere in {@code failure}'s causes. */
    static CertificateRejectedException rejection(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateRejectedException rejected) {
                return rejected;
            }
        }
        throw new AssertionError("expected a CertificateRejectedException among the causes of " + failure, failure);
    }
}
