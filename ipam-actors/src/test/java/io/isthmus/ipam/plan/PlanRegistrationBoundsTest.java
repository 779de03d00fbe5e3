package io.isthmus.ipam.plan;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.PlanLedger.Step;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanOutput.RejectReason;
import io.isthmus.ipam.plan.PlanOutput.Rejected;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import static io.isthmus.ipam.plan.PlanLedgerTest.assertField;
import static io.isthmus.ipam.plan.PlanNetwork.id;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Registrations admit a cluster's endpoints everywhere, so they are bounded: inside {@code plan.registrations.within}
 * (private ranges by default), no larger than a /12 (IPv4) or /48 (IPv6), never over another cluster's held segment;
 * and they can be withdrawn. A peer's view with a registration out of bounds is refused whole.
 */
class PlanRegistrationBoundsTest {

    private static Set<String> registered(PlanNetwork net, String at) {
        return net.state(at).plan().registered().stream().map(r -> r.cluster() + " " + r.kind().label() + " " + r.cidr())
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void localRegistrationsOutsideTheBoundsTooLargeOrOverAnotherClustersSegmentAreRefused() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        net.request("west", "w", "pod", "10.0.5.0/24");
        net.settle();
        assertField("cidr", "0.0.0.0/1", () -> net.input("east", new PlanInput.RegisterCidr("pod", "0.0.0.0/1")));
        assertField("cidr", "8.8.8.0/24", () -> net.input("east", new PlanInput.RegisterCidr("pod", "8.8.8.0/24")));
        assertField("cidr", "10.0.0.0/8", () -> net.input("east", new PlanInput.RegisterCidr("pod", "10.0.0.0/8")));
        assertField("cidr", "fd00::/16", () -> net.input("east", new PlanInput.RegisterCidr("pod", "fd00::/16")));
        assertField("cidr", "10.0.5.128/25", () -> net.input("east", new PlanInput.RegisterCidr("service", "10.0.5.128/25")));
        assertField("cidr", "10.0.0.0/16", () -> net.input("east", new PlanInput.RegisterCidr("pod", "10.0.0.0/16")));
        assertEquals(Set.of(), registered(net, "east"));

        net.input("east", new PlanInput.RegisterCidr("pod", "10.96.0.0/12"));   // the largest allowed
        net.input("east", new PlanInput.RegisterCidr("pod", "fd00:1::/48"));
        net.input("east", new PlanInput.RegisterCidr("service", "10.0.6.0/24")); // free: nobody holds it
        net.settle();
        Set<String> expected = Set.of("east pod 10.96.0.0/12", "east pod fd00:1::/48", "east service 10.0.6.0/24");
        assertEquals(expected, registered(net, "east"));
        assertEquals(expected, registered(net, "west"));
    }

    @Test
    void aRegistrationCanBeWithdrawnAndEveryPeerForgetsIt() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        net.input("east", new PlanInput.RegisterCidr("pod", "10.244.0.0/16"));
        net.input("east", new PlanInput.RegisterCidr("service", "10.96.0.0/16"));
        net.settle();
        assertEquals(Set.of("east pod 10.244.0.0/16", "east service 10.96.0.0/16"), registered(net, "edge"));

        Step step = net.input("east", new PlanInput.UnregisterCidr("pod", "10.244.0.0/16"));
        assertEquals(List.of(new PlanEvent.CidrUnregistered(new Registration(SegmentKind.POD, "10.244.0.0/16"))), step.events());
        net.settle();
        for (String at : List.of("east", "west", "edge")) {
            assertEquals(Set.of("east service 10.96.0.0/16"), registered(net, at), at);
        }
        assertField("cidr", "10.244.0.0/16", () -> net.input("east", new PlanInput.UnregisterCidr("pod", "10.244.0.0/16")));
        assertField("cidr", "10.96.0.0/16", () -> net.input("east", new PlanInput.UnregisterCidr("pod", "10.96.0.0/16")));

        // Journaled: a restart keeps the withdrawal.
        net.crash("east");
        net.restart("east");
        assertEquals(Set.of("east service 10.96.0.0/16"), registered(net, "east"));
    }

    @Test
    void aPeersViewWithARegistrationOutOfBoundsIsRefusedWhole() {
        PlanNetwork net = PlanNetwork.of("10.0.0.0/16", "east", "west", "edge");
        for (String cidr : List.of("0.0.0.0/1", "10.0.0.0/8", "1.1.1.0/24", "::/1")) {
            ClusterView lie = new ClusterView(id("edge"), 5, 0, List.of(), List.of(), List.of(
                    new Registration(SegmentKind.SERVICE, "10.97.0.0/16"), new Registration(SegmentKind.POD, cidr)));
            Step step = net.input("east", new PlanInput.Deliver(id("edge"), new LedgerSnapshot(id("edge"), List.of(lie)), net.now));
            Rejected rejected = (Rejected) step.outputs().stream().filter(o -> o instanceof Rejected).findFirst().orElseThrow();
            assertEquals(RejectReason.REGISTRATION_OUT_OF_BOUNDS, rejected.reason(), rejected.detail());
            assertEquals(List.of(), step.events(), cidr);
        }
        assertEquals(Set.of(), registered(net, "east"));
        ClusterView honest = new ClusterView(id("edge"), 5, 0, List.of(), List.of(), List.of(
                new Registration(SegmentKind.SERVICE, "10.97.0.0/16")));
        net.input("east", new PlanInput.Deliver(id("edge"), new LedgerSnapshot(id("edge"), List.of(honest)), net.now));
        assertEquals(Set.of("edge service 10.97.0.0/16"), registered(net, "east"));
    }

    @Test
    void theBoundsAreConfigurableAndBadValuesNameTheirPath() {
        PlanConfig config = PlanConfig.fromConfig(ClusterId.of("east"), ConfigFactory.parseString("""
                members = [east]
                supernets.pod = [{cidr = "10.128.0.0/14", segment-prefix = 16}]
                registrations { within = ["192.168.0.0/16"], ipv4-min-prefix = 20, ipv6-min-prefix = 56 }
                """));
        assertEquals(new RegistrationBounds(List.of(Cidr.parse("t", "192.168.0.0/16")), 20, 56), config.registrations());
        assertEquals(RegistrationBounds.DEFAULT, PlanConfig.fromConfig(ClusterId.of("east"),
                ConfigFactory.parseString("members = [east]")).registrations());
        assertField("plan.registrations.within[1]", "10.0.0.0/33", () -> PlanConfig.fromConfig(ClusterId.of("east"),
                ConfigFactory.parseString("members = [east]\nregistrations.within = [\"10.0.0.0/8\", \"10.0.0.0/33\"]")));
        assertField("plan.registrations.ipv4-min-prefix", "40", () -> PlanConfig.fromConfig(ClusterId.of("east"),
                ConfigFactory.parseString("members = [east]\nregistrations.ipv4-min-prefix = 40")));
    }
}
