package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.Objects;

/**
 * What happened to one cluster's ledger: the journal of the {@link SegmentLedger} entity, and everything
 * {@link PlanState} is made of (a state is exactly the fold of its events, so a restart loses nothing).
 * Plain records of strings, numbers and enums, for Jackson CBOR.
 */
public sealed interface PlanEvent {

    /** A local request for a segment; {@code cidr} is empty for "any free segment of this kind". */
    record RequestOpened(String requestId, SegmentKind kind, String cidr, long deadline, boolean automatic)
            implements PlanEvent {
        public RequestOpened {
            Objects.requireNonNull(requestId, "requestId");
            Objects.requireNonNull(kind, "kind");
            cidr = cidr == null ? "" : cidr;
        }
    }

    /** We proposed a claim for a request (and, as our own acceptor, acknowledged it). */
    record ClaimStarted(String requestId, Claim claim) implements PlanEvent {
    }

    /**
     * An acceptor acknowledged our pending claim; {@code signature} is its signed acknowledgement (null when it sent
     * none, or in events journaled before acknowledgements were signed).
     */
    record AckReceived(ClaimId claim, ClusterId acceptor, AckSignature signature) implements PlanEvent {
    }

    /** A majority acknowledged our claim: we hold it until we release it. Closes its request. */
    record ClaimHeld(ClaimId claim) implements PlanEvent {
    }

    /**
     * We gave up a pending claim for good (it can never become held); {@code avoid} is the range that beat it
     * (empty if none), which its request keeps out of later choices.
     */
    record ClaimWithdrawn(ClaimId claim, String reason, String avoid) implements PlanEvent {
        public ClaimWithdrawn {
            avoid = avoid == null ? "" : avoid;
        }
    }

    record RequestFailed(String requestId, String reason, long at) implements PlanEvent {
    }

    /** We stopped holding a segment. */
    record SegmentReleased(ClaimId claim) implements PlanEvent {
    }

    /** As an acceptor we acknowledged another cluster's claim; kept until its claimant's view proves it over. */
    record AckGiven(Claim claim) implements PlanEvent {
    }

    /** A newer view of another cluster. */
    record ViewMerged(ClusterView view) implements PlanEvent {
    }

    record CidrRegistered(Registration registration) implements PlanEvent {
    }

    /** A registration withdrawn: the CIDR is no longer in use here. */
    record CidrUnregistered(Registration registration) implements PlanEvent {
    }
}
