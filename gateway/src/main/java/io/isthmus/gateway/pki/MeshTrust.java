package io.isthmus.gateway.pki;

import static io.isthmus.gateway.pki.MeshProtocol.CLIENT_AUTH;
import static io.isthmus.gateway.pki.MeshProtocol.PROTOCOL;
import static io.isthmus.gateway.pki.MeshProtocol.SERVER_AUTH;
import static io.isthmus.gateway.pki.MeshProtocol.describe;
import static io.isthmus.gateway.pki.MeshProtocol.usageName;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Who the mesh trusts: certificates issued by the clusterset CA, currently valid, not revoked, with the gateway
 * EKUs and the cluster identity. Makes the TLS 1.3 {@link SSLContext}s peering uses (mutual authentication always,
 * no hostname verification: the identity is the cluster id, which the caller compares with the peer's hello via
 * {@link #verifyPeer(SSLSession, ClusterId)}).
 * <p>
 * The CRL can be replaced at runtime ({@link #updateCrl}); every handshake consults the current one. Session
 * resumption is disabled, so every connection is a full handshake that is checked against the current CRL.
 * Connections that are already open are not re-checked by TLS: after {@code updateCrl} the caller closes links whose
 * peer certificate {@link #isRevoked} says is now revoked.
 */
public final class MeshTrust implements LeafChecker {

    private record Crl(X509CRL crl, BigInteger number) {
    }

    private final X509Certificate ca;
    /** Shared with every {@link #reportingTo} view: a CRL taken through one applies to all. */
    private final AtomicReference<Crl> crl;
    private final Clock clock;
    private final Consumer<CertificateRejectedException> onRejection;
    private final MeshTrustManager trustManager;
    private final StaleCrl staleCrl;

    private MeshTrust(X509Certificate ca, X509CRL initialCrl, Clock clock,
                      Consumer<CertificateRejectedException> onRejection) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.onRejection = Objects.requireNonNull(onRejection, "onRejection");
        this.crl = new AtomicReference<>();
        String name = ca.getSubjectX500Principal().getName();
        if (ca.getBasicConstraints() < 0) {
            throw new PkiException("certificate " + name + " is not a CA certificate (basicConstraints CA:false); "
                    + "the mesh trust must be built from the clusterset CA certificate (ca.crt)");
        }
        try {
            ca.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new PkiException("CA certificate " + name + " is not self-signed (" + e.getMessage()
                    + "); the mesh trust must be built from the clusterset CA certificate (ca.crt)");
        }
        Objects.requireNonNull(initialCrl, "crl");
        this.crl.set(new Crl(initialCrl, verifiedNumber(initialCrl)));
        this.staleCrl = StaleCrl.WARN;
        this.trustManager = new MeshTrustManager(this);
    }

    private MeshTrust(MeshTrust shared, Consumer<CertificateRejectedException> onRejection, StaleCrl staleCrl) {
        this.ca = shared.ca;
        this.clock = shared.clock;
        this.crl = shared.crl;
        this.onRejection = Objects.requireNonNull(onRejection, "onRejection");
        this.staleCrl = Objects.requireNonNull(staleCrl, "staleCrl");
        this.trustManager = new MeshTrustManager(this);
    }

    public static MeshTrust of(X509Certificate ca, X509CRL crl) {
        return new MeshTrust(ca, crl, Clock.systemUTC(), rejected -> { });
    }

    /** As {@link #of(X509Certificate, X509CRL)}, calling {@code onRejection} for every peer certificate rejected (log, metric). */
    public static MeshTrust of(X509Certificate ca, X509CRL crl, Consumer<CertificateRejectedException> onRejection) {
        return new MeshTrust(ca, crl, Clock.systemUTC(), onRejection);
    }

    static MeshTrust of(X509Certificate ca, X509CRL crl, Clock clock, Consumer<CertificateRejectedException> onRejection) {
        return new MeshTrust(ca, crl, clock, onRejection);
    }

    /** Reads {@code ca.crt} and {@code ca.crl} (PEM or DER). */
    public static MeshTrust load(Path caCertificate, Path crl) {
        return of(Pem.certificate("CA certificate " + caCertificate, SecureFiles.read(caCertificate, "CA certificate")),
                Pem.crl("CRL " + crl, SecureFiles.read(crl, "CRL")));
    }

    public static MeshTrust load(KeyFiles files) {
        return load(files.caCertificate(), files.crl());
    }

    /**
     * The same trust (CA, clock, and the very same CRL: an update through either applies to both at once) reporting
     * its rejections to {@code onRejection} instead: for a second use of the key material (the replicas' transport)
     * that logs and counts apart from peering.
     */
    public MeshTrust reportingTo(Consumer<CertificateRejectedException> onRejection) {
        return new MeshTrust(this, onRejection, staleCrl);
    }

    /**
     * The same trust (the very same CRL) treating a CRL past its nextUpdate as {@code policy} says: REFUSE fails
     * every peer check (handshake and {@link #verifyPeer}) with rule {@code crl-stale} while the CRL is stale.
     * A new trust starts with WARN.
     */
    public MeshTrust withStaleCrl(StaleCrl policy) {
        return new MeshTrust(this, onRejection, policy);
    }

    public StaleCrl staleCrl() {
        return staleCrl;
    }

    /** When the CRL in force says a newer one is due; empty if it names no nextUpdate. */
    public java.util.Optional<Instant> crlNextUpdate() {
        return java.util.Optional.ofNullable(crl().getNextUpdate()).map(java.util.Date::toInstant);
    }

    /** Whether the CRL in force is past its nextUpdate now. */
    public boolean crlStale() {
        return crlNextUpdate().map(clock.instant()::isAfter).orElse(false);
    }

    /**
     * Checks an admin API client certificate with the current CRL and clock: issued and signed by our CA, an end
     * entity, valid now, not revoked, keyUsage digitalSignature, the clientAuth EKU and not serverAuth (which every
     * gateway certificate has), and an admin identity ({@link AdminIdentity#of}). Refusals are not reported to this
     * trust's peering listener: the admin API counts and logs its own.
     */
    public AdminIdentity checkAdmin(X509Certificate leaf) throws CertificateRejectedException {
        checkCommon(new X509Certificate[] {leaf});
        List<String> usages = extendedKeyUsages(leaf);
        if (usages == null || !usages.contains(CLIENT_AUTH)) {
            throw new CertificateRejectedException(Rule.EXTENDED_KEY_USAGE, describe(leaf),
                    "an admin certificate needs the clientAuth extended key usage; it has " + usages);
        }
        if (usages.contains(SERVER_AUTH)) {
            throw new CertificateRejectedException(Rule.EXTENDED_KEY_USAGE, describe(leaf),
                    "has the serverAuth extended key usage of a gateway certificate; an admin certificate has clientAuth only");
        }
        return AdminIdentity.of(leaf);
    }

    Clock clock() {
        return clock;
    }

    @Override
    public X509Certificate caCertificate() {
        return ca;
    }

    public X509CRL crl() {
        return crl.get().crl();
    }

    public BigInteger crlNumber() {
        return crl.get().number();
    }

    /**
     * Replaces the CRL if {@code next} is signed by our CA and has a higher CRL number than the current one; otherwise
     * throws naming what is wrong and keeps the current CRL. Safe to feed CRLs received from any peer.
     */
    public void updateCrl(X509CRL next) {
        Objects.requireNonNull(next, "crl");
        BigInteger number = verifiedNumber(next);
        crl.getAndUpdate(current -> {
            if (number.compareTo(current.number()) <= 0) {
                throw new PkiException("CRL number " + number + " of " + next.getIssuerX500Principal().getName()
                        + " is not newer than the current CRL number " + current.number() + "; keeping the current CRL");
            }
            return new Crl(next, number);
        });
    }

    public void updateCrl(SignedCrl next) {
        updateCrl(next.crl());
    }

    /** Whether the current CRL revokes {@code certificate} (use after {@link #updateCrl} to close open links). */
    public boolean isRevoked(X509Certificate certificate) {
        return ca.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())
                && crl().getRevokedCertificate(certificate.getSerialNumber()) != null;
    }

    /** The trust manager both contexts use; for TLS stacks that take one directly (Netty's SslContextBuilder). */
    public X509ExtendedTrustManager trustManager() {
        return trustManager;
    }

    /** A TLS 1.3 server context that requires a client certificate from the mesh and presents {@code keys}. */
    public SSLContext serverContext(KeyMaterial keys) {
        return MeshSslContext.create(keys.keyManager(), trustManager, true);
    }

    /** A TLS 1.3 client context that accepts only a server certificate from the mesh and presents {@code keys}. */
    public SSLContext clientContext(KeyMaterial keys) {
        return MeshSslContext.create(keys.keyManager(), trustManager, false);
    }

    /**
     * A client context for one connection that also hands the server certificate it accepted to
     * {@code acceptedServer}, for a caller that cannot see the TLS session.
     */
    public SSLContext clientContext(KeyMaterial keys, java.util.function.Consumer<X509Certificate> acceptedServer) {
        return MeshSslContext.create(keys.keyManager(), new CapturingTrustManager(trustManager, acceptedServer), false);
    }

    /**
     * Checks an established session's peer certificate again against every rule (with the current CRL and clock)
     * and returns the cluster it names.
     */
    public ClusterId verifyPeer(SSLSession session) throws CertificateRejectedException {
        X509Certificate leaf;
        try {
            leaf = PeerIdentity.peerCertificate(session);
            if (!PROTOCOL.equals(session.getProtocol())) {
                throw new CertificateRejectedException(Rule.PROTOCOL, describe(leaf),
                        "the session uses " + session.getProtocol() + "; the mesh speaks " + PROTOCOL + " only");
            }
        } catch (CertificateRejectedException e) {
            onRejection.accept(e);
            throw e;
        }
        return check(new X509Certificate[] {leaf}, List.of(SERVER_AUTH, CLIENT_AUTH));
    }

    /**
     * As {@link #verifyPeer(SSLSession)}, and fails (rule {@code unexpected-cluster}) unless the certificate names
     * {@code expected}: the cluster the peer says it is in its hello, or the one we dialled.
     */
    public ClusterId verifyPeer(SSLSession session, ClusterId expected) throws CertificateRejectedException {
        ClusterId actual = verifyPeer(session);
        if (!actual.equals(expected)) {
            var e = new CertificateRejectedException(Rule.UNEXPECTED_CLUSTER, describe(PeerIdentity.peerCertificate(session)),
                    "names cluster " + actual + " but the peer claims to be cluster " + expected);
            onRejection.accept(e);
            throw e;
        }
        return actual;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Every rule, in order: a certificate at all, issued and signed by our CA, an end entity, valid now, not revoked,
     * keyUsage digitalSignature, a CRL not past its nextUpdate (only with {@link StaleCrl#REFUSE}), the EKUs in {@code requiredUsages}, and a cluster identity. Reports each rejection.
     */
    @Override
    public ClusterId check(X509Certificate[] chain, List<String> requiredUsages) throws CertificateRejectedException {
        try {
            return checkRules(chain, requiredUsages);
        } catch (CertificateRejectedException e) {
            onRejection.accept(e);
            throw e;
        }
    }

    @Override
    public void reject(CertificateRejectedException e) {
        onRejection.accept(e);
    }

    private ClusterId checkRules(X509Certificate[] chain, List<String> requiredUsages) throws CertificateRejectedException {
        X509Certificate leaf = checkCommon(chain);
        String subject = describe(leaf);
        if (staleCrl == StaleCrl.REFUSE && crlStale()) {
            throw new CertificateRejectedException(Rule.CRL_STALE, subject, "the CRL in force (number "
                    + crlNumber() + ") was due to be replaced at its nextUpdate " + crlNextUpdate().orElseThrow()
                    + " (now " + clock.instant() + ") and isthmus.peering.revocation.stale-crl = refuse: no new peering "
                    + "until a newer CRL is given (`isthmus mesh crl --ca DIR --admin URL`)");
        }
        List<String> usages = extendedKeyUsages(leaf);
        for (String required : requiredUsages) {
            if (usages == null || !usages.contains(required)) {
                throw new CertificateRejectedException(Rule.EXTENDED_KEY_USAGE, subject, (usages == null
                        ? "has no extendedKeyUsage extension" : "extendedKeyUsage " + usages + " lacks")
                        + " " + usageName(required) + " (" + required + ")");
            }
        }
        return PeerIdentity.of(leaf);
    }

    private static List<String> extendedKeyUsages(X509Certificate leaf) throws CertificateRejectedException {
        try {
            return leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new CertificateRejectedException(Rule.EXTENDED_KEY_USAGE, describe(leaf),
                    "extendedKeyUsage cannot be parsed: " + e.getMessage());
        }
    }

    /** The rules every certificate of this CA must pass, whatever it is for; returns the leaf. */
    private X509Certificate checkCommon(X509Certificate[] chain) throws CertificateRejectedException {
        if (chain == null || chain.length == 0 || chain[0] == null) {
            throw new CertificateRejectedException(Rule.NO_CERTIFICATE, "(none)", "the peer presented no certificate");
        }
        X509Certificate leaf = chain[0];
        String subject = describe(leaf);
        String caName = ca.getSubjectX500Principal().getName();
        if (!ca.getSubjectX500Principal().equals(leaf.getIssuerX500Principal())) {
            throw new CertificateRejectedException(Rule.UNTRUSTED_ISSUER, subject, "issued by '"
                    + leaf.getIssuerX500Principal().getName() + "', not by this clusterset's CA '" + caName + "'");
        }
        try {
            leaf.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new CertificateRejectedException(Rule.UNTRUSTED_ISSUER, subject, "names issuer '" + caName
                    + "' but its signature does not verify with that CA's key (another CA with the same name?): "
                    + e.getMessage());
        }
        if (leaf.getBasicConstraints() >= 0) {
            throw new CertificateRejectedException(Rule.NOT_END_ENTITY, subject,
                    "is a CA certificate; a gateway must present its own end-entity certificate");
        }
        Instant now = clock.instant();
        Instant notBefore = leaf.getNotBefore().toInstant();
        Instant notAfter = leaf.getNotAfter().toInstant();
        if (now.isBefore(notBefore)) {
            throw new CertificateRejectedException(Rule.NOT_YET_VALID, subject,
                    "not valid before " + notBefore + " (now " + now + "; is a clock wrong?)");
        }
        if (now.isAfter(notAfter)) {
            throw new CertificateRejectedException(Rule.EXPIRED, subject,
                    "expired at " + notAfter + " (now " + now + ")");
        }
        Crl current = crl.get();
        var entry = current.crl().getRevokedCertificate(leaf.getSerialNumber());
        if (entry != null) {
            throw new CertificateRejectedException(Rule.REVOKED, subject, "revoked at "
                    + entry.getRevocationDate().toInstant() + " (CRL number " + current.number() + ")");
        }
        boolean[] keyUsage = leaf.getKeyUsage();
        if (keyUsage == null || !keyUsage[0]) {
            throw new CertificateRejectedException(Rule.KEY_USAGE, subject, keyUsage == null
                    ? "has no keyUsage extension; a gateway certificate needs digitalSignature"
                    : "keyUsage lacks digitalSignature");
        }
        return leaf;
    }

    private BigInteger verifiedNumber(X509CRL candidate) {
        String issuer = candidate.getIssuerX500Principal().getName();
        String caName = ca.getSubjectX500Principal().getName();
        if (!ca.getSubjectX500Principal().equals(candidate.getIssuerX500Principal())) {
            throw new PkiException("CRL issued by '" + issuer + "' rejected: not this clusterset's CA '" + caName + "'");
        }
        try {
            candidate.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new PkiException("CRL naming issuer '" + issuer + "' rejected: its signature does not verify with "
                    + "this clusterset CA's key (" + e.getMessage() + ")");
        }
        return SignedCrl.numberOf(candidate);
    }

    @Override
    public String toString() {
        return "MeshTrust[ca=" + ca.getSubjectX500Principal().getName() + ", crl=" + crlNumber() + "]";
    }
}
