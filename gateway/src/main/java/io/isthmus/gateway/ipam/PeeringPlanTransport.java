package io.isthmus.gateway.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanTransport;
import io.isthmus.ipam.plan.PlanWire;

/**
 * The address plan's messages on the peer streams (a {@code plan} message), acknowledgements signed on the way
 * ({@link PlanEvidence}); the ledger retransmits what is lost.
 */
public final class PeeringPlanTransport implements PlanTransport {
    private final PeerChannels channels;
    private final PlanEvidence evidence;

    /** {@code evidence} of the plan whose ledger sends through this transport. */
    public PeeringPlanTransport(PeerChannels channels, PlanEvidence evidence) {
        this.channels = channels;
        this.evidence = evidence;
    }

    @Override
    public void send(ClusterId to, PlanMessage message) {
        channels.send(to, PeerMessage.newBuilder().setPlan(PlanWire.toProto(evidence.outgoing(message))).build());
    }

    @Override
    public void sendToAll(PlanMessage message) {
        PeerMessage wire = PeerMessage.newBuilder().setPlan(PlanWire.toProto(evidence.outgoing(message))).build();
        channels.connected().forEach(cluster -> channels.send(cluster, wire));
    }
}
