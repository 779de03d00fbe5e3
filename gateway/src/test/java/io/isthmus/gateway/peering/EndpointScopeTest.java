package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Which endpoint IPs a peer may export: cases written out by hand, each with the answer expected. */
class EndpointScopeTest {
    private static final ClusterId EAST = ClusterId.of("east"); // this gateway
    private static final ClusterId WEST = ClusterId.of("west"); // the sender
    private static final ClusterId EDGE = ClusterId.of("edge");
    private static final ClusterId NEWCOMER = ClusterId.of("newcomer");

    private static final Plan PLAN = new Plan(EAST, new TreeSet<>(List.of(EAST, WEST, EDGE, NEWCOMER)), List.of(
            new Segment(EAST, SegmentKind.POD, "10.150.1.0/24"),
            new Segment(WEST, SegmentKind.POD, "10.150.2.0/24"),
            new Segment(WEST, SegmentKind.UNDERLAY, "192.168.60.0/24"),
            new Segment(WEST, SegmentKind.GLOBAL, "fd00:30:2::/48"),
            new Segment(EDGE, SegmentKind.POD, "10.150.3.0/24")),
            List.of(), List.of(new Plan.RegisteredCidr(WEST, SegmentKind.SERVICE, "10.97.0.0/16"),
                    new Plan.RegisteredCidr(EAST, SegmentKind.SERVICE, "10.96.0.0/16")), List.of());

    private static Optional<EndpointScope.Reason> check(EndpointScope scope, ClusterId from, String ip) {
        return scope.check(from, InetAddress.ofLiteral(ip));
    }

    @Test
    void aRegistrationOverAnotherClustersHeldSegmentDoesNotAdmitItsAddresses() {
        // edge registered a range covering west's pod segment (say, before the plan, or to steer west's pods to itself).
        Plan plan = new Plan(EAST, new TreeSet<>(List.of(EAST, WEST, EDGE)), List.of(
                new Segment(WEST, SegmentKind.POD, "10.150.2.0/24"),
                new Segment(EDGE, SegmentKind.POD, "10.150.3.0/24")),
                List.of(), List.of(new Plan.RegisteredCidr(EDGE, SegmentKind.POD, "10.150.0.0/16")), List.of());
        EndpointScope scope = EndpointScope.of(plan);
        assertEquals(Optional.of(EndpointScope.Reason.OTHER_CLUSTER), check(scope, EDGE, "10.150.2.7"), "west's pod");
        assertEquals(Optional.empty(), check(scope, WEST, "10.150.2.7"), "west names its own pod");
        assertEquals(Optional.empty(), check(scope, EDGE, "10.150.3.7"), "edge's own segment");
        assertEquals(Optional.empty(), check(scope, EDGE, "10.150.9.7"), "edge's registration where nobody holds a segment");
    }

    @Test
    void withThePlanAPeerMayNameOnlyAddressesOfItsOwnSegmentsAndRegistrations() {
        EndpointScope scope = EndpointScope.of(PLAN);
        String[][] cases = {
                {"10.150.2.7", ""}, {"10.150.2.0", ""}, {"10.150.2.255", ""}, // west's pod segment
                {"10.97.200.1", ""},                                          // west's registered service range
                {"192.168.60.9", ""},                                         // west's underlay segment
                {"fd00:30:2::99", ""},                                        // west's global segment (IPv6)
                {"169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
                {"127.0.0.1", "loopback"}, {"127.8.9.1", "loopback"}, {"::1", "loopback"},
                {"0.0.0.0", "unspecified"}, {"::", "unspecified"}, {"0.1.2.3", "reserved"},
                {"224.0.0.251", "multicast"}, {"ff02::fb", "multicast"}, {"255.255.255.255", "broadcast"},
                {"240.0.0.1", "reserved"}, {"::ffff:10.150.2.7", ""}, // the JDK reads an IPv4-mapped literal as IPv4
                {"10.150.1.5", "own-range"}, {"10.96.0.10", "own-range"},   // the receiving cluster's own
                {"10.150.3.5", "other-cluster"},                           // edge's pod segment
                {"8.8.8.8", "outside-segments"}, {"10.150.4.1", "outside-segments"}, {"2001:4860::8888", "outside-segments"},
        };
        for (String[] c : cases) {
            assertEquals(c[1], check(scope, WEST, c[0]).map(EndpointScope.Reason::label).orElse(""), c[0]);
        }
        assertEquals(Optional.of(EndpointScope.Reason.NO_SEGMENTS), check(scope, NEWCOMER, "10.150.9.1"),
                "a member whose view has not come yet holds nothing as far as we know");
        assertEquals(Optional.of(EndpointScope.Reason.OTHER_CLUSTER), check(scope, EDGE, "10.150.2.7"),
                "edge may not name west's pods");
    }

    @Test
    void whileThePlanIsUnknownEverythingIsRefusedAndWithoutAPlanOnlyPrivateUnicast() {
        EndpointScope unknown = EndpointScope.planUnknown(EAST);
        assertEquals(Optional.of(EndpointScope.Reason.PLAN_UNKNOWN), check(unknown, WEST, "10.150.2.7"));
        assertEquals(Optional.of(EndpointScope.Reason.LOOPBACK), check(unknown, WEST, "127.0.0.1"));

        EndpointScope priv = EndpointScope.withoutPlan(EAST, EndpointScope.WithoutPlan.PRIVATE);
        String[][] cases = {{"10.1.2.3", ""}, {"172.16.0.1", ""}, {"172.31.255.255", ""}, {"192.168.1.1", ""},
                {"100.64.0.1", ""}, {"fd12::1", ""}, {"172.32.0.1", "public"}, {"8.8.8.8", "public"},
                {"100.128.0.1", "public"}, {"2001:4860::8888", "public"}, {"169.254.169.254", "link-local"},
                {"127.0.0.1", "loopback"}, {"239.1.1.1", "multicast"}};
        for (String[] c : cases) {
            assertEquals(c[1], check(priv, WEST, c[0]).map(EndpointScope.Reason::label).orElse(""), c[0]);
        }
        EndpointScope refuse = EndpointScope.withoutPlan(EAST, EndpointScope.WithoutPlan.REFUSE);
        assertEquals(Optional.of(EndpointScope.Reason.NO_PLAN), check(refuse, WEST, "10.1.2.3"));
    }

    @Test
    void theSettingIsReadOrRefusedNamingTheField() {
        assertEquals(EndpointScope.WithoutPlan.REFUSE, EndpointScope.WithoutPlan.parse("f", " Refuse "));
        var e = assertThrows(io.isthmus.api.InvalidFieldException.class,
                () -> EndpointScope.WithoutPlan.parse("isthmus.peering.endpoints-without-plan", "allow"));
        assertEquals("isthmus.peering.endpoints-without-plan", e.field());
    }

    @Test
    void scopesFromEqualPlansAreEqualSoTheMeshViewIgnoresARepeat() {
        assertEquals(EndpointScope.of(PLAN), EndpointScope.of(PLAN));
        assertEquals(false, EndpointScope.of(PLAN).equals(EndpointScope.planUnknown(EAST)));
    }
}
