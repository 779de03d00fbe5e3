package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.Objects;

/** Names one claim: its claimant and a sequence number that only grows at the claimant, also across restarts. */
public record ClaimId(ClusterId claimant, long seq) implements Comparable<ClaimId> {
    public ClaimId {
        Objects.requireNonNull(claimant, "claimant");
    }

    @Override
    public int compareTo(ClaimId other) {
        int byClaimant = claimant.compareTo(other.claimant);
        return byClaimant != 0 ? byClaimant : Long.compare(seq, other.seq);
    }

    @Override
    public String toString() {
        return claimant + "#" + seq;
    }
}
