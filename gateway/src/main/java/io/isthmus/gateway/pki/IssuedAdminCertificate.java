package io.isthmus.gateway.pki;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Objects;

/** What {@link ClustersetCa#issueAdmin} hands out for one admin user: certificate, private key, the CA certificate. */
public record IssuedAdminCertificate(AdminIdentity identity, X509Certificate certificate, String certificatePem,
                                     String privateKeyPem, String caCertificatePem) {
    public IssuedAdminCertificate {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(certificatePem, "certificatePem");
        Objects.requireNonNull(privateKeyPem, "privateKeyPem");
        Objects.requireNonNull(caCertificatePem, "caCertificatePem");
    }

    /** Where {@link #writeTo} puts them: {@code <user>.admin.crt}, {@code <user>.admin.key} and {@code ca.crt}. */
    public record Files(Path certificate, Path privateKey, Path caCertificate) {
    }

    public BigInteger serial() {
        return certificate.getSerialNumber();
    }

    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    /** Writes the three files into {@code dir} (created 0700 if missing); the key is 0600 and written first. */
    public Files writeTo(Path dir) {
        SecureFiles.ensureDirectory(dir);
        Files files = new Files(dir.resolve(identity.user() + ".admin.crt"), dir.resolve(identity.user() + ".admin.key"),
                dir.resolve(ClustersetCa.CA_CERTIFICATE));
        SecureFiles.replace(files.privateKey(), privateKeyPem.getBytes(StandardCharsets.US_ASCII), true);
        SecureFiles.replace(files.certificate(), certificatePem.getBytes(StandardCharsets.US_ASCII), false);
        SecureFiles.replace(files.caCertificate(), caCertificatePem.getBytes(StandardCharsets.US_ASCII), false);
        return files;
    }

    /** Never prints the private key. */
    @Override
    public String toString() {
        return "IssuedAdminCertificate[" + identity + ", serial=0x" + serial().toString(16) + ", notAfter=" + notAfter()
                + ", privateKey=<redacted>]";
    }
}
