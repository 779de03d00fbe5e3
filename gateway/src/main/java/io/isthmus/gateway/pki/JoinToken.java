package io.isthmus.gateway.pki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A one-time invitation for one cluster to join the clusterset, printed by {@code isthmus mesh join-token}: where the
 * join service listens, the SHA-256 of the CA certificate (so the joining side trusts nothing it has not pinned, as
 * kubeadm's discovery hash does), the cluster it is for, the token's id and its 256-bit secret. The secret never
 * crosses the wire: the joining side proves it holds it with an HMAC over its certificate request
 * ({@link #proof}), which also binds that request to this token.
 */
public record JoinToken(URI service, String caSha256, ClusterId cluster, String id, byte[] secret) {
    static final String PREFIX = "isthmus-join-1.";
    static final Pattern ID = Pattern.compile("[0-9a-f]{16}");
    private static final ObjectMapper JSON = new ObjectMapper();

    public JoinToken {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(cluster, "cluster");
        if (!"https".equals(service.getScheme()) || service.getHost() == null || service.getPort() < 1) {
            throw new InvalidFieldException("service", service, "must be https://HOST:PORT, the join service's address");
        }
        if (caSha256 == null || !caSha256.matches("[0-9a-f]{64}")) {
            throw new InvalidFieldException("ca", caSha256, "must be the CA certificate's SHA-256 in lower-case hex");
        }
        if (id == null || !ID.matcher(id).matches()) {
            throw new InvalidFieldException("id", id, "must be 16 lower-case hex digits");
        }
        if (secret == null || secret.length != 32) {
            throw new InvalidFieldException("secret", secret == null ? "" : secret.length + " bytes", "must be 32 bytes");
        }
        secret = secret.clone();
    }

    @Override
    public byte[] secret() {
        return secret.clone();
    }

    /** The text handed to the joining cluster (it is a credential until used or expired: pass it like a password). */
    public String text() {
        var node = JSON.createObjectNode()
                .put("service", service.toString())
                .put("ca", caSha256)
                .put("cluster", cluster.value())
                .put("id", id)
                .put("secret", Base64.getUrlEncoder().withoutPadding().encodeToString(secret));
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(node.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Parses {@link #text()}; {@code field} names where it came from in the error. */
    public static JoinToken parse(String field, String text) {
        String trimmed = text == null ? "" : text.strip();
        if (!trimmed.startsWith(PREFIX)) {
            throw new InvalidFieldException(field, abbreviated(trimmed),
                    "is not a join token (it starts with " + PREFIX + "; print one with isthmus mesh join-token)");
        }
        JsonNode node;
        try {
            node = JSON.readTree(Base64.getUrlDecoder().decode(trimmed.substring(PREFIX.length())));
        } catch (IllegalArgumentException | IOException e) {
            throw new InvalidFieldException(field, abbreviated(trimmed), "is damaged (cut or changed in copying?): " + e.getMessage());
        }
        try {
            return new JoinToken(URI.create(text(node, "service")), text(node, "ca"), ClusterId.of(text(node, "cluster")),
                    text(node, "id"), Base64.getUrlDecoder().decode(text(node, "secret")));
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, abbreviated(trimmed), "is damaged: " + e.getMessage());
        }
    }

    /** HMAC-SHA256 under the secret over the id, the cluster and the DER certificate request. */
    public byte[] proof(byte[] certificationRequest) {
        return proof(secret, id, cluster, certificationRequest);
    }

    static byte[] proof(byte[] secret, String id, ClusterId cluster, byte[] certificationRequest) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            mac.update((id + "\n" + cluster.value() + "\n").getBytes(StandardCharsets.UTF_8));
            return mac.doFinal(certificationRequest);
        } catch (GeneralSecurityException e) {
            throw new PkiException("this JDK cannot compute HMAC-SHA256", e);
        }
    }

    /** The lower-case hex SHA-256 of a certificate's DER encoding: what a token pins. */
    public static String sha256(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot hash certificate " + certificate.getSubjectX500Principal(), e);
        }
    }

    private static String text(JsonNode node, String name) {
        JsonNode value = node.get(name);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("it has no " + name);
        }
        return value.asText();
    }

    private static String abbreviated(String text) {
        return text.length() <= 24 ? text : text.substring(0, 24) + "...";
    }

    /** Never prints the secret. */
    @Override
    public String toString() {
        return "JoinToken[cluster=" + cluster + ", id=" + id + ", service=" + service + ", secret=<redacted>]";
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof JoinToken that && service.equals(that.service) && caSha256.equals(that.caSha256)
                && cluster.equals(that.cluster) && id.equals(that.id) && MessageDigest.isEqual(secret, that.secret);
    }

    @Override
    public int hashCode() {
        return Objects.hash(service, caSha256, cluster, id);
    }
}
