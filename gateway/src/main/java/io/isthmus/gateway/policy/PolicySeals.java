package io.isthmus.gateway.policy;

import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.SignedStatements;
import io.isthmus.policy.PolicyEntry;

import java.security.cert.CertificateEncodingException;
import java.util.Base64;
import java.util.Optional;
import java.util.function.Function;

/**
 * Seals the policy entries this cluster writes with the key of its clusterset certificate, and checks the seals of
 * entries peers send: each entry must be sealed by its origin. Any member may write any policy (there is no leader),
 * but only in its own name, and an entry a peer relays arrives exactly as its origin wrote it.
 */
public final class PolicySeals {
    private final Function<byte[], KeyMaterial.Signed> signer;
    private final SignedStatements statements;

    public PolicySeals(Function<byte[], KeyMaterial.Signed> signer, SignedStatements statements) {
        this.signer = signer;
        this.statements = statements;
    }

    public PolicyEntry seal(PolicyEntry entry) {
        KeyMaterial.Signed signed = signer.apply(entry.statement());
        try {
            return entry.sealedWith(new PolicyEntry.Seal(Base64.getEncoder().encodeToString(signed.signature()),
                    Base64.getEncoder().encodeToString(signed.certificate().getEncoded())));
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("a loaded certificate always encodes", e);
        }
    }

    /** Why {@code entry} is not sealed by its origin, or empty when it is. */
    public Optional<String> whyNotSealed(PolicyEntry entry) {
        if (entry.seal().isEmpty()) {
            return Optional.of("it carries no seal of its origin " + entry.origin());
        }
        try {
            return statements.whyNotSignedBy(entry.origin(), entry.statement(),
                    Base64.getDecoder().decode(entry.seal().get().signature()),
                    Base64.getDecoder().decode(entry.seal().get().certificate()))
                    .map(why -> "its seal is not " + entry.origin() + "'s: " + why);
        } catch (IllegalArgumentException e) {
            return Optional.of("its seal is not base64");
        }
    }
}
