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
}
