package io.isthmus.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import java.util.Comparator;
import java.util.Optional;

/**
 * One policy's latest word in the clusterset: the policy, or its deletion (a tombstone, kept so that a peer that
 * missed the delete cannot bring the policy back), at a revision, written by {@code origin}. Of two entries for the
 * same name the one with the greater (revision, origin) wins ({@link #NEWER_FIRST}): two clusters editing the same
 * revision at once end with the edit of the greater cluster id, in every cluster. Two different entries of one origin
 * at one revision (two replicas of a cluster writing at once) are ordered by their canonical text, so even then
 * every cluster picks the same one. {@code seal} is the origin's signature over {@link #statement()}, so a peer that
 * relays an entry cannot change it or write in another cluster's name; the gateway makes and checks it (this module
 * only carries it). It takes no part in ordering or in the book's version.
 */
public record PolicyEntry(String name, Optional<Policy> policy, long revision, ClusterId origin, Optional<Seal> seal) {
    /** The origin's signature (base64) over {@link #statement()}, and the certificate (base64 DER) that checks it. */
    public record Seal(String signature, String certificate) {
        public Seal {
            java.util.Objects.requireNonNull(signature, "signature");
            java.util.Objects.requireNonNull(certificate, "certificate");
        }
    }

    /** Greater (revision, origin) first. */
    public static final Comparator<PolicyEntry> NEWER_FIRST = Comparator.comparingLong(PolicyEntry::revision)
            .thenComparing(PolicyEntry::origin).thenComparing(PolicyEntry::content).reversed();

    /** An entry not sealed (yet). */
    public PolicyEntry(String name, Optional<Policy> policy, long revision, ClusterId origin) {
        this(name, policy, revision, origin, Optional.empty());
    }

    public PolicyEntry {
        seal = seal == null ? Optional.empty() : seal;
        Policy.requireName(name);
        if (policy.isPresent() && !policy.get().name().equals(name)) {
            throw new InvalidFieldException("metadata.name", policy.get().name(), "must be the entry's name " + name);
        }
        if (revision < 1) {
            throw new InvalidFieldException("revision", revision, "must be at least 1");
        }
    }

    /** The canonical text of the policy; empty for a deletion. */
    public String content() {
        return policy.map(PolicyCodec::canonicalJson).orElse("");
    }

    /** What the origin signs: name, revision, origin and the canonical policy (empty for a deletion). */
    public byte[] statement() {
        return ("isthmus-policy-entry/1\n" + name + "\n" + revision + "\n" + origin.value() + "\n" + content())
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    public PolicyEntry sealedWith(Seal by) {
        return new PolicyEntry(name, policy, revision, origin, Optional.of(by));
    }

    public boolean deleted() {
        return policy.isEmpty();
    }

    /** Whether this entry wins over {@code other} (same name). */
    public boolean supersedes(PolicyEntry other) {
        return NEWER_FIRST.compare(this, other) < 0;
    }
}
