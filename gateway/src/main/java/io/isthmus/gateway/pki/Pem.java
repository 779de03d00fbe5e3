package io.isthmus.gateway.pki;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

/** PEM text in and out: certificates, CRLs and PKCS#8 private keys. {@code what} names the source in errors. */
final class Pem {
    private Pem() {
    }

    static String encode(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    static String certificate(X509Certificate certificate) {
        try {
            return encode("CERTIFICATE", certificate.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new PkiException("cannot encode certificate " + certificate.getSubjectX500Principal(), e);
        }
    }

    static String crl(X509CRL crl) {
        try {
            return encode("X509 CRL", crl.getEncoded());
        } catch (CRLException e) {
            throw new PkiException("cannot encode CRL of " + crl.getIssuerX500Principal(), e);
        }
    }

    /** PKCS#8 ("BEGIN PRIVATE KEY"); the JDK's key encoding already is PKCS#8. */
    static String privateKey(PrivateKey key) {
        if (!"PKCS#8".equals(key.getFormat())) {
            throw new PkiException("private key of algorithm " + key.getAlgorithm() + " has format " + key.getFormat()
                    + ", not PKCS#8");
        }
        return encode("PRIVATE KEY", key.getEncoded());
    }

    static List<X509Certificate> certificates(String what, byte[] pemOrDer) {
        List<X509Certificate> result;
        try {
            result = factory().generateCertificates(new ByteArrayInputStream(pemOrDer)).stream()
                    .map(X509Certificate.class::cast)
                    .toList();
        } catch (CertificateException e) {
            throw new PkiException(what + " is not a PEM or DER X.509 certificate", e);
        }
        if (result.isEmpty()) {
            throw new PkiException(what + " contains no certificate");
        }
        return result;
    }

    static X509Certificate certificate(String what, byte[] pemOrDer) {
        List<X509Certificate> all = certificates(what, pemOrDer);
        if (all.size() != 1) {
            throw new PkiException(what + " contains " + all.size() + " certificates; expected exactly one");
        }
        return all.getFirst();
    }

    static X509CRL crl(String what, byte[] pemOrDer) {
        java.security.cert.CRL crl;
        try {
            crl = factory().generateCRL(new ByteArrayInputStream(pemOrDer));
        } catch (CertificateException | CRLException | RuntimeException e) {
            throw new PkiException(what + " is not a PEM or DER X.509 CRL", e);
        }
        if (!(crl instanceof X509CRL x509)) {
            throw new PkiException(what + " contains no X.509 CRL");
        }
        return x509;
    }

    /** An unencrypted private key: PKCS#8 ("PRIVATE KEY") or OpenSSL's traditional form ("EC PRIVATE KEY"). */
    static PrivateKey privateKey(String what, byte[] pem) {
        Object parsed;
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            parsed = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new PkiException(what + " is not a PEM private key", e);
        }
        var converter = new JcaPEMKeyConverter();
        try {
            return switch (parsed) {
                case null -> throw new PkiException(what + " contains no PEM block; expected '-----BEGIN PRIVATE KEY-----'");
                case PrivateKeyInfo info -> converter.getPrivateKey(info);
                case PEMKeyPair pair -> converter.getKeyPair(pair).getPrivate();
                case PKCS8EncryptedPrivateKeyInfo ignored ->
                        throw new PkiException(what + " is an encrypted private key; isthmus needs it unencrypted (file mode 0600)");
                case PEMEncryptedKeyPair ignored ->
                        throw new PkiException(what + " is an encrypted private key; isthmus needs it unencrypted (file mode 0600)");
                default -> throw new PkiException(what + " holds a " + parsed.getClass().getSimpleName()
                        + " PEM block, not a private key");
            };
        } catch (IOException e) {
            throw new PkiException(what + " holds a private key of an unsupported algorithm", e);
        }
    }

    private static CertificateFactory factory() throws CertificateException {
        return CertificateFactory.getInstance("X.509");
    }
}
