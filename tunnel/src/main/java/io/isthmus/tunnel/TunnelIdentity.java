package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * Who one end of a tunnel is, as the key schedule binds it: the cluster id and the SHA-256 of the DER certificate
 * the gateway presents on the peering stream (for the remote end: the certificate its TLS session authenticated).
 * Keys derived for one pair of identities are useless to any other pair.
 */
public record TunnelIdentity(ClusterId cluster, byte[] certificateSha256) {
    public TunnelIdentity {
        if (certificateSha256.length != 32) {
            throw new IllegalArgumentException("a certificate fingerprint is 32 bytes of SHA-256, not "
                    + certificateSha256.length);
        }
        certificateSha256 = certificateSha256.clone();
    }

    public static TunnelIdentity of(ClusterId cluster, X509Certificate certificate) {
        try {
            return ofDer(cluster, certificate.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("certificate of " + cluster + " cannot be encoded as DER", e);
        }
    }

    public static TunnelIdentity ofDer(ClusterId cluster, byte[] certificateDer) {
        return new TunnelIdentity(cluster, sha256(certificateDer));
    }

    @Override
    public byte[] certificateSha256() {
        return certificateSha256.clone();
    }

    static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TunnelIdentity that && cluster.equals(that.cluster)
                && Arrays.equals(certificateSha256, that.certificateSha256);
    }

    @Override
    public int hashCode() {
        return cluster.hashCode() * 31 + Arrays.hashCode(certificateSha256);
    }

    @Override
    public String toString() {
        return cluster + "/sha256:" + HexFormat.of().formatHex(certificateSha256, 0, 8);
    }
}
