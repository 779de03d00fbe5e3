package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

/** What a step of the {@link PlanLedger} asks its host to do, in order, once its events are durable. */
public sealed interface PlanOutput {

    record Send(ClusterId to, PlanMessage message) implements PlanOutput {
    }

    /** Send to every known cluster but ourselves. */
    record SendToAll(PlanMessage message) implements PlanOutput {
    }

    /** A request is done: a majority acknowledged the segment. */
    record Granted(String requestId, Segment segment) implements PlanOutput {
    }

    /** A request failed; nothing is held for it. */
    record Refused(String requestId, String reason) implements PlanOutput {
    }

    /** Something an operator should see in the log (a misconfigured peer, a message that makes no sense). */
    record Warning(String text) implements PlanOutput {
    }

    /**
     * A message (or one view in it) from {@code from} was refused: nothing of it was recorded. The host counts it
     * ({@code reason} is a metric label) and logs {@code detail}.
     */
    record Rejected(ClusterId from, RejectReason reason, String detail) implements PlanOutput {
    }

    /** Why a peer's plan message was refused; {@link #label()} is the metric label. */
    enum RejectReason {
        /** The sender is not a member of the clusterset. */
        NOT_A_MEMBER,
        /** The message speaks for another cluster than the authenticated sender (a claim, an answer, a snapshot). */
        SENDER_MISMATCH,
        /** A view of a third cluster: only a cluster itself tells us its view. */
        FOREIGN_ORIGIN,
        /** A held or pending claim in a view, or a proposed claim, that is not a segment of the configured supernets. */
        NOT_A_SEGMENT,
        /** A registration in a view outside {@code plan.registrations} (where, how large). */
        REGISTRATION_OUT_OF_BOUNDS,
        /** A view holding, or a claim that would make its claimant hold, more segments of a kind than {@code plan.max-segments-per-member}. */
        SEGMENT_QUOTA;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }
}
