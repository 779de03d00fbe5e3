package io.isthmus.gateway.pki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.ClusterId;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequest;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The CA side of joining: one-time tokens kept beside the CA ({@code joins/<id>.json}, mode 0600, since each holds
 * its token's secret as the CA key file holds the CA's), and their redemption: a valid, unused, unexpired token and
 * a certificate request proven with its secret get the cluster's certificate, the CA certificate, the current CRL
 * and the peers' addresses; the token is then spent. One redemption at a time across processes
 * ({@code joins.lock}).
 */
public final class JoinTokens {
    public static final String DIRECTORY = "joins";
    static final Duration MAX_TTL = Duration.ofDays(7);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClustersetCa ca;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();

    public JoinTokens(ClustersetCa ca) {
        this(ca, Clock.systemUTC());
    }

    JoinTokens(ClustersetCa ca, Clock clock) {
        this.ca = Objects.requireNonNull(ca, "ca");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** What a redeemed token gives: everything a new gateway needs besides the private key it made itself. */
    public record Grant(ClusterId cluster, String certificatePem, String caCertificatePem, String crlPem,
                        List<String> peers) {
        public Grant {
            peers = List.copyOf(peers);
        }
    }

    /** A redemption request: the token id, the cluster, the DER PKCS#10 request and the HMAC proof. */
    public record Request(String id, ClusterId cluster, byte[] certificationRequest, byte[] proof) {
    }

    /**
     * A new token for {@code cluster}, valid for {@code ttl} (at most 7 days), whose certificate will be valid for
     * {@code certificateValidity}; {@code peers} ("host:port" of peering servers, checked by the caller) are handed to
     * the joining cluster as its first peers.
     */
    public JoinToken create(ClusterId cluster, Duration ttl, Duration certificateValidity, URI service, List<String> peers) {
        Objects.requireNonNull(cluster, "cluster");
        if (ttl == null || ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new PkiException("invalid --ttl '" + ttl + "': a join token lives between 1 second and 7 days");
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        byte[] idBytes = new byte[8];
        random.nextBytes(idBytes);
        JoinToken token = new JoinToken(service, JoinToken.sha256(ca.certificate()), cluster,
                HexFormat.of().formatHex(idBytes), secret);
        ObjectNode record = JSON.createObjectNode()
                .put("cluster", cluster.value())
                .put("secret", Base64.getEncoder().encodeToString(secret))
                .put("notAfter", clock.instant().plus(ttl).toString())
                .put("certificateValiditySeconds", certificateValidity.toSeconds());
        var peerList = record.putArray("peers");
        peers.forEach(peerList::add);
        locked(() -> {
            SecureFiles.ensureDirectory(directory());
            SecureFiles.createNew(file(token.id()), record.toString().getBytes(StandardCharsets.UTF_8), true);
            return null;
        });
        return token;
    }

    /**
     * Redeems a token: refuses, naming why, an unknown, spent or expired token, another cluster's, a wrong proof, or
     * a request that is not a valid P-256 request for {@code CN=<cluster>}. Spends the token only with a certificate
     * issued.
     */
    public Grant redeem(Request request) {
        Objects.requireNonNull(request, "request");
        if (request.id() == null || !JoinToken.ID.matcher(request.id()).matches()) {
            throw new JoinRefusedException("invalid token id '" + request.id() + "': must be 16 lower-case hex digits");
        }
        return locked(() -> {
            Path file = file(request.id());
            if (!Files.exists(file)) {
                throw new JoinRefusedException("join token " + request.id() + " is unknown to this CA: it was never "
                        + "issued here, or was removed; ask the CA holder for a new one (isthmus mesh join-token)");
            }
            ObjectNode record = (ObjectNode) read(file);
            ClusterId cluster = ClusterId.of(record.get("cluster").asText());
            if (record.hasNonNull("usedAt")) {
                throw new JoinRefusedException("join token " + request.id() + " for cluster " + cluster + " was already "
                        + "used at " + record.get("usedAt").asText() + "; a token joins once: ask for a new one");
            }
            Instant notAfter = Instant.parse(record.get("notAfter").asText());
            if (!clock.instant().isBefore(notAfter)) {
                throw new JoinRefusedException("join token " + request.id() + " for cluster " + cluster + " expired at "
                        + notAfter + "; ask for a new one (isthmus mesh join-token --ttl ...)");
            }
            if (!cluster.equals(request.cluster())) {
                throw new JoinRefusedException("join token " + request.id() + " is for cluster " + cluster + ", not "
                        + request.cluster());
            }
            byte[] secret = Base64.getDecoder().decode(record.get("secret").asText());
            byte[] expected = JoinToken.proof(secret, request.id(), cluster, request.certificationRequest());
            if (request.proof() == null || !MessageDigest.isEqual(expected, request.proof())) {
                throw new JoinRefusedException("join token " + request.id() + ": the proof does not match the token's "
                        + "secret (a changed token, or a request changed on the way)");
            }
            PublicKey key = requestedKey(cluster, request.certificationRequest());
            X509Certificate issued = ca.issueFor(cluster,
                    key, Duration.ofSeconds(record.get("certificateValiditySeconds").asLong()));
            record.put("usedAt", clock.instant().toString());
            record.put("serial", issued.getSerialNumber().toString(16));
            SecureFiles.replace(file, record.toString().getBytes(StandardCharsets.UTF_8), true);
            List<String> peers = new ArrayList<>();
            record.get("peers").forEach(peer -> peers.add(peer.asText()));
            return new Grant(cluster, Pem.certificate(issued), ca.certificatePem(), ca.currentCrl().pem(), peers);
        });
    }

    /** The public key of a valid, self-signed P-256 request whose subject is exactly {@code CN=<cluster>}. */
    private static PublicKey requestedKey(ClusterId cluster, byte[] der) {
        try {
            var request = new JcaPKCS10CertificationRequest(der);
            PublicKey key = request.getPublicKey();
            if (!request.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw new JoinRefusedException("the certificate request's signature is not valid");
            }
            if (!(key instanceof ECPublicKey ec) || ec.getParams().getOrder().bitLength() != 256) {
                throw new JoinRefusedException("the certificate request's key must be EC P-256, not " + key.getAlgorithm());
            }
            var commonNames = request.getSubject().getRDNs(BCStyle.CN);
            if (request.getSubject().getRDNs().length != 1 || commonNames.length != 1
                    || !cluster.value().equals(IETFUtils.valueToString(commonNames[0].getFirst().getValue()))) {
                throw new JoinRefusedException("the certificate request's subject must be CN=" + cluster + ", not "
                        + request.getSubject());
            }
            return key;
        } catch (IOException | IllegalArgumentException | GeneralSecurityException | OperatorCreationException
                 | PKCSException e) {
            throw new JoinRefusedException("the certificate request is not a valid PKCS#10 request: " + e.getMessage());
        }
    }

    private Path directory() {
        return ca.directory().resolve(DIRECTORY);
    }

    private Path file(String id) {
        return directory().resolve(id + ".json");
    }

    private static JsonNode read(Path file) {
        try {
            return JSON.readTree(SecureFiles.read(file, "join token"));
        } catch (IOException e) {
            throw new PkiException("join token record " + file + " is damaged: " + e.getMessage());
        }
    }

    private synchronized <T> T locked(Supplier<T> action) {
        return SecureFiles.locked(ca.directory().resolve("joins.lock"),
                "the join tokens in " + directory() + " are being changed in this process; retry", action);
    }
}
