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
 * every cluster picks the same one.
 */
public record PolicyEntry(String name, Optional<Policy> policy, long revision, ClusterId origin) {
    /** Greater (revision, origin) first. */
    public static final Comparator<PolicyEntry> NEWER_FIRST = Comparator.comparingLong(PolicyEntry::revision)
            .thenComparing(PolicyEntry::origin).thenComparing(PolicyEntry::content).reversed();

    public PolicyEntry {
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

    public boolean deleted() {
        return policy.isEmpty();
    }

    /** Whether this entry wins over {@code other} (same name). */
    public boolean supersedes(PolicyEntry other) {
        return NEWER_FIRST.compare(this, other) < 0;
    }
}
