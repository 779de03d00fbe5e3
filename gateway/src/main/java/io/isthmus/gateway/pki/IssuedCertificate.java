package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;

/**
 * What {@link ClustersetCa#issue} hands out for one gateway: its certificate and private key (PEM, PKCS#8), the CA
 * certificate, and the CA's current CRL, so a new gateway starts out knowing every revoked cluster.
 */
public record IssuedCertificate(ClusterId cluster, X509Certificate certificate, String certificatePem,
                                String privateKeyPem, String caCertificatePem, String crlPem) {
    public IssuedCertificate {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(certificatePem, "certificatePem");
        Objects.requireNonNull(privateKeyPem, "privateKeyPem");
        Objects.requireNonNull(caCertificatePem, "caCertificatePem");
        Objects.requireNonNull(crlPem, "crlPem");
    }

    public BigInteger serial() {
        return certificate.getSerialNumber();
    }

    public Instant notBefore() {
        return certificate.getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    /**
     * Writes {@code <cluster>.crt}, {@code <cluster>.key} (mode 0600), {@code ca.crt} and {@code ca.crl} into
     * {@code dir} (created 0700 if missing), each replaced atomically, so a running gateway's
     * {@link KeyMaterial#reloadIfChanged()} picks up a rotation from the same paths. The key is written first.
     */
    public KeyFiles writeTo(Path dir) {
        SecureFiles.ensureDirectory(dir);
        KeyFiles files = KeyFiles.in(dir, cluster);
        SecureFiles.replace(files.privateKey(), privateKeyPem.getBytes(StandardCharsets.US_ASCII), true);
        SecureFiles.replace(files.certificate(), certificatePem.getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(files.caCertificate(), caCertificatePem.getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(files.crl(), crlPem.getBytes(StandardCharsets.US_ASCII), false);
        return files;
    }

    /** Never prints the private key. */
    @Override
    public String toString() {
        return "IssuedCertificate[cluster=" + cluster + ", serial=0x" + serial().toString(16)
                + ", notBefore=" + notBefore() + ", notAfter=" + notAfter() + ", privateKey=<redacted>]";
    }
}
