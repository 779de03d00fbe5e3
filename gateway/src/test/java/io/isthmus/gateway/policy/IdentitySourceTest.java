package io.isthmus.gateway.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.policy.Identity;
import io.isthmus.policy.IdentityView;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The identity view takes this cluster's workloads as they are, and a peer's only inside the pod segments the plan
 * says that peer holds: a peer cannot name a pod of another cluster, or of this one, as its own.
 */
class IdentitySourceTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Plan PLAN = new Plan(EAST, new TreeSet<>(List.of(EAST, WEST)), List.of(
            new Segment(EAST, SegmentKind.POD, "10.1.0.0/24"), new Segment(WEST, SegmentKind.POD, "10.2.0.0/24"),
            new Segment(WEST, SegmentKind.SERVICE, "10.2.128.0/24")), List.of(), List.of(), List.of());

    private static InetAddress ip(String text) {
        return IpLiteral.parse("ip", text);
    }

    private static Workloads one(String address, String namespace, String name, Map<String, String> labels,
                                 Map<String, Map<String, String>> namespaces) {
        return new Workloads(Map.of(ip(address), new Workloads.Pod(ip(address), namespace, name, labels)), namespaces);
    }

    @Test
    void aPeersPodsCountInsideItsOwnPodSegmentsWithTheirLabels() {
        IdentitySource.Built built = IdentitySource.build(EAST, Optional.of(PLAN), null, Workloads.NONE,
                Map.of(WEST, one("10.2.0.9", "shop", "web-1", Map.of("app", "web"), Map.of("shop", Map.of("team", "a")))));
        Identity pod = built.view().identityOf(ip("10.2.0.9")).orElseThrow();
        assertEquals(WEST, pod.cluster());
        assertEquals("shop", pod.namespace());
        assertEquals("web", pod.podLabels().get("app"));
        assertEquals("a", pod.namespaceLabels().get("team"));
        assertTrue(built.problems().isEmpty(), built.problems().toString());
    }

    @Test
    void aPeerNamingAnAddressOutsideItsPodSegmentsIsLeftOutAndSaid() {
        Map<ClusterId, Workloads> claims = Map.of(WEST, new Workloads(Map.of(
                ip("10.1.0.7"), new Workloads.Pod(ip("10.1.0.7"), "kube-system", "dns", Map.of()), // east's pod segment
                ip("10.2.128.1"), new Workloads.Pod(ip("10.2.128.1"), "shop", "vip", Map.of()), // its service segment
                ip("192.0.2.1"), new Workloads.Pod(ip("192.0.2.1"), "shop", "outside", Map.of())), Map.of()));
        IdentitySource.Built built = IdentitySource.build(EAST, Optional.of(PLAN), null,
                one("10.1.0.7", "default", "mine", Map.of(), Map.of()), claims);
        IdentityView view = built.view();
        assertEquals(EAST, view.identityOf(ip("10.1.0.7")).orElseThrow().cluster());
        assertEquals("default", view.identityOf(ip("10.1.0.7")).orElseThrow().namespace());
        assertTrue(!view.identityOf(ip("10.2.128.1")).orElseThrow().isWorkload(), "only west's service segment: cluster-only");
        assertTrue(view.identityOf(ip("192.0.2.1")).isEmpty(), "outside the clusterset");
        assertEquals(3, built.problems().size(), built.problems().toString());
        assertTrue(built.problems().stream().anyMatch(p -> p.contains("west/kube-system/dns at 10.1.0.7")
                && p.contains("outside west's pod segments")), built.problems().toString());
    }

    @Test
    void withoutAPlanNoPeerPodCounts() {
        IdentitySource.Built built = IdentitySource.build(EAST, Optional.empty(), null, Workloads.NONE,
                Map.of(WEST, one("10.2.0.9", "shop", "web-1", Map.of(), Map.of())));
        assertTrue(built.view().identityOf(ip("10.2.0.9")).isEmpty());
        assertEquals(1, built.problems().size());
    }
}
