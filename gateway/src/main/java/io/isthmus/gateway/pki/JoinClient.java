package io.isthmus.gateway.pki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * The joining side: makes the cluster's P-256 key here (it never leaves this machine), sends a certificate request
 * proven with the token's secret to the join service, trusting only the CA whose hash the token pins, checks what
 * comes back (the CA is the pinned one, the certificate is this cluster's over this key, the CRL is the CA's), and
 * writes the gateway's tls directory: the key, the certificate, ca.crt, ca.crl and {@value #PEERS_FILE} (the peers'
 * peering addresses, one "host:port" per line, which the gateway adds to isthmus.peering.peers).
 */
public final class JoinClient {
    public static final String PEERS_FILE = "peers.joined";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JoinClient() {
    }

    /** What a join wrote. */
    public record Joined(ClusterId cluster, KeyFiles files, X509Certificate certificate, List<String> peers, Path peersFile) {
    }

    /** True when {@code tlsDir} already holds {@code cluster}'s certificate (a join would replace its key). */
    public static boolean holdsCertificate(Path tlsDir, ClusterId cluster) {
        return Files.exists(KeyFiles.in(tlsDir, cluster).certificate());
    }

    /**
     * Joins with {@code token} into {@code tlsDir}. Refuses before spending the token if the directory already holds
     * the cluster's certificate, unless {@code replace}.
     */
    public static Joined join(JoinToken token, Path tlsDir, boolean replace, Duration timeout) {
        ClusterId cluster = token.cluster();
        if (holdsCertificate(tlsDir, cluster) && !replace) {
            throw new PkiException(tlsDir + " already holds cluster " + cluster + "'s certificate: a joined cluster "
                    + "rotates with isthmus mesh issue; to join again anyway and replace its key, pass --force");
        }
        KeyPair keyPair = ClustersetCa.newKeyPair();
        byte[] request = certificationRequest(cluster, keyPair);
        var body = JSON.createObjectNode()
                .put("id", token.id())
                .put("cluster", cluster.value())
                .put("csr", Base64.getEncoder().encodeToString(request))
                .put("proof", Base64.getEncoder().encodeToString(token.proof(request)));
        JsonNode answer = post(token, body.toString(), timeout);
        X509Certificate ca = Pem.certificate("the CA certificate from the join service",
                text(answer, "ca").getBytes(StandardCharsets.US_ASCII));
        if (!JoinToken.sha256(ca).equals(token.caSha256())) {
            throw new PkiException("the join service sent a CA certificate other than the one the token pins; nothing "
                    + "was written");
        }
        X509Certificate certificate = Pem.certificate("the certificate from the join service",
                text(answer, "certificate").getBytes(StandardCharsets.US_ASCII));
        X509CRL crl = Pem.crl("the CRL from the join service", text(answer, "crl").getBytes(StandardCharsets.US_ASCII));
        try {
            certificate.verify(ca.getPublicKey());
            crl.verify(ca.getPublicKey());
            if (!Arrays.equals(certificate.getPublicKey().getEncoded(), keyPair.getPublic().getEncoded())
                    || !PeerIdentity.of(certificate).equals(cluster)) {
                throw new PkiException("the join service sent a certificate that is not cluster " + cluster
                        + "'s over the key made here; nothing was written");
            }
        } catch (GeneralSecurityException e) {
            throw new PkiException("the join service sent a certificate or CRL the pinned CA did not sign: "
                    + e.getMessage() + "; nothing was written");
        }
        List<String> peers = new ArrayList<>();
        answer.path("peers").forEach(peer -> peers.add(peer.asText()));
        KeyFiles files = new IssuedCertificate(cluster, certificate, Pem.certificate(certificate),
                Pem.privateKey(keyPair.getPrivate()), Pem.certificate(ca), Pem.crl(crl)).writeTo(tlsDir);
        Path peersFile = tlsDir.resolve(PEERS_FILE);
        SecureFiles.replace(peersFile, String.join("\n", peers).concat(peers.isEmpty() ? "" : "\n")
                .getBytes(StandardCharsets.UTF_8), false);
        return new Joined(cluster, files, certificate, List.copyOf(peers), peersFile);
    }

