package io.isthmus.gateway.pki;

import java.util.function.Consumer;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.nio.ByteBuffer;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.function.BiFunction;

/**
 * One replica connection's engine (see {@link ReplicaTls}): delegates everything, and
 * <ul>
 *   <li>reports a handshake that failed before any certificate check (not TLS at all, no certificate, an old
 *   protocol): Pekko does not log inbound connection failures, and a refusal must be seen;</li>
 *   <li>once the handshake is done, fails the connection on the next record after the CRL in force revokes the peer's
 *   certificate or the certificate expires: TLS checks a certificate only in the handshake, and Artery keeps its
 *   connections for as long as the replicas live.</li>
 * </ul>
 * The check per record is a volatile read and a clock read; the CRL lookup runs only when the CRL changed.
 */
final class GuardedEngine extends SSLEngine {
    private final SSLEngine delegate;
    private final MeshTrust trust;
    private final Consumer<String> handshakeFailed;
    private final String connection;
    /** The verified peer certificate, once the handshake finished; then its expiry and the CRL last checked. */
    private volatile X509Certificate peer;
    private volatile long peerNotAfterMillis;
    private volatile X509CRL checkedCrl;
    private volatile SSLException cut;
    private volatile boolean reported;

    GuardedEngine(SSLEngine delegate, MeshTrust trust, Consumer<String> handshakeFailed, String connection) {
        super(delegate.getPeerHost(), delegate.getPeerPort());
        this.delegate = delegate;
        this.trust = trust;
        this.handshakeFailed = handshakeFailed;
        this.connection = connection;
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] sources, int offset, int length, ByteBuffer destination) throws SSLException {
        guard();
        try {
            return after(delegate.wrap(sources, offset, length, destination));
        } catch (SSLException e) {
            throw failed(e);
        }
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer source, ByteBuffer[] destinations, int offset, int length) throws SSLException {
        guard();
        try {
            return after(delegate.unwrap(source, destinations, offset, length));
        } catch (SSLException e) {
            throw failed(e);
        }
    }

    private SSLEngineResult after(SSLEngineResult result) {
        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED && peer == null) {
            try {
                X509Certificate leaf = (X509Certificate) delegate.getSession().getPeerCertificates()[0];
                peerNotAfterMillis = leaf.getNotAfter().getTime();
                checkedCrl = trust.crl();
                peer = leaf;
            } catch (SSLPeerUnverifiedException | RuntimeException e) {
                // No verified peer: the session verifier (ReplicaTls.verify) refuses the connection.
            }
        }
        return result;
    }

    /** Fails every call once the peer's certificate became revoked or expired. */
    private void guard() throws SSLException {
        if (cut != null) {
            throw cut;
        }
        X509Certificate leaf = peer;
        if (leaf == null) {
            return;
        }
        long now = trust.clock().millis();
        CertificateRejectedException rejected = null;
        if (now > peerNotAfterMillis) {
            rejected = new CertificateRejectedException(Rule.EXPIRED, MeshProtocol.describe(leaf), "expired at "
                    + leaf.getNotAfter().toInstant() + " (now " + Instant.ofEpochMilli(now) + "); cutting " + connection);
        } else {
            X509CRL crl = trust.crl();
            if (crl != checkedCrl) {
                checkedCrl = crl;
                if (trust.isRevoked(leaf)) {
                    rejected = new CertificateRejectedException(Rule.REVOKED, MeshProtocol.describe(leaf),
                            "revoked by CRL number " + trust.crlNumber() + "; cutting " + connection);
                }
            }
        }
        if (rejected != null) {
            SSLException failure = new SSLException(rejected.getMessage(), rejected);
            cut = failure;
            reported = true;
            trust.reject(rejected);
            throw failure;
        }
    }

    /** Reports a failure the trust manager did not (it reports its own rejections), once per connection. */
    private SSLException failed(SSLException e) {
        if (!reported && cut == null) {
            reported = true;
            if (!rejectedByTrust(e)) {
                handshakeFailed.accept("TLS on " + connection + " failed: " + e.getMessage());
            }
        }
        return e;
    }

    private static boolean rejectedByTrust(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateRejectedException) {
                return true;
            }
        }
        return false;
    }

    // ----- plain delegation -----------------------------------------------------------------------------------------

    @Override
    public Runnable getDelegatedTask() {
        return delegate.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
        delegate.closeInbound();
    }

    @Override
    public boolean isInboundDone() {
        return delegate.isInboundDone();
    }

    @Override
    public void closeOutbound() {
        delegate.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
        return delegate.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return delegate.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return delegate.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        delegate.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
        return delegate.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return delegate.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        delegate.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
        return delegate.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
        return delegate.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
        delegate.beginHandshake();
    }

    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
        return delegate.getHandshakeStatus();
    }

    @Override
    public void setUseClientMode(boolean mode) {
        delegate.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
        return delegate.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        delegate.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
        return delegate.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
        delegate.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return delegate.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        delegate.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
        return delegate.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
        return delegate.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters parameters) {
        delegate.setSSLParameters(parameters);
    }

    @Override
    public String getApplicationProtocol() {
        return delegate.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
        return delegate.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
        delegate.setHandshakeApplicationProtocolSelector(selector);
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
        return delegate.getHandshakeApplicationProtocolSelector();
    }
}
