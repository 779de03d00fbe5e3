package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

/** Shared test data: cluster ids, and certificates made by hand to break one rule at a time. */
final class Fixtures {
    static final ClusterId EAST = ClusterId.of("east");
    static final ClusterId WEST = ClusterId.of("west");
    static final ClusterId NORTH = ClusterId.of("north");
    static final Duration DAY = Duration.ofDays(1);

    private Fixtures() {
    }

    /** Issues a day-long certificate for {@code cluster} and writes it to {@code root/<cluster>/}. */
    static KeyFiles issue(ClustersetCa ca, ClusterId cluster, Path root) {
        return ca.issue(cluster, DAY).writeTo(root.resolve(cluster.value()));
    }

    static PrivateKey caKey(ClustersetCa ca) throws Exception {
        return Pem.privateKey("test CA key", Files.readAllBytes(ca.directory().resolve(ClustersetCa.CA_KEY)));
    }

    /** What a hand-made certificate has; {@link #gateway} is a correct one, the withers break it. */
    record Spec(String commonName, GeneralName[] sans, KeyPurposeId[] extendedKeyUsages, boolean ca) {
        static Spec gateway(ClusterId cluster) {
            return new Spec(cluster.value(), new GeneralName[] {
                    new GeneralName(GeneralName.dNSName, PeerIdentity.dnsNameFor(cluster)),
                    new GeneralName(GeneralName.uniformResourceIdentifier, PeerIdentity.uriFor(cluster))},
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}, false);
        }

        Spec withCommonName(String value) {
            return new Spec(value, sans, extendedKeyUsages, ca);
        }

        Spec withSans(GeneralName... value) {
            return new Spec(commonName, value, extendedKeyUsages, ca);
        }

        Spec withExtendedKeyUsages(KeyPurposeId... value) {
            return new Spec(commonName, sans, value, ca);
        }

        Spec asCa() {
            return new Spec(commonName, sans, extendedKeyUsages, true);
        }
    }

    static GeneralName uri(String value) {
        return new GeneralName(GeneralName.uniformResourceIdentifier, value);
    }

    /** A certificate per {@code spec} for {@code keys}, issued in {@code issuer}'s name and signed with {@code signer}. */
    static X509Certificate craft(Spec spec, KeyPair keys, X509Certificate issuer, PrivateKey signer) throws Exception {
        Instant now = Instant.now();
        var builder = new JcaX509v3CertificateBuilder(
                X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
                ClustersetCa.serial(new SecureRandom()), Date.from(now.minusSeconds(60)), Date.from(now.plus(DAY)),
                ClustersetCa.name(spec.commonName()), keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true,
                spec.ca() ? new BasicConstraints(0) : new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature
                | (spec.ca() ? KeyUsage.keyCertSign : 0)));
        if (spec.extendedKeyUsages().length > 0) {
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(spec.extendedKeyUsages()));
        }
        if (spec.sans().length > 0) {
            builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(spec.sans()));
        }
        return new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    }

    /** A certificate per {@code spec}, properly signed by {@code ca}. */
    static X509Certificate craft(Spec spec, KeyPair keys, ClustersetCa ca) throws Exception {
        return craft(spec, keys, ca.certificate(), caKey(ca));
    }

    /** Writes a hand-made certificate and its key as {@code dir/<name>.crt} and {@code .key}, for {@link KeyMaterial}. */
    static KeyMaterial keyMaterial(Path dir, String name, X509Certificate certificate, PrivateKey key) throws Exception {
        Files.createDirectories(dir);
        Path cert = dir.resolve(name + ".crt");
        Path keyFile = dir.resolve(name + ".key");
        Files.writeString(cert, Pem.certificate(certificate), StandardCharsets.US_ASCII);
        Files.writeString(keyFile, Pem.privateKey(key), StandardCharsets.US_ASCII);
        return KeyMaterial.load(cert, keyFile);
    }
}
