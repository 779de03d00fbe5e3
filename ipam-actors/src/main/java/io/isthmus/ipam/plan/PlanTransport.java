package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

/**
 * How a {@link SegmentLedger} reaches the other clusters' ledgers: the gateway implements it with peering
 * (a {@link PlanWire#toProto PlanEnvelope} on the peer stream). Best effort: a message may be lost, the ledger
 * retransmits what matters. Must not block (called from the entity's thread).
 */
public interface PlanTransport {

    void send(ClusterId to, PlanMessage message);

    /** Every known cluster but this one. */
    void sendToAll(PlanMessage message);
}
