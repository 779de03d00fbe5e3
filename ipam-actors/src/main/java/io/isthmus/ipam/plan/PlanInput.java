package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.Objects;

/** Everything that can happen to a ledger, as the pure {@link PlanLedger} sees it; times are Unix millis. */
public sealed interface PlanInput {

    /** Claim a segment of {@code kind}: the given one ({@code cidr}), or any free one when {@code cidr} is empty. */
    record RequestSegment(String requestId, String kind, String cidr, long now) implements PlanInput {
        public RequestSegment {
            Objects.requireNonNull(requestId, "requestId");
            cidr = cidr == null ? "" : cidr;
        }
    }

    record ReleaseSegment(String cidr) implements PlanInput {
    }

    /** A CIDR this cluster already uses. */
    record RegisterCidr(String kind, String cidr) implements PlanInput {
    }

    /** This cluster no longer uses a CIDR it registered. */
    record UnregisterCidr(String kind, String cidr) implements PlanInput {
    }

    /** A plan message from another cluster; {@code from} is who the transport says sent it. */
    record Deliver(ClusterId from, PlanMessage message, long now) implements PlanInput {
    }

    /** Time passes: retransmit unanswered proposals, fail requests past their deadline. */
    record Tick(long now) implements PlanInput {
    }

    /** Send every view we know to every peer. */
    enum Gossip implements PlanInput { INSTANCE }

    /** A peering link to {@code peer} came (back) up: it gets our views and our pending proposals. */
    record PeerConnected(ClusterId peer) implements PlanInput {
    }
}
