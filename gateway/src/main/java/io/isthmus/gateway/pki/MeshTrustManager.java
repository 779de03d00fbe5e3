package io.isthmus.gateway.pki;

import io.isthmus.gateway.pki.CertificateRejectedException.Rule;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * The trust manager of {@link MeshTrust}: verifies the peer's leaf certificate directly against the pinned clusterset
 * CA (no path building, no hostname check, no system trust store), with the CRL current at the time of the handshake.
 * Every gateway certificate is used in both directions (each cluster dials the other), so both EKUs are required;
 * the one for the current role is checked first. Any chain certificates after the leaf are ignored.
 */
final class MeshTrustManager extends X509ExtendedTrustManager {
    private static final List<String> AS_CLIENT = List.of(MeshProtocol.CLIENT_AUTH, MeshProtocol.SERVER_AUTH);
    private static final List<String> AS_SERVER = List.of(MeshProtocol.SERVER_AUTH, MeshProtocol.CLIENT_AUTH);

    private final LeafChecker trust;

    MeshTrustManager(LeafChecker trust) {
        this.trust = trust;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        trust.check(chain, AS_CLIENT);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        trust.check(chain, AS_SERVER);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        requireProtocol(chain, socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null);
        trust.check(chain, AS_CLIENT);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        requireProtocol(chain, socket instanceof SSLSocket ssl ? ssl.getHandshakeSession() : null);
        trust.check(chain, AS_SERVER);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        requireProtocol(chain, engine == null ? null : engine.getHandshakeSession());
        trust.check(chain, AS_CLIENT);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        requireProtocol(chain, engine == null ? null : engine.getHandshakeSession());
        trust.check(chain, AS_SERVER);
    }

    /** The CA the server names in its CertificateRequest. */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {trust.caCertificate()};
    }

    /** Defence in depth: the contexts enable TLS 1.3 only, but an engine a caller reconfigured must not slip through. */
    private void requireProtocol(X509Certificate[] chain, SSLSession handshake) throws CertificateRejectedException {
        if (handshake != null && !MeshProtocol.PROTOCOL.equals(handshake.getProtocol())) {
            var e = new CertificateRejectedException(Rule.PROTOCOL,
                    chain == null || chain.length == 0 ? "(none)" : MeshProtocol.describe(chain[0]),
                    "the handshake negotiated " + handshake.getProtocol() + "; the mesh speaks " + MeshProtocol.PROTOCOL + " only");
            trust.reject(e);
            throw e;
        }
    }
}
