package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where one gateway finds its PKI files: its certificate and key, the clusterset CA certificate, and the CRL.
 * {@link #in(Path, ClusterId)} is the layout {@link IssuedCertificate#writeTo} writes.
 */
public record KeyFiles(Path certificate, Path privateKey, Path caCertificate, Path crl) {
    public KeyFiles {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(caCertificate, "caCertificate");
        Objects.requireNonNull(crl, "crl");
    }

    /** {@code dir/<cluster>.crt}, {@code dir/<cluster>.key}, {@code dir/ca.crt}, {@code dir/ca.crl}. */
    public static KeyFiles in(Path dir, ClusterId cluster) {
        return new KeyFiles(dir.resolve(cluster.value() + ".crt"), dir.resolve(cluster.value() + ".key"),
                dir.resolve(ClustersetCa.CA_CERTIFICATE), dir.resolve(ClustersetCa.CRL));
    }
}
