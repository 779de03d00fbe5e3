package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509CRL;
import java.security.cert.X509CRLEntry;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * The clusterset certificate authority: one ECDSA P-256 key that signs every gateway's certificate and the CRL.
 * Lives in a directory on the operator's machine (or wherever {@code isthmus mesh} runs), never on a gateway:
 * <pre>
 * ca.crt              the CA certificate (PEM), distributed to every gateway
 * ca.key              the CA private key (PEM, PKCS#8, mode 0600)
 * ca.crl              the current CRL (PEM), distributed to every gateway
 * ca.lock             lock file: one issue/revoke at a time, across processes
 * issued/&lt;serial&gt;.crt every certificate issued (the index revoke works from; serial in lower-case hex)
 * </pre>
 * Instances are thread-safe; two processes may share a directory (operations take a file lock).
 */
public final class ClustersetCa {
    public static final String CA_CERTIFICATE = "ca.crt";
    public static final String CA_KEY = "ca.key";
    public static final String CRL = "ca.crl";
    public static final String LOCK = "ca.lock";
    public static final String ISSUED = "issued";

    static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    static final Duration CA_VALIDITY = Duration.ofDays(3650);
    static final Duration CRL_VALIDITY = Duration.ofDays(7);
    private static final java.util.regex.Pattern IP_LITERAL = java.util.regex.Pattern.compile("[0-9.]+|.*:.*");
    /** notBefore is this far before "now", so a peer whose clock is a little behind accepts a fresh certificate. */
    static final Duration BACKDATE = Duration.ofMinutes(1);

    private final Path dir;
    private final X509Certificate certificate;
    private final PrivateKey key;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    private ClustersetCa(Path dir, X509Certificate certificate, PrivateKey key, Clock clock) {
        this.dir = dir;
        this.certificate = certificate;
        this.key = key;
        this.clock = clock;
    }

    /**
     * Creates a new clusterset CA in {@code dir} (created 0700 if missing): key, self-signed certificate (10 years,
     * CA:true pathLen 0, keyCertSign|cRLSign, {@code CN=isthmus clusterset CA <random id>}) and an empty CRL number 1.
     * Refuses if {@code dir} already holds a CA (or any part of one).
     */
    public static ClustersetCa init(Path dir) {
        return init(dir, Clock.systemUTC());
    }

    static ClustersetCa init(Path dir, Clock clock) {
        Objects.requireNonNull(dir, "dir");
        for (String name : List.of(CA_CERTIFICATE, CA_KEY, CRL, ISSUED)) {
            if (Files.exists(dir.resolve(name))) {
                throw new PkiException("refusing to create a clusterset CA in " + dir + ": " + dir.resolve(name)
                        + " already exists (a CA is there already; use it, or choose an empty directory)");
            }
        }
        SecureFiles.ensureDirectory(dir);
        var random = new SecureRandom();
        KeyPair keyPair = newKeyPair();
        Instant now = now(clock);
        String id = HexFormat.of().formatHex(bytes(random, 8));
        X500Name subject = name("isthmus clusterset CA " + id);
        X509Certificate certificate = build(() -> {
            var builder = new JcaX509v3CertificateBuilder(subject, serial(random), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), subject, keyPair.getPublic());
            var extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false,
                    extensions.createSubjectKeyIdentifier(keyPair.getPublic()));
            return certificate(builder, keyPair.getPrivate());
        }, "the CA certificate");
        var ca = new ClustersetCa(dir, certificate, keyPair.getPrivate(), clock);
        X509CRL crl = ca.signCrl(BigInteger.ONE, List.of(), now);
        SecureFiles.createNew(dir.resolve(CA_KEY), Pem.privateKey(keyPair.getPrivate()).getBytes(StandardCharsets.US_ASCII), true);
        SecureFiles.createNew(dir.resolve(CA_CERTIFICATE), Pem.certificate(certificate).getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.createNew(dir.resolve(CRL), Pem.crl(crl).getBytes(StandardCharsets.US_ASCII), false);
        try {
            Files.createDirectory(dir.resolve(ISSUED), PosixFilePermissions.asFileAttribute(SecureFiles.OWNER_ONLY_DIRECTORY));
        } catch (IOException e) {
            throw new PkiException("cannot create " + dir.resolve(ISSUED), e);
        }
        return ca;
    }

    /** Reads the CA in {@code dir} back; checks that the key matches the certificate and the CRL is signed by it. */
    public static ClustersetCa load(Path dir) {
        return load(dir, Clock.systemUTC());
    }

    static ClustersetCa load(Path dir, Clock clock) {
        Objects.requireNonNull(dir, "dir");
        Path certFile = dir.resolve(CA_CERTIFICATE);
        Path keyFile = dir.resolve(CA_KEY);
        if (!Files.exists(certFile) && !Files.exists(keyFile)) {
            throw new PkiException("no clusterset CA in " + dir + ": " + certFile + " and " + keyFile
                    + " do not exist (create one with init)");
        }
        X509Certificate certificate = Pem.certificate("CA certificate " + certFile, SecureFiles.read(certFile, "CA certificate"));
        SecureFiles.requireOwnerOnly(keyFile, "CA private key");
        PrivateKey key = Pem.privateKey("CA private key " + keyFile, SecureFiles.read(keyFile, "CA private key"));
        if (certificate.getBasicConstraints() < 0) {
            throw new PkiException("CA certificate " + certFile + " (" + certificate.getSubjectX500Principal()
                    + ") is not a CA certificate (basicConstraints CA:false)");
        }
        requireMatchingKey(certificate, key, "CA private key " + keyFile + " does not belong to CA certificate " + certFile);
        var ca = new ClustersetCa(dir, certificate, key, clock);
        ca.readCrl(); // fails if missing or not ours
        return ca;
    }

    public Path directory() {
        return dir;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public String certificatePem() {
        return Pem.certificate(certificate);
    }

    /** The current CRL ({@code ca.crl}). */
    public SignedCrl currentCrl() {
        return new SignedCrl(readCrl());
    }

    /** A {@link MeshTrust} for this CA and its current CRL (convenient in tests and the demo; gateways use files). */
    public MeshTrust trust() {
        return MeshTrust.of(certificate, readCrl());
    }

    /**
     * Issues a gateway certificate for {@code cluster}: a new P-256 key, subject {@code CN=<cluster>}, SANs
     * {@code <cluster>.clusterset.isthmus} and {@code isthmus://cluster/<cluster>}, EKU serverAuth+clientAuth,
     * keyUsage digitalSignature, a random positive 128-bit serial, valid from one minute ago for {@code validity}.
     * Records it under {@code issued/} so {@link #revoke} can find it. Issuing again for a cluster is how a
     * certificate is rotated; the earlier certificates stay valid until they expire or are revoked.
     */
    public IssuedCertificate issue(ClusterId cluster, Duration validity) {
        KeyPair keyPair = newKeyPair();
        X509Certificate issued = issueFor(cluster, keyPair.getPublic(), validity);
        return new IssuedCertificate(cluster, issued, Pem.certificate(issued), Pem.privateKey(keyPair.getPrivate()),
                certificatePem(), Pem.crl(readCrl()));
    }

    /**
     * Issues a gateway certificate for {@code cluster} over {@code publicKey}, a key the cluster generated and keeps
     * (the join flow: only the public half reaches the CA). The same certificate as {@link #issue}, recorded the same.
     */
    public X509Certificate issueFor(ClusterId cluster, PublicKey publicKey, Duration validity) {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(publicKey, "publicKey");
        String what = "the certificate of cluster " + cluster;
        Instant now = now(clock);
        Instant notAfter = validUntil(now, validity, what);
        return locked(() -> {
            BigInteger serial = serial(random);
            X509Certificate issued = signLeaf(name(cluster.value()), publicKey, serial, now.minus(BACKDATE), notAfter,
                    new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}),
                    new GeneralNames(new GeneralName[] {
                            new GeneralName(GeneralName.dNSName, PeerIdentity.dnsNameFor(cluster)),
                            new GeneralName(GeneralName.uniformResourceIdentifier, PeerIdentity.uriFor(cluster))}),
                    what);
            SecureFiles.createNew(issuedDir().resolve(serial.toString(16) + ".crt"),
                    Pem.certificate(issued).getBytes(StandardCharsets.US_ASCII), false);
            return issued;
        });
    }

    /**
     * A short-lived certificate for the join service ({@link JoinService}): subject {@code CN=isthmus join service},
     * EKU serverAuth only and no cluster or admin SAN, so it can neither peer nor call an admin API. Not recorded in
     * {@code issued/}: it lives only in the memory of the process that serves joins.
     */
    public JoinService.Identity joinServiceIdentity(List<String> hosts, Duration validity) {
        String what = "the join service certificate";
        Instant now = now(clock);
        Instant notAfter = validUntil(now, validity, what);
        KeyPair keyPair = newKeyPair();
        GeneralName[] names = hosts.stream().map(host -> IP_LITERAL.matcher(host).matches()
                ? new GeneralName(GeneralName.iPAddress, host) : new GeneralName(GeneralName.dNSName, host))
                .toArray(GeneralName[]::new);
        X509Certificate issued = signLeaf(name("isthmus join service"), keyPair.getPublic(), serial(random),
                now.minus(BACKDATE), notAfter, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth), new GeneralNames(names),
                what);
        return new JoinService.Identity(keyPair.getPrivate(), issued, certificate);
    }

    /**
     * Issues an admin API client certificate for {@code who}: a new P-256 key, subject {@code CN=<user>,
     * O=isthmus admin}, the URI SAN {@code isthmus-admin:<role>:<user>} ({@link AdminIdentity}), EKU clientAuth only
     * (a gateway certificate has serverAuth too, and peering requires both), keyUsage digitalSignature, valid from one
     * minute ago for {@code validity}. Recorded under {@code issued/} like a gateway's, so
     * {@link #revokeAdmin} can find it.
     */
    public IssuedAdminCertificate issueAdmin(AdminIdentity who, Duration validity) {
        Objects.requireNonNull(who, "who");
        String what = "the admin certificate of user " + who.user();
        Instant now = now(clock);
        Instant notBefore = now.minus(BACKDATE);
        Instant notAfter = validUntil(now, validity, what);
        return locked(() -> {
            KeyPair keyPair = newKeyPair();
            BigInteger serial = serial(random);
            X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "isthmus admin")
                    .addRDN(BCStyle.CN, who.user()).build();
            X509Certificate issued = signLeaf(subject, keyPair.getPublic(), serial, notBefore, notAfter,
                    new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth),
                    new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, who.uri())), what);
            String pem = Pem.certificate(issued);
            SecureFiles.createNew(issuedDir().resolve(serial.toString(16) + ".crt"),
                    pem.getBytes(StandardCharsets.US_ASCII), false);
            return new IssuedAdminCertificate(who, issued, pem, Pem.privateKey(keyPair.getPrivate()), certificatePem());
        });
    }

    /** Revokes every admin certificate this CA issued for {@code user}, whatever its role (as {@link #revoke}). */
    public SignedCrl revokeAdmin(String user) {
        Objects.requireNonNull(user, "user");
        return locked(() -> {
            List<X509Certificate> ofUser = issuedCertificates().stream()
                    .filter(issued -> issued.admin() != null && issued.admin().user().equals(user))
                    .map(Issued::certificate)
                    .toList();
            if (ofUser.isEmpty()) {
                throw new PkiException("cannot revoke user " + user + ": this CA (" + dir
                        + ") never issued an admin certificate for them");
            }
            return revokeLocked(ofUser);
        });
    }

    /**
     * Signs the current revocations again as a new CRL (number + 1, nextUpdate in 7 days), for distribution before
     * the current one goes stale; run it regularly (well within 7 days) where peering refuses stale CRLs.
     */
    public SignedCrl refreshCrl() {
        return locked(() -> revokeLocked(List.of()));
    }

    /**
     * Revokes every certificate this CA ever issued for {@code cluster}: writes a new {@code ca.crl} (CRL number + 1,
     * thisUpdate now, nextUpdate in 7 days) holding those serials and all earlier revocations, and returns it for
     * distribution ({@link MeshTrust#updateCrl}). Certificates issued for the cluster later are not revoked by this.
     */
    public SignedCrl revoke(ClusterId cluster) {
        Objects.requireNonNull(cluster, "cluster");
        return locked(() -> {
            List<X509Certificate> ofCluster = issuedCertificates().stream()
                    .filter(issued -> cluster.equals(issued.cluster()))
                    .map(Issued::certificate)
                    .toList();
            if (ofCluster.isEmpty()) {
                throw new PkiException("cannot revoke cluster " + cluster + ": this CA (" + dir
                        + ") never issued a certificate for it");
            }
            return revokeLocked(ofCluster);
        });
    }

    /** A new CRL: the earlier revocations and {@code certificates}; written to {@code ca.crl}. Holds the lock. */
    private SignedCrl revokeLocked(List<X509Certificate> certificates) {
        X509CRL current = readCrl();
        var entries = new TreeMap<BigInteger, Instant>();
        Set<? extends X509CRLEntry> earlier = current.getRevokedCertificates();
        if (earlier != null) {
            earlier.forEach(entry -> entries.put(entry.getSerialNumber(), entry.getRevocationDate().toInstant()));
        }
        Instant now = now(clock);
        certificates.forEach(issued -> entries.putIfAbsent(issued.getSerialNumber(), now));
        X509CRL next = signCrl(SignedCrl.numberOf(current).add(BigInteger.ONE),
                entries.entrySet().stream().map(e -> new Revoked(e.getKey(), e.getValue())).toList(), now);
        SecureFiles.replace(dir.resolve(CRL), Pem.crl(next).getBytes(StandardCharsets.US_ASCII), false);
        return new SignedCrl(next);
    }

    /** Every gateway certificate in the index, oldest first, and whether the current CRL revokes it. */
    public List<IssuedEntry> issued() {
        Set<BigInteger> revoked = currentCrl().revokedSerials();
        return issuedCertificates().stream()
                .filter(issued -> issued.cluster() != null)
                .map(issued -> new IssuedEntry(issued.cluster(), issued.certificate().getSerialNumber(),
                        issued.certificate().getNotBefore().toInstant(), issued.certificate().getNotAfter().toInstant(),
                        revoked.contains(issued.certificate().getSerialNumber())))
                .sorted(Comparator.comparing(IssuedEntry::notBefore).thenComparing(IssuedEntry::cluster))
                .toList();
    }

    /** Every admin certificate in the index, oldest first, and whether the current CRL revokes it. */
    public List<IssuedAdminEntry> issuedAdmins() {
        Set<BigInteger> revoked = currentCrl().revokedSerials();
        return issuedCertificates().stream()
                .filter(issued -> issued.admin() != null)
                .map(issued -> new IssuedAdminEntry(issued.admin(), issued.certificate().getSerialNumber(),
                        issued.certificate().getNotBefore().toInstant(), issued.certificate().getNotAfter().toInstant(),
                        revoked.contains(issued.certificate().getSerialNumber())))
                .sorted(Comparator.comparing(IssuedAdminEntry::notBefore).thenComparing(e -> e.identity().user()))
                .toList();
    }

    @Override
    public String toString() {
        return "ClustersetCa[" + certificate.getSubjectX500Principal().getName() + " in " + dir + "]";
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** One certificate of the index: a gateway's ({@code cluster} set) or an admin's ({@code admin} set). */
    private record Issued(ClusterId cluster, AdminIdentity admin, X509Certificate certificate) {
    }

    private record Revoked(BigInteger serial, Instant at) {
    }

    private Path issuedDir() {
        return dir.resolve(ISSUED);
    }

    private List<Issued> issuedCertificates() {
        var result = new ArrayList<Issued>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(issuedDir(), "*.crt")) {
            for (Path file : files) {
                X509Certificate issued = Pem.certificate("issued certificate " + file, SecureFiles.read(file, "issued certificate"));
                try {
                    issued.verify(certificate.getPublicKey());
                } catch (GeneralSecurityException e) {
                    throw new PkiException("issued certificate " + file + " is not a certificate of this CA ("
                            + e.getMessage() + "); the index under " + issuedDir() + " is damaged");
                }
                result.add(classify(file, issued));
            }
        } catch (IOException e) {
            throw new PkiException("cannot list the issued certificates in " + issuedDir(), e);
        }
        return result;
    }

    private Issued classify(Path file, X509Certificate issued) {
        try {
            return new Issued(PeerIdentity.of(issued), null, issued);
        } catch (CertificateException notAGateway) {
            try {
                return new Issued(null, AdminIdentity.of(issued), issued);
            } catch (CertificateException notAnAdmin) {
                throw new PkiException("issued certificate " + file + " names neither a cluster ("
                        + notAGateway.getMessage() + ") nor an admin user (" + notAnAdmin.getMessage()
                        + "); the index under " + issuedDir() + " is damaged");
            }
        }
    }

    private X509CRL readCrl() {
        Path file = dir.resolve(CRL);
        X509CRL crl = Pem.crl("CRL " + file, SecureFiles.read(file, "CRL"));
        try {
            crl.verify(certificate.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new PkiException("CRL " + file + " is not signed by this CA (" + certificate.getSubjectX500Principal()
                    + "): " + e.getMessage());
        }
        return crl;
    }

    private X509CRL signCrl(BigInteger number, List<Revoked> revoked, Instant now) {
        return build(() -> {
            X509v2CRLBuilder builder = new JcaX509v2CRLBuilder(certificate, Date.from(now));
            builder.setNextUpdate(Date.from(now.plus(CRL_VALIDITY)));
            builder.addExtension(Extension.cRLNumber, false, new CRLNumber(number));
            builder.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(certificate));
            for (Revoked entry : revoked) {
                builder.addCRLEntry(entry.serial(), Date.from(entry.at()), CRLReason.privilegeWithdrawn);
            }
            return new JcaX509CRLConverter().getCRL(builder.build(signer(key)));
        }, "CRL number " + number);
    }

    /** Runs {@code action} holding this instance's monitor and the directory's lock file. */
    private synchronized <T> T locked(Supplier<T> action) {
        return SecureFiles.locked(dir.resolve(LOCK),
                "the CA in " + dir + " is being changed by another ClustersetCa in this process; retry", action);
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** An end-entity certificate signed by this CA: not a CA, digitalSignature only, with these EKUs and SANs. */
    private X509Certificate signLeaf(X500Name subject, PublicKey publicKey, BigInteger serial, Instant notBefore,
                                     Instant notAfter, ExtendedKeyUsage usage, GeneralNames names, String what) {
        return build(() -> {
            var builder = new JcaX509v3CertificateBuilder(certificate, serial, Date.from(notBefore), Date.from(notAfter),
                    subject, publicKey);
            var extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, usage);
            builder.addExtension(Extension.subjectAlternativeName, false, names);
            builder.addExtension(Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(publicKey));
            builder.addExtension(Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(certificate));
            return certificate(builder, key);
        }, what);
    }

    @FunctionalInterface
    private interface Builder<T> {
        T build() throws GeneralSecurityException, CertIOException, OperatorCreationException;
    }

    private static <T> T build(Builder<T> builder, String what) {
        try {
            return builder.build();
        } catch (GeneralSecurityException | CertIOException | OperatorCreationException e) {
            throw new PkiException("cannot sign " + what, e);
        }
    }

    private static X509Certificate certificate(X509v3CertificateBuilder builder, PrivateKey signingKey)
            throws OperatorCreationException, CertificateException {
        return new JcaX509CertificateConverter().getCertificate(builder.build(signer(signingKey)));
    }

    private static ContentSigner signer(PrivateKey signingKey) throws OperatorCreationException {
        return new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signingKey);
    }

    static KeyPair newKeyPair() {
        try {
            var generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JDK cannot generate EC P-256 keys", e);
        }
    }

    /** A random positive serial of 128 bits (RFC 5280 allows up to 20 octets). */
    static BigInteger serial(SecureRandom random) {
        BigInteger serial;
        do {
            serial = new BigInteger(1, bytes(random, 16));
        } while (serial.signum() == 0);
        return serial;
    }

    private static byte[] bytes(SecureRandom random, int count) {
        byte[] bytes = new byte[count];
        random.nextBytes(bytes);
        return bytes;
    }

    static X500Name name(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    }

    /** The end of a certificate issued {@code now} for {@code validity}; it must be positive and end before the CA's. */
    private Instant validUntil(Instant now, Duration validity, String what) {
        if (validity == null || validity.isNegative() || validity.isZero()) {
            throw new PkiException("invalid validity '" + validity + "' for " + what + ": must be a positive duration");
        }
        Instant notAfter = now.plus(validity);
        Instant caNotAfter = certificate.getNotAfter().toInstant();
        if (notAfter.isAfter(caNotAfter)) {
            throw new PkiException("invalid validity '" + validity + "' for " + what
                    + ": it would end at " + notAfter + ", after the CA certificate itself expires (" + caNotAfter + ")");
        }
        return notAfter;
    }

    /** X.509 times have whole seconds. */
    private static Instant now(Clock clock) {
        return clock.instant().truncatedTo(ChronoUnit.SECONDS);
    }

    /** Fails with {@code message} unless {@code key} is the private half of {@code certificate}'s public key. */
    static void requireMatchingKey(X509Certificate certificate, PrivateKey key, String message) {
        PublicKey publicKey = certificate.getPublicKey();
        if (!publicKey.getAlgorithm().equals(key.getAlgorithm())) {
            throw new PkiException(message + " (key algorithm " + key.getAlgorithm() + ", certificate key algorithm "
                    + publicKey.getAlgorithm() + ")");
        }
        try {
            String algorithm = SignedStatements.algorithm(key);
            byte[] probe = "isthmus key check".getBytes(StandardCharsets.US_ASCII);
            var signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(probe);
            byte[] signature = signer.sign();
            var verifier = Signature.getInstance(algorithm);
            verifier.initVerify(publicKey);
            verifier.update(probe);
            if (!verifier.verify(signature)) {
                throw new PkiException(message);
            }
        } catch (GeneralSecurityException e) {
            throw new PkiException(message, e);
        }
    }
}
