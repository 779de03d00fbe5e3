package io.isthmus.gateway.pki;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyManagementException;
import java.security.SecureRandom;

/**
 * An {@link SSLContext} whose every socket, server socket and engine comes out configured for the mesh: TLS 1.3 only,
 * no endpoint identification, and (server side) a client certificate required. So a caller cannot forget
 * {@code setNeedClientAuth(true)} or leave TLS 1.2 on. Session resumption is off (see {@link #disableResumption}).
 */
final class MeshSslContext extends SSLContext {
    /** Longer than the JDK's 7-day ticket lifetime limit: see {@link #disableResumption}. */
    static final int SESSION_TIMEOUT_SECONDS = (int) java.time.Duration.ofDays(8).toSeconds();

    private MeshSslContext(Spi spi, SSLContext delegate) {
        super(spi, delegate.getProvider(), MeshProtocol.PROTOCOL);
    }

    /** A client context, or a server context that requires a client certificate. */
    static SSLContext create(KeyManager keyManager, TrustManager trustManager, boolean server) {
        return create(keyManager, trustManager, server, server);
    }

    /** A server context that asks for a client certificate but takes a connection without one (the admin API). */
    static SSLContext serverWantingClientCertificate(KeyManager keyManager, TrustManager trustManager) {
        return create(keyManager, trustManager, true, false);
    }

    private static SSLContext create(KeyManager keyManager, TrustManager trustManager, boolean server,
                                     boolean needClientCertificate) {
        SSLContext delegate;
        try {
            delegate = SSLContext.getInstance(MeshProtocol.PROTOCOL);
            delegate.init(new KeyManager[] {keyManager}, new TrustManager[] {trustManager}, new SecureRandom());
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JDK cannot make a " + MeshProtocol.PROTOCOL + " context", e);
        }
        disableResumption(delegate);
        return new MeshSslContext(new Spi(delegate, server, needClientCertificate), delegate);
    }

    /**
     * Every connection must be a full handshake, so the trust manager sees it (a resumed session skips certificate
     * checks: a revoked peer could come back, and a rotated certificate would not be presented). The JDK has no
     * per-context switch; it sends and accepts no TLS 1.3 session tickets when the session timeout exceeds the
     * 7-day ticket lifetime limit (sun.security.ssl.NewSessionTicket.MAX_TICKET_LIFETIME), which is what this sets.
     * Sessions are never looked up then, so the cache is kept to one entry. MeshTrustTlsTest checks the effect.
     */
    private static void disableResumption(SSLContext context) {
        for (SSLSessionContext sessions : new SSLSessionContext[] {
                context.getClientSessionContext(), context.getServerSessionContext()}) {
            sessions.setSessionTimeout(SESSION_TIMEOUT_SECONDS);
            sessions.setSessionCacheSize(1);
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext delegate;
        private final boolean server;
        private final boolean needClientCertificate;

        Spi(SSLContext delegate, boolean server, boolean needClientCertificate) {
            this.delegate = delegate;
            this.server = server;
            this.needClientCertificate = needClientCertificate;
        }

        SSLParameters parameters() {
            SSLParameters parameters = delegate.getDefaultSSLParameters();
            parameters.setProtocols(new String[] {MeshProtocol.PROTOCOL});
            parameters.setEndpointIdentificationAlgorithm(null);
            if (server && needClientCertificate) {
                parameters.setNeedClientAuth(true);
            } else if (server) {
                parameters.setWantClientAuth(true);
            }
            return parameters;
        }

        SSLEngine configure(SSLEngine engine) {
            engine.setUseClientMode(!server);
            engine.setSSLParameters(parameters());
            return engine;
        }

        Socket configure(Socket socket) {
            SSLSocket ssl = (SSLSocket) socket;
            ssl.setUseClientMode(!server);
            ssl.setSSLParameters(parameters());
            return ssl;
        }

        ServerSocket configure(ServerSocket socket) {
            ((SSLServerSocket) socket).setSSLParameters(parameters());
            return socket;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("a mesh SSLContext is initialised by MeshTrust; it cannot be re-initialised");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return new SocketFactory(this, delegate.getSocketFactory());
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return new ServerSocketFactory(this, delegate.getServerSocketFactory());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return configure(delegate.createSSLEngine());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return configure(delegate.createSSLEngine(host, port));
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return delegate.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return delegate.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return parameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return delegate.getSupportedSSLParameters();
        }
    }

    private static final class SocketFactory extends SSLSocketFactory {
        private final Spi spi;
        private final SSLSocketFactory delegate;

        SocketFactory(Spi spi, SSLSocketFactory delegate) {
            this.spi = spi;
            this.delegate = delegate;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return spi.parameters().getCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return spi.configure(delegate.createSocket());
        }

        @Override
        public Socket createSocket(Socket socket, String host, int port, boolean autoClose) throws IOException {
            return spi.configure(delegate.createSocket(socket, host, port, autoClose));
        }

        @Override
        public Socket createSocket(Socket socket, InputStream consumed, boolean autoClose) throws IOException {
            return spi.configure(delegate.createSocket(socket, consumed, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return spi.configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return spi.configure(delegate.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return spi.configure(delegate.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
            return spi.configure(delegate.createSocket(address, port, localAddress, localPort));
        }
    }

    private static final class ServerSocketFactory extends SSLServerSocketFactory {
        private final Spi spi;
        private final SSLServerSocketFactory delegate;

        ServerSocketFactory(Spi spi, SSLServerSocketFactory delegate) {
            this.spi = spi;
            this.delegate = delegate;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return spi.parameters().getCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return delegate.getSupportedCipherSuites();
        }

        @Override
        public ServerSocket createServerSocket() throws IOException {
            return spi.configure(delegate.createServerSocket());
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return spi.configure(delegate.createServerSocket(port));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
            return spi.configure(delegate.createServerSocket(port, backlog));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress address) throws IOException {
            return spi.configure(delegate.createServerSocket(port, backlog, address));
        }
    }
}
