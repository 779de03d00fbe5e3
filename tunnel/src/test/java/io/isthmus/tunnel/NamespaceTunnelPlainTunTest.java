package io.isthmus.tunnel;

/** Needs root. The two-cluster scenario over plain TUN queues (one packet per read and write). */
class NamespaceTunnelPlainTunTest extends TwoClusterTunnelScenario {
    @Override
    boolean offload() {
        return false;
    }
}
