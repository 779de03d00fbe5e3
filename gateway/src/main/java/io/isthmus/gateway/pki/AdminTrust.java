package io.isthmus.gateway.pki;

import io.isthmus.gateway.pki.CertificateRejectedException.Rule;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * TLS for the admin API, both ends. The gateway serves it with its own certificate and key (the peering
 * {@link KeyMaterial}, so rotation applies) and asks every caller for a client certificate of the clusterset CA,
 * without requiring one (tokens keep working over TLS). The handshake takes only certificates our CA signed; which
 * user and role one names, and whether it is still good (expiry, the CRL in force), is decided per request by
 * {@link #check}, so a revocation applies to connections already open and a refusal is an HTTP 401 the
 * admin API counts and logs. The CLI's side ({@link #clientContext}) pins the clusterset CA: it talks to any gateway
 * of the clusterset, by the gateway certificate it presents, whatever host name or address it was reached at.
 */
public final class AdminTrust {
    private final MeshTrust trust;
    private final SSLContext serverContext;

    AdminTrust(MeshTrust trust, KeyMaterial keys) {
        this.trust = Objects.requireNonNull(trust, "trust");
        this.serverContext = MeshSslContext.serverWantingClientCertificate(keys.keyManager(),
                new IssuedByCa(trust.caCertificate(), false, Optional.empty()));
    }

    public static AdminTrust of(MeshTrust trust, KeyMaterial keys) {
        return new AdminTrust(trust, keys);
    }

    /** TLS 1.3, this gateway's certificate, a client certificate of the clusterset CA asked for but optional. */
    public SSLContext serverContext() {
        return serverContext;
    }

    /**
     * The admin user and role {@code leaf} (a caller's client certificate) names, if it is a good admin certificate
     * now; throws, naming the rule, for any other (a gateway's peering certificate, revoked, expired, ...).
     */
    public AdminIdentity check(X509Certificate leaf) throws CertificateRejectedException {
        return trust.checkAdmin(leaf);
    }

    /**
     * A TLS 1.3 client context for the CLI: trusts a server only with a gateway certificate ({@link PeerIdentity})
     * of the CA in {@code caCertificate}, valid now, and not revoked by {@code crl} (the CA's CRL, checked to be
     * its) when given; presents the admin certificate and key in {@code clientCertificate} / {@code clientKey} when
     * given.
     */
    public static SSLContext clientContext(Path caCertificate, Optional<Path> crl, Optional<Path> clientCertificate,
                                           Optional<Path> clientKey) {
        X509Certificate ca = Pem.certificate("CA certificate " + caCertificate, SecureFiles.read(caCertificate, "CA certificate"));
        if (ca.getBasicConstraints() < 0) {
            throw new PkiException("CA certificate " + caCertificate + " (" + ca.getSubjectX500Principal()
                    + ") is not a CA certificate; give the clusterset CA's ca.crt");
        }
        Optional<X509CRL> revocations = crl.map(file -> {
            X509CRL list = Pem.crl("CRL " + file, SecureFiles.read(file, "CRL"));
            try {
                list.verify(ca.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new PkiException("CRL " + file + " is not signed by the clusterset CA " + caCertificate
                        + "; give that CA's ca.crl");
            }
            return list;
        });
        KeyManager[] keyManagers = null;
        if (clientCertificate.isPresent() != clientKey.isPresent()) {
            throw new PkiException("a client certificate needs its key and the other way round: give both");
        }
        if (clientCertificate.isPresent()) {
            Path certFile = clientCertificate.get();
            Path keyFile = clientKey.get();
            List<X509Certificate> chain = Pem.certificates("client certificate " + certFile,
                    SecureFiles.read(certFile, "client certificate"));
            PrivateKey key = Pem.privateKey("client key " + keyFile, SecureFiles.read(keyFile, "client key"));
            ClustersetCa.requireMatchingKey(chain.getFirst(), key, "client key " + keyFile
                    + " does not belong to the client certificate " + certFile);
            try {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                store.setKeyEntry("admin", key, new char[0], chain.toArray(X509Certificate[]::new));
                KeyManagerFactory factory = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                factory.init(store, new char[0]);
                keyManagers = factory.getKeyManagers();
            } catch (GeneralSecurityException | java.io.IOException e) {
                throw new PkiException("cannot use client certificate " + certFile + ": " + e.getMessage(), e);
            }
        }
        try {
            SSLContext context = SSLContext.getInstance(MeshProtocol.PROTOCOL);
            context.init(keyManagers, new javax.net.ssl.TrustManager[] {new IssuedByCa(ca, true, revocations)}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JDK cannot make a " + MeshProtocol.PROTOCOL + " context", e);
        }
    }

    /**
     * Takes a peer's leaf only when our CA signed it. On the gateway's side (client certificates) that is all the
     * handshake checks; on the CLI's side (a server) the certificate must also be valid now and name a cluster.
     * Being an {@link X509ExtendedTrustManager}, it replaces the JDK's host name check, which cannot apply: a
     * gateway's certificate names its cluster, not a host.
     */
    private static final class IssuedByCa extends X509ExtendedTrustManager {
        private final X509Certificate ca;
        private final boolean forServers;
        private final Optional<X509CRL> revocations;

        /** {@code revocations}: for servers, the CA's CRL to check them against (the server side checks clients itself). */
        IssuedByCa(X509Certificate ca, boolean forServers, Optional<X509CRL> revocations) {
            this.ca = ca;
            this.forServers = forServers;
            this.revocations = revocations;
        }

        private void check(X509Certificate[] chain, boolean server) throws CertificateException {
            if (server != forServers) {
                throw new CertificateException(forServers ? "this context checks servers only" : "this context checks clients only");
            }
            if (chain == null || chain.length == 0) {
                throw new CertificateRejectedException(Rule.NO_CERTIFICATE, "(none)", "no certificate presented");
            }
            X509Certificate leaf = chain[0];
            String subject = MeshProtocol.describe(leaf);
            if (!ca.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
                throw new CertificateRejectedException(Rule.UNTRUSTED_ISSUER, subject, "issued by '"
                        + leaf.getIssuerX500Principal().getName() + "', not by the clusterset CA '"
                        + ca.getSubjectX500Principal().getName() + "'");
            }
            try {
                leaf.verify(ca.getPublicKey());
            } catch (GeneralSecurityException e) {
                throw new CertificateRejectedException(Rule.UNTRUSTED_ISSUER, subject,
                        "its signature does not verify with the clusterset CA's key: " + e.getMessage());
            }
            if (server) {
                Instant now = Instant.now();
                if (now.isAfter(leaf.getNotAfter().toInstant()) || now.isBefore(leaf.getNotBefore().toInstant())) {
                    throw new CertificateRejectedException(Rule.EXPIRED, subject, "not valid now (" + now + "): valid "
                            + leaf.getNotBefore().toInstant() + " to " + leaf.getNotAfter().toInstant());
                }
                PeerIdentity.of(leaf); // a gateway of the clusterset, not an admin's certificate replayed as a server
                if (revocations.isPresent() && revocations.get().isRevoked(leaf)) {
                    throw new CertificateRejectedException(Rule.REVOKED, subject, "revoked by the clusterset CA's CRL "
                            + "(number " + SignedCrl.numberOf(revocations.get()) + ")");
                }
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, false);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, true);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, false);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, true);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, false);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, true);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[] {ca};
        }
    }
}
