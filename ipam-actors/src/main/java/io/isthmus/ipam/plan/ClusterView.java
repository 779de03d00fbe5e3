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
                          List<Claim> held, List<Claim> pending, List<Registration> registered,
                          List<AckSignature.HeldEvidence> evidence) {
    public ClusterView {
        Objects.requireNonNull(origin, "origin");
        held = List.copyOf(held);
        pending = List.copyOf(pending);
        registered = List.copyOf(registered);
        evidence = evidence == null ? List.of() : List.copyOf(evidence); // null: a view journaled before evidence
    }

    /** A view without evidence for its held claims (tests; views of single-member clustersets need none). */
    public ClusterView(ClusterId origin, long version, long highestClaimSeq, List<Claim> held, List<Claim> pending,
                       List<Registration> registered) {
        this(origin, version, highestClaimSeq, held, pending, registered, List.of());
    }

    /** The acknowledgements {@code id} carries here (none when the view has no evidence for it). */
    public List<AckSignature> evidenceOf(ClaimId id) {
        return evidence.stream().filter(e -> e.claim().equals(id)).findFirst()
                .map(AckSignature.HeldEvidence::acks).orElse(List.of());
    }

    public static ClusterView empty(ClusterId origin) {
        return new ClusterView(origin, 0, 0, List.of(), List.of(), List.of(), List.of());
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
