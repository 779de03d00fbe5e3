package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.List;
import java.util.Objects;

/**
 * What one cluster's segment ledger sends another (over peering, as {@code isthmus.plan.v1.PlanEnvelope}; see
 * {@link PlanWire}). Every message is idempotent: duplicates, retransmits and reordering are harmless.
 */
public sealed interface PlanMessage {

    /** Claimant → every known cluster: acknowledge my claim. Retransmitted until answered. */
    record ProposeClaim(Claim claim, List<ClusterId> members) implements PlanMessage {
        public ProposeClaim {
            Objects.requireNonNull(claim, "claim");
            members = List.copyOf(members);
        }
    }

    /** Why an acceptor did not acknowledge. */
    enum Refusal {
        /** The range overlaps a claim the acceptor acknowledged, a segment it knows is held, or a registration. */
        CONFLICT,
        /** The claimant counts other clusters than the acceptor does: majorities would not intersect. */
        MEMBERS_DIFFER,
        UNKNOWN_CLAIMANT,
        /** The range is not a segment of the acceptor's supernets: outside them, or not of the segment prefix. */
        NOT_A_SEGMENT,
        /** The claimant would hold or claim more segments of the kind than {@code plan.max-segments-per-member}. */
        SEGMENT_QUOTA
    }

    /** What stands in the way of a refused claim. */
    enum BlockerStatus { PENDING, HELD, REGISTERED }

    /**
     * Acceptor → claimant. {@code refusal}, {@code detail} and the blocker are null when acknowledged; a
     * registration travels as a claim with seq 0 and timestamp 0. An acknowledgement names the whole claim it
     * acknowledges ({@code acknowledgedClaim}), and carries the acceptor's {@code signature} over it, which the
     * host adds on the way out ({@link #signedWith}); both are null in a refusal.
     */
    record ClaimAnswer(ClaimId claim, ClusterId acceptor, boolean acknowledged, Refusal refusal, String detail,
                       Claim blocker, BlockerStatus blockerStatus, Claim acknowledgedClaim, AckSignature signature)
            implements PlanMessage {
        public ClaimAnswer {
            Objects.requireNonNull(claim, "claim");
            Objects.requireNonNull(acceptor, "acceptor");
        }

        public static ClaimAnswer acknowledged(Claim claim, ClusterId acceptor) {
            return new ClaimAnswer(claim.id(), acceptor, true, null, null, null, null, claim, null);
        }

        public static ClaimAnswer refused(ClaimId claim, ClusterId acceptor, Refusal refusal, String detail,
                                          Claim blocker, BlockerStatus blockerStatus) {
            return new ClaimAnswer(claim, acceptor, false, Objects.requireNonNull(refusal), detail, blocker, blockerStatus,
                    null, null);
        }

        public ClaimAnswer signedWith(AckSignature by) {
            return new ClaimAnswer(claim, acceptor, acknowledged, refusal, detail, blocker, blockerStatus,
                    acknowledgedClaim, by);
        }
    }

    /** Acceptor → claimant of a pending claim that blocks an earlier one: withdraw yours, the earlier one wins. */
    record ContestClaim(ClaimId contested, Claim earlier) implements PlanMessage {
        public ContestClaim {
            Objects.requireNonNull(contested, "contested");
            Objects.requireNonNull(earlier, "earlier");
        }
    }

    /** The views the sender knows (its own first); on every change of its own view, periodically and on connect. */
    record LedgerSnapshot(ClusterId sender, List<ClusterView> views) implements PlanMessage {
        public LedgerSnapshot {
            Objects.requireNonNull(sender, "sender");
            views = List.copyOf(views);
        }
    }
}