    private static byte[] certificationRequest(ClusterId cluster, KeyPair keyPair) {
        try {
            return new JcaPKCS10CertificationRequestBuilder(ClustersetCa.name(cluster.value()), keyPair.getPublic())
                    .build(new JcaContentSignerBuilder(ClustersetCa.SIGNATURE_ALGORITHM).build(keyPair.getPrivate()))
                    .getEncoded();
        } catch (OperatorCreationException | IOException e) {
            throw new PkiException("cannot make the certificate request", e);
        }
    }

    private static JsonNode post(JoinToken token, String body, Duration timeout) {
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .sslContext(pinnedContext(token.caSha256()))
                .build();
        HttpResponse<String> response;
        HttpRequest request = HttpRequest.newBuilder(token.service().resolve(JoinService.PATH))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try (client) {
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException closedBeforeAnswer) {
                // The JDK's HTTPS server now and then closes a fresh connection before reading the request (seen
                // here as "header parser received no bytes"): one more try. Had the service taken the request, the
                // token is spent and the second try says so.
                Thread.sleep(200);
                response = client.send(request, HttpResponse.BodyHandlers.ofString());
            }
        } catch (IOException e) {
            throw new PkiException("cannot reach the join service at " + token.service() + ": " + e.getMessage()
                    + " (is isthmus mesh serve-joins running there, and is this the CA the token names?)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PkiException("interrupted while joining at " + token.service(), e);
        }
        JsonNode answer;
        try {
            answer = JSON.readTree(response.body());
        } catch (IOException e) {
            throw new PkiException("the join service at " + token.service() + " answered HTTP " + response.statusCode()
                    + " with something that is not JSON");
        }
        if (response.statusCode() == 403) {
            throw new JoinRefusedException(answer.path("error").asText("refused"));
        }
        if (response.statusCode() != 200) {
            throw new PkiException("the join service at " + token.service() + " answered HTTP " + response.statusCode()
                    + ": " + answer.path("error").asText(""));
        }
        return answer;
    }

    private static String text(JsonNode answer, String field) {
        JsonNode value = answer.get(field);
        if (value == null || !value.isTextual()) {
            throw new PkiException("the join service's answer has no " + field);
        }
        return value.asText();
    }

    /**
     * Trusts a server whose chain ends in the CA with this SHA-256 and whose leaf that CA signed for serverAuth.
     * The JDK still checks the host name against the leaf's SANs.
     */
    private static SSLContext pinnedContext(String caSha256) {
        X509TrustManager pinned = new X509TrustManager() {
            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                X509Certificate ca = Arrays.stream(chain).filter(c -> JoinToken.sha256(c).equals(caSha256)).findFirst()
                        .orElseThrow(() -> new CertificateException("the join service's chain does not contain the CA "
                                + "the token pins (" + caSha256 + ")"));
                try {
                    var parameters = new PKIXParameters(Set.of(new TrustAnchor(ca, null)));
                    parameters.setRevocationEnabled(false);
                    CertPathValidator.getInstance("PKIX").validate(
                            CertificateFactory.getInstance("X.509").generateCertPath(List.of(chain[0])), parameters);
                    if (chain[0].getExtendedKeyUsage() == null || !chain[0].getExtendedKeyUsage().contains("1.3.6.1.5.5.7.3.1")) {
                        throw new CertificateException("the join service's certificate is not for serverAuth");
                    }
                } catch (GeneralSecurityException e) {
                    throw new CertificateException("the join service's certificate is not signed by the pinned CA: "
                            + e.getMessage(), e);
                }
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                throw new CertificateException("a join client authenticates no one");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        };
        try {
            SSLContext context = SSLContext.getInstance("TLSv1.3");
            context.init(null, new TrustManager[] {pinned}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot build the join client's TLS context", e);
        }
    }
}
