package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.List;
import java.util.Objects;

/**
 * What one cluster ({@code origin}) holds, has pending and has registered, at one version of its ledger.
 * Versions only grow. Any claim of the origin with {@code seq <= highestClaimSeq} that is in neither list is over
 * for good (withdrawn or released): claims never come back, so even an old view says that truthfully.
 */
public record ClusterView(ClusterId origin, long version, long highestClaimSeq,
                          List<Claim> held, List<Claim> pending, List<Registration> registered) {
    public ClusterView {
        Objects.requireNonNull(origin, "origin");
        held = List.copyOf(held);
        pending = List.copyOf(pending);
        registered = List.copyOf(registered);
    }

    public static ClusterView empty(ClusterId origin) {
        return new ClusterView(origin, 0, 0, List.of(), List.of(), List.of());
    }

    /** True when this view proves the claim is over: issued, and neither held nor pending any more. */
    public boolean provesOver(ClaimId id) {
        return id.claimant().equals(origin) && id.seq() <= highestClaimSeq && !mentions(id);
    }

    public boolean showsHeld(ClaimId id) {
        return held.stream().anyMatch(c -> c.id().equals(id));
    }

    private boolean mentions(ClaimId id) {
        return showsHeld(id) || pending.stream().anyMatch(c -> c.id().equals(id));
    }
}
