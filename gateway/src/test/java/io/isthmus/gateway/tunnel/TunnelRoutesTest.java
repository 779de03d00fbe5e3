package io.isthmus.gateway.tunnel;

import io.isthmus.tunnel.TunnelRoutes;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.ipam.plan.CidrOverlap;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.tunnel.Translation;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TunnelRoutesTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");

    private static Cidr cidr(String text) {
        return Cidr.parse("test", text);
    }

    private static Plan plan(List<Segment> segments, List<Plan.RegisteredCidr> registered, List<CidrOverlap> overlaps) {
        return new Plan(EAST, new TreeSet<>(List.of(EAST, WEST, EDGE)), segments, List.of(), registered, overlaps);
    }

    @Test
    void eachRemoteClusterGetsItsPodServiceAndGlobalSegmentsButNotItsUnderlay() {
        Plan plan = plan(List.of(
                new Segment(EAST, SegmentKind.POD, "10.128.0.0/16"),
                new Segment(WEST, SegmentKind.POD, "10.129.0.0/16"),
                new Segment(WEST, SegmentKind.SERVICE, "10.200.1.0/24"),
                new Segment(WEST, SegmentKind.UNDERLAY, "192.168.50.0/24"),
                new Segment(EDGE, SegmentKind.GLOBAL, "172.30.3.0/24")), List.of(), List.of());
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.of(plan), Map.of());
        assertEquals(List.of(cidr("10.129.0.0/16"), cidr("10.200.1.0/24")), routes.ranges().get(WEST));
        assertEquals(List.of(cidr("172.30.3.0/24")), routes.ranges().get(EDGE));
        assertTrue(!routes.ranges().containsKey(EAST), "never a route to ourselves");
        assertTrue(routes.translation().isEmpty());
        assertEquals(List.of(), routes.problems());
    }

    @Test
    void importedServiceIpsOutsideTheirClustersRangesGetHostRoutesAndClashesAreSaid() {
        Plan plan = plan(List.of(new Segment(EAST, SegmentKind.POD, "10.128.0.0/16"),
                new Segment(WEST, SegmentKind.SERVICE, "10.200.1.0/24")), List.of(), List.of());
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.of(plan), Map.of(
                WEST, List.of(InetAddress.ofLiteral("10.200.1.7"), InetAddress.ofLiteral("10.96.0.10")),
                EDGE, List.of(InetAddress.ofLiteral("10.128.4.4"), InetAddress.ofLiteral("fd00:96::a"))));
        assertEquals(List.of(cidr("10.96.0.10/32"), cidr("10.200.1.0/24")), routes.ranges().get(WEST),
                "10.200.1.7 is inside west's service segment already");
        assertEquals(List.of(cidr("fd00:96::a/128")), routes.ranges().get(EDGE));
        assertTrue(routes.problems().stream().anyMatch(p -> p.contains("10.128.4.4") && p.contains("this cluster's")),
                routes.problems().toString());
    }

    @Test
    void withoutAPlanOnlyTheImportsAreRouted() {
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.empty(),
                Map.of(WEST, List.of(InetAddress.ofLiteral("10.96.77.10"))));
        assertEquals(Map.of(WEST, List.of(cidr("10.96.77.10/32"))), routes.ranges());
    }

    @Test
    void overlappingRegisteredCidrsAreReachedThroughGlobalSegmentsAndOursAreTranslated() {
        Plan plan = plan(List.of(
                new Segment(EAST, SegmentKind.GLOBAL, "172.30.1.0/24"),
                new Segment(WEST, SegmentKind.GLOBAL, "172.30.2.0/24")),
                List.of(new Plan.RegisteredCidr(EAST, SegmentKind.POD, "10.244.0.0/25"),
                        new Plan.RegisteredCidr(WEST, SegmentKind.POD, "10.244.0.0/24"),
                        new Plan.RegisteredCidr(EDGE, SegmentKind.POD, "10.50.0.0/16")),
                List.of(new CidrOverlap(EAST, SegmentKind.POD, "10.244.0.0/25", true,
                        WEST, SegmentKind.POD, "10.244.0.0/24", true)));
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.of(plan), Map.of());
        assertEquals(List.of(cidr("172.30.2.0/24")), routes.ranges().get(WEST));
        assertEquals(List.of(cidr("10.50.0.0/16")), routes.ranges().get(EDGE), "a registered CIDR without overlap is routed as is");
        assertEquals(List.of(new Translation.Mapping(cidr("10.244.0.0/25"), cidr("172.30.1.0/25"))),
                routes.translation().mappings());
        assertTrue(routes.problems().stream().anyMatch(p -> p.contains("10.244.0.0/24 of west")), routes.problems().toString());
    }

    @Test
    void aRealNetworkWithoutRoomInTheGlobalSegmentsIsSaidNotTranslated() {
        Plan plan = plan(List.of(new Segment(EAST, SegmentKind.GLOBAL, "172.30.1.0/24")),
                List.of(new Plan.RegisteredCidr(EAST, SegmentKind.POD, "10.244.0.0/16"),
                        new Plan.RegisteredCidr(WEST, SegmentKind.POD, "10.244.0.0/16")),
                List.of(new CidrOverlap(EAST, SegmentKind.POD, "10.244.0.0/16", true,
                        WEST, SegmentKind.POD, "10.244.0.0/16", true)));
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.of(plan), Map.of());
        assertTrue(routes.translation().isEmpty());
        assertTrue(routes.problems().stream().anyMatch(p -> p.contains("no global segment has a free /16")),
                routes.problems().toString());
    }

    @Test
    void theTunnelDeliversToOurTunneledSegmentsOurUnoverlappedRegistrationsAndOurExportsOnly() {
        Plan plan = plan(List.of(
                new Segment(EAST, SegmentKind.POD, "10.128.0.0/16"),
                new Segment(EAST, SegmentKind.UNDERLAY, "192.168.50.0/24"),
                new Segment(EAST, SegmentKind.GLOBAL, "172.30.1.0/24"),
                new Segment(WEST, SegmentKind.POD, "10.129.0.0/16")),
                List.of(new Plan.RegisteredCidr(EAST, SegmentKind.SERVICE, "10.96.0.0/16"),
                        new Plan.RegisteredCidr(EAST, SegmentKind.POD, "10.244.0.0/24"),
                        new Plan.RegisteredCidr(WEST, SegmentKind.POD, "10.244.0.0/24")),
                List.of(new CidrOverlap(EAST, SegmentKind.POD, "10.244.0.0/24", true,
                        WEST, SegmentKind.POD, "10.244.0.0/24", true)));
        TunnelRoutes routes = TunnelRoutePlanner.compute(EAST, Optional.of(plan), Map.of(),
                List.of(InetAddress.ofLiteral("10.96.3.3"), InetAddress.ofLiteral("10.77.0.1")));
        // not the underlay (not tunneled), not 10.244.0.0/24 (peers reach it as 172.30.1.0/24), the export outside
        // every range as a host
        assertEquals(List.of(cidr("10.77.0.1/32"), cidr("10.96.0.0/16"), cidr("10.128.0.0/16"), cidr("172.30.1.0/24")),
                routes.local());
        assertEquals(List.of(cidr("10.77.0.1/32")), TunnelRoutePlanner.compute(EAST, Optional.empty(), Map.of(),
                List.of(InetAddress.ofLiteral("10.77.0.1"))).local(), "without a plan: our exports");
    }
}
