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
        assertEquals(new SimulatedPeer.Change(1, "svc-1.sim-02.svc.clusterset.local", "10.129.2.1", first.sentNanos(),
                false), first, "not connected: not queued");
        assertEquals("svc-2.sim-02.svc.clusterset.local", peer.change().fqdn());
        peer.change();
        assertEquals("svc-1.sim-02.svc.clusterset.local", peer.change().fqdn(), "round robin");
        assertEquals("10.130.2.1", peer.ip(1));
        assertEquals(4, peer.dropped());
    }

    @Test
    void aChangeOfAChosenServiceMovesOnlyThatOne() {
        SimulatedPeer peer = new SimulatedPeer(3, 4, "clusterset.local");
        SimulatedPeer.Change change = peer.change(3);
        assertEquals("svc-3.sim-03.svc.clusterset.local", change.fqdn());
        assertEquals("10.129.3.3", change.ip());
        assertEquals("10.128.3.1", peer.ip(1), "the others keep their addresses");
        assertEquals("10.130.3.3", peer.change(3).ip());
        assertThrows(IllegalArgumentException.class, () -> peer.change(5));
        assertThrows(IllegalArgumentException.class, () -> peer.change(0));
    }
}
