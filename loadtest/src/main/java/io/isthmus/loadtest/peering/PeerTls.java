package io.isthmus.loadtest.peering;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;

/**
 * A simulated cluster's side of peering's mutual TLS, in plain JDK code: its certificate and PKCS#8 key from the
 * files {@code isthmus mesh issue} writes ({@code <cluster>.crt}, {@code <cluster>.key}), trusting the
 * clusterset CA ({@code ca.crt}); TLS 1.3.
 *
 * <p>The gateway's certificate names a cluster, not a host (there is no IP address in it), so the hostname check
 * that gRPC's Netty client asks the JDK for ({@code endpointIdentificationAlgorithm = HTTPS}) must not run: the
 * trust manager here checks the chain against the CA (the JDK's PKIX rules) and ignores the host name, as the
 * gateway's own client does. The CRL is not checked: the benchmark revokes nothing.
 */
final class PeerTls {
    static final String PROTOCOL = "TLSv1.3";

    private PeerTls() {
    }

    static SSLContext clientContext(Path dir, String cluster) throws IOException, GeneralSecurityException {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        Collection<? extends Certificate> chain;
        X509Certificate ca;
        try {
            chain = x509.generateCertificates(new ByteArrayInputStream(Files.readAllBytes(dir.resolve(cluster + ".crt"))));
            ca = (X509Certificate) x509.generateCertificate(new ByteArrayInputStream(Files.readAllBytes(dir.resolve("ca.crt"))));
        } catch (CertificateException e) {
            throw new GeneralSecurityException("cannot read the certificates in " + dir + ": " + e.getMessage(), e);
        }
        PrivateKey key = privateKey(dir.resolve(cluster + ".key"));

        char[] password = "bench".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry(cluster, key, password, chain.toArray(new Certificate[0]));
        KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, password);

        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("clusterset-ca", ca);
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance("PKIX");
        trustManagers.init(trusted);
        X509TrustManager pkix = null;
        for (TrustManager manager : trustManagers.getTrustManagers()) {
            if (manager instanceof X509TrustManager x) {
                pkix = x;
            }
        }
        if (pkix == null) {
            throw new GeneralSecurityException("the JDK offers no X.509 trust manager");
        }

        SSLContext context = SSLContext.getInstance(PROTOCOL);
        context.init(keyManagers.getKeyManagers(), new TrustManager[] {new CaOnly(pkix)}, null);
        return context;
    }

    /** An unencrypted PKCS#8 key ({@code -----BEGIN PRIVATE KEY-----}), EC as the clusterset CA issues, or RSA. */
    static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file, StandardCharsets.US_ASCII);
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException(file + " holds no PKCS#8 private key (-----BEGIN PRIVATE KEY-----)");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
        GeneralSecurityException last = null;
        for (String algorithm : new String[] {"EC", "RSA", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(file + ": not an EC, RSA or Ed25519 PKCS#8 key", last);
    }

    /** Chain checks by the JDK's PKIX trust manager against the CA alone; no host name check. */
    private static final class CaOnly extends X509ExtendedTrustManager {
        private final X509TrustManager pkix;

        CaOnly(X509TrustManager pkix) {
            this.pkix = pkix;
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            pkix.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            pkix.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            pkix.checkServerTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("a simulated peer is a client only");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            checkClientTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return pkix.getAcceptedIssuers();
        }
    }
}
