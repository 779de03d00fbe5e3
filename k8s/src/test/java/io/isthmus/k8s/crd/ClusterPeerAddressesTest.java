package io.isthmus.k8s.crd;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The ClusterPeer address check: host:port as the CRD's pattern, with the port in range, the bad one named. */
class ClusterPeerAddressesTest {
    @Test
    void namesAndIpv4AndBracketedIpv6WithAPortAreAccepted() {
        assertEquals(Optional.empty(), ClusterPeerReconciler.addressProblem(
                List.of("east.example.com:7071", "10.0.0.7:443", "[fd00::7]:7071")));
    }

    @Test
    void theFirstBadAddressIsNamedWithItsIndexAndValue() {
        assertEquals(Optional.of("invalid spec.addresses[1] 'fd00::7:7071': not host:port ([v6]:port for IPv6)"),
                ClusterPeerReconciler.addressProblem(List.of("east:7071", "fd00::7:7071", "no port")));
        assertEquals(Optional.of("invalid spec.addresses[0] 'east:70710': port 70710 is not within 1-65535"),
                ClusterPeerReconciler.addressProblem(List.of("east:70710")));
        assertEquals(Optional.of("invalid spec.addresses[0] 'east:0': port 0 is not within 1-65535"),
                ClusterPeerReconciler.addressProblem(List.of("east:0")));
        assertEquals(Optional.of("invalid spec.addresses[0] 'east': not host:port ([v6]:port for IPv6)"),
                ClusterPeerReconciler.addressProblem(List.of("east")));
    }

    @Test
    void noAddressesAreRefused() {
        assertEquals(Optional.of("spec.addresses is empty: list the peer gateways' peering endpoints, host:port"),
                ClusterPeerReconciler.addressProblem(List.of()));
    }
}
