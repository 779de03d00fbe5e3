package io.isthmus.gateway.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanTransport;
import io.isthmus.ipam.plan.PlanWire;

/** The address plan's messages on the peer streams (a {@code plan} message); the ledger retransmits what is lost. */
public final class PeeringPlanTransport implements PlanTransport {
    private final PeerChannels channels;

    public PeeringPlanTransport(PeerChannels channels) {
        this.channels = channels;
    }

    @Override
    public void send(ClusterId to, PlanMessage message) {
        channels.send(to, PeerMessage.newBuilder().setPlan(PlanWire.toProto(message)).build());
    }

    @Override
    public void sendToAll(PlanMessage message) {
        PeerMessage wire = PeerMessage.newBuilder().setPlan(PlanWire.toProto(message)).build();
        channels.connected().forEach(cluster -> channels.send(cluster, wire));
    }
}
