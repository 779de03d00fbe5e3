package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.pki.AdminTrust;
import io.isthmus.gateway.pki.CertificateRejectedException;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.MeshTrust;
import io.isthmus.gateway.pki.PkiException;
import io.isthmus.gateway.pki.ReplicaTls;
import io.isthmus.gateway.pki.Revocations;
import io.isthmus.gateway.pki.SignedCrl;
import io.isthmus.gateway.pki.StaleCrl;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Mutual TLS for peering: this gateway's key material and the clusterset trust (CA + CRL), loaded from the tls
 * directory and re-read when the files change, so certificates rotate and revocations apply without a restart and
 * without dropping links. There is no plaintext mode.
 */
public final class PeeringTls implements Revocations {
    private static final Logger log = LoggerFactory.getLogger(PeeringTls.class);

    private final ClusterId self;
    private final KeyFiles files;
    private final KeyMaterial keys;
    private final MeshTrust trust;
    private final SSLContext serverContext;
    private FileTime crlModified;
    private final java.util.concurrent.CopyOnWriteArrayList<Runnable> crlListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    private PeeringTls(ClusterId self, KeyFiles files, KeyMaterial keys, MeshTrust trust) {
        this.self = self;
        this.files = files;
        this.keys = keys;
        this.trust = trust;
        this.serverContext = trust.serverContext(keys);
        this.crlModified = modified(files.crl());
    }

    /** As {@link #load(ClusterId, Path, Metrics.Counter, StaleCrl)}, using a stale CRL with a warning. */
    public static PeeringTls load(ClusterId self, Path dir, Metrics.Counter rejections) {
        return load(self, dir, rejections, StaleCrl.WARN);
    }

    /**
     * @param rejections counts every peer certificate the trust manager refuses, by rule
     * @param staleCrl   what new peering handshakes do while the CRL in force is past its nextUpdate
     */
    public static PeeringTls load(ClusterId self, Path dir, Metrics.Counter rejections, StaleCrl staleCrl) {
        KeyFiles files = KeyFiles.in(dir, self);
        for (Path file : new Path[] {files.certificate(), files.privateKey(), files.caCertificate(), files.crl()}) {
            if (!Files.isRegularFile(file)) {
                throw new InvalidFieldException("isthmus.tls.dir", dir, "has no " + file.getFileName()
                        + ": peering and the replicas' Pekko cluster need this cluster's certificate from the clusterset CA; make one with "
                        + "`isthmus mesh issue --ca CA_DIR --cluster " + self + " --out " + dir + "`");
            }
        }
        try {
            KeyMaterial keys = KeyMaterial.load(files);
            if (!keys.cluster().equals(self)) {
                throw new InvalidFieldException("isthmus.tls.dir", dir, "holds a certificate for cluster '"
                        + keys.cluster() + "', but this gateway is cluster '" + self + "'");
            }
            MeshTrust stored = MeshTrust.load(files);
            MeshTrust trust = MeshTrust.of(stored.caCertificate(), stored.crl(), rejected -> {
                        rejections.inc(rejected.rule().label());
                        log.warn("peering: {}", rejected.getMessage());
                    }).withStaleCrl(staleCrl);
            return new PeeringTls(self, files, keys, trust);
        } catch (PkiException e) {
            throw new InvalidFieldException("isthmus.tls.dir", dir, e.getMessage());
        }
    }

    /** The peering server's TLS: TLS 1.3, a client certificate from the clusterset required. */
    public HttpsConnectionContext serverConnectionContext() {
        return ConnectionContext.httpsServer(() -> {
            SSLEngine engine = serverContext.createSSLEngine();
            engine.setUseClientMode(false);
            engine.setNeedClientAuth(true);
            return engine;
        });
    }

    /** A peer's verified certificate and the cluster it names. */
    public record PeerCertificate(ClusterId cluster, X509Certificate certificate) {
    }

    /** The peer's verified client certificate; empty if the request came without one that passes. */
    public Optional<PeerCertificate> authenticate(HttpRequest request) {
        Optional<SslSessionInfo> session = request.getAttribute(AttributeKeys.sslSession);
        if (session.isEmpty()) {
            return Optional.empty();
        }
        try {
            ClusterId cluster = trust.verifyPeer(session.get().getSession());
            return Optional.of(new PeerCertificate(cluster,
                    (X509Certificate) session.get().getSession().getPeerCertificates()[0]));
        } catch (CertificateRejectedException | javax.net.ssl.SSLPeerUnverifiedException e) {
            log.warn("peering: {}", e.getMessage());
            return Optional.empty();
        }
    }

    /** A client context for one link attempt; {@code acceptedServer} receives the server's certificate. */
    public SSLContext clientContext(Consumer<X509Certificate> acceptedServer) {
        return trust.clientContext(keys, acceptedServer);
    }

    /**
     * TLS for the replicas' Pekko cluster from the same key material and trust (so rotation and every CRL taken here
     * apply to it too), admitting only this cluster's own certificates; {@code refusals} hears of each refusal.
     */
    public ReplicaTls replicaTls(Consumer<ReplicaTls.Refusal> refusals) {
        // A stale CRL never refuses a replica: that would split the cluster's own replicas (see StaleCrl).
        return ReplicaTls.of(trust.withStaleCrl(StaleCrl.WARN), keys, refusals);
    }

