package io.isthmus.gateway.pki;

import java.security.cert.CertificateException;

/**
 * A peer's certificate failed one rule of the mesh trust policy. Thrown from the TLS trust manager (so it is the
 * cause of the {@code SSLHandshakeException}) and from {@link PeerIdentity} / {@link MeshTrust#verifyPeer}.
 * The message says which rule failed and for which subject; {@link #rule()} gives a fixed label for metrics.
 */
public final class CertificateRejectedException extends CertificateException {
    /** The rule that failed; {@link #label()} is a short, fixed string for metrics and logs. */
    public enum Rule {
        NO_CERTIFICATE("no-certificate"),
        PROTOCOL("protocol"),
        UNTRUSTED_ISSUER("untrusted-issuer"),
        NOT_END_ENTITY("not-end-entity"),
        NOT_YET_VALID("not-yet-valid"),
        EXPIRED("expired"),
        REVOKED("revoked"),
        KEY_USAGE("key-usage"),
        EXTENDED_KEY_USAGE("extended-key-usage"),
        IDENTITY("identity"),
        UNEXPECTED_CLUSTER("unexpected-cluster"),
        CRL_STALE("crl-stale");

        private final String label;

        Rule(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    private final Rule rule;
    private final String subject;
    private final String reason;

    public CertificateRejectedException(Rule rule, String subject, String reason) {
        super("certificate " + subject + " rejected [" + rule.label() + "]: " + reason);
        this.rule = rule;
        this.subject = subject;
        this.reason = reason;
    }

    public Rule rule() {
        return rule;
    }

    /** Who was rejected: the subject DN and serial, or a description when there was no certificate. */
    public String subject() {
        return subject;
    }

    /** Why, without the subject. */
    public String reason() {
        return reason;
    }
}
