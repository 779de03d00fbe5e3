package io.isthmus.tunnel;

/** Needs root. The two-cluster scenario with TUN offloads on (vnet header, TSO on read, joined TSO writes). */
class NamespaceTunnelTest extends TwoClusterTunnelScenario {
    @Override
    boolean offload() {
        return true;
    }
}