    /** TLS for the admin API from the same key material and trust (CA, and the very CRL peering uses). */
    public AdminTrust adminTrust() {
        return AdminTrust.of(trust, keys);
    }

    @Override
    public StaleCrl staleCrlPolicy() {
        return trust.staleCrl();
    }

    public boolean isRevoked(X509Certificate certificate) {
        return trust.isRevoked(certificate);
    }

    /**
     * Why a certificate that passed its handshake is no longer good {@code now}: "revoked" (a CRL taken since), or
     * "expired"; empty while it is good. Open links are checked with this, since TLS checks only at the handshake.
     */
    public Optional<String> distrust(X509Certificate certificate, java.time.Instant now) {
        if (trust.isRevoked(certificate)) {
            return Optional.of("revoked");
        }
        if (now.isAfter(certificate.getNotAfter().toInstant())) {
            return Optional.of("expired");
        }
        return Optional.empty();
    }

    /** Told after every CRL this gateway takes (pushed, relayed or from the file). */
    public void whenCrlChanged(Runnable listener) {
        crlListeners.add(listener);
    }

    /** When the CRL in force says a newer one is due; past it, the CRL is stale (said in status and metrics). */
    @Override
    public Optional<java.time.Instant> crlNextUpdate() {
        return trust.crlNextUpdate();
    }

    private void crlChanged() {
        for (Runnable listener : crlListeners) {
            try {
                listener.run();
            } catch (RuntimeException e) {
                log.warn("peering: a CRL listener failed: {}", e.toString(), e);
            }
        }
    }

    /** Signs {@code statement} with this cluster's current key (the address plan's acknowledgements). */
    public io.isthmus.gateway.pki.KeyMaterial.Signed sign(byte[] statement) {
        return keys.sign(statement);
    }

    /** Checks statements other clusters signed, against the clusterset CA. */
    public io.isthmus.gateway.pki.SignedStatements signedStatements() {
        return new io.isthmus.gateway.pki.SignedStatements(trust.caCertificate());
    }

    /** The certificate this gateway presents now (it changes when the key files rotate). */
    public X509Certificate certificate() {
        return keys.certificate();
    }

    /** The clusterset CA's certificate this gateway trusts. */
    public X509Certificate caCertificate() {
        return trust.caCertificate();
    }

    public ClusterId self() {
        return self;
    }

    /** Re-reads rotated key material and a replaced CRL file; called every few seconds. */
    public void reloadIfChanged() {
        try {
            if (keys.reloadIfChanged()) {
                log.info("peering: rotated to certificate serial {} (valid until {})", keys.serial().toString(16),
                        keys.notAfter());
            }
        } catch (PkiException e) {
            log.warn("peering: key files changed but cannot be used yet, keeping the old pair: {}", e.getMessage());
        }
        FileTime modified = modified(files.crl());
        if (modified != null && !modified.equals(crlModified)) {
            try {
                SignedCrl crl = SignedCrl.parse(files.crl().toString(), Files.readAllBytes(files.crl()));
                if (crl.number().compareTo(trust.crlNumber()) > 0) {
                    trust.updateCrl(crl);
                    log.info("peering: took CRL number {} ({} revoked certificates)", crl.number(),
                            crl.revokedSerials().size());
                    crlChanged();
                }
                crlModified = modified;
            } catch (IOException | PkiException e) {
                log.warn("peering: {} changed but cannot be used: {}", files.crl(), e.getMessage());
            }
        }
    }

    /**
     * Takes a CRL pushed through the admin API: it must be signed by our CA and newer than the current one.
     * It is written to the tls directory so a restart keeps it.
     */
    @Override
    public synchronized SignedCrl acceptCrl(byte[] pemOrDer) {
        SignedCrl crl = SignedCrl.parse("the CRL sent", pemOrDer);
        trust.updateCrl(crl);
        try {
            Path temporary = files.crl().resolveSibling(files.crl().getFileName() + ".new");
            Files.writeString(temporary, crl.pem());
            Files.move(temporary, files.crl(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            crlModified = modified(files.crl());
        } catch (IOException e) {
            log.warn("peering: CRL {} is in force but could not be saved to {}: {}", crl.number(), files.crl(), e.toString());
        }
        crlChanged();
        return crl;
    }

    /** The CRL in force, to relay to peers; its number only grows. */
    @Override
    public SignedCrl currentCrl() {
        return new SignedCrl(trust.crl());
    }

    /**
     * A CRL relayed by a peer: taken (and saved) when the CA signed it and it is newer than ours; an older or
     * equal one is ignored. Throws {@link PkiException} for one our CA did not sign.
     *
     * @return whether it was newer and taken
     */
    public synchronized boolean acceptRelayedCrl(byte[] der) {
        SignedCrl crl = SignedCrl.parse("the CRL a peer relayed", der);
        if (crl.number().compareTo(trust.crlNumber()) <= 0) {
            return false;
        }
        acceptCrl(der);
        log.info("peering: took CRL number {} relayed by a peer ({} revoked certificates)", crl.number(),
                crl.revokedSerials().size());
        return true;
    }

    private static FileTime modified(Path file) {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }
}
