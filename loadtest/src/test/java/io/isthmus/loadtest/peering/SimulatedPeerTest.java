package io.isthmus.loadtest.peering;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SimulatedPeerTest {
    @Test
    void namesAndAddressesPerCluster() {
        SimulatedPeer peer = new SimulatedPeer(7, 50, "clusterset.local");
        assertEquals("sim-07", peer.cluster());
        assertEquals("svc-3.sim-07.svc.clusterset.local", peer.fqdn(3));
        assertEquals("10.128.7.3", peer.ip(3));
        assertThrows(IllegalArgumentException.class, () -> new SimulatedPeer(0, 50, "z"));
        assertThrows(IllegalArgumentException.class, () -> new SimulatedPeer(1, 251, "z"));
    }

    @Test
    void aChangeMovesTheNextServiceToANewAddressAndGrowsTheVersion() {
        SimulatedPeer peer = new SimulatedPeer(2, 3, "clusterset.local");
        String before = peer.ip(1);
        // Not connected: the change is built and its message counted as not sent, which is all this checks.
        SimulatedPeer.Change first = peer.change();
        assertNotEquals(before, peer.ip(1));
        assertEquals(new SimulatedPeer.Change("svc-1.sim-02.svc.clusterset.local", "10.129.2.1", first.sentNanos()), first);
        assertEquals("svc-2.sim-02.svc.clusterset.local", peer.change().fqdn());
        peer.change();
        assertEquals("svc-1.sim-02.svc.clusterset.local", peer.change().fqdn(), "round robin");
        assertEquals("10.130.2.1", peer.ip(1));
        assertEquals(4, peer.dropped());
    }
}
