package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImportFilterTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Plan PLAN = new Plan(EAST, new TreeSet<>(List.of(EAST, WEST)), List.of(
            new Segment(EAST, SegmentKind.POD, "10.150.1.0/24"), new Segment(WEST, SegmentKind.POD, "10.150.2.0/24")),
            List.of(), List.of(), List.of());

    private static ServiceExport clusterIp(String name, String ip) {
        return ServiceExport.of(new ServiceKey("shop", name), ServiceType.CLUSTER_SET_IP,
                List.of(new ServicePort("http", 80, Protocol.TCP)), List.of(InetAddress.ofLiteral(ip)), T0);
    }

    private static ServiceExport headless(String name, String... ips) {
        return ServiceExport.of(new ServiceKey("shop", name), ServiceType.HEADLESS,
                List.of(new ServicePort("http", 80, Protocol.TCP)),
                java.util.Arrays.stream(ips).map(InetAddress::ofLiteral).toList(), T0);
    }

    @Test
    void aRefusedClusterSetIpLeavesItsExportOutAndAHeadlessOneKeepsItsGoodEndpoints() {
        ImportFilter filter = ImportFilter.of(EndpointScope.of(PLAN));
        ImportFilter.Step step = filter.snapshot(WEST, new ExportSet(3, List.of(clusterIp("cart", "10.150.2.10"),
                clusterIp("metadata", "169.254.169.254"), headless("db", "10.150.2.5", "127.0.0.1", "10.150.1.9"))));
        assertEquals(List.of(new ServiceKey("shop", "cart"), new ServiceKey("shop", "db")),
                step.admitted().exports().stream().map(ServiceExport::key).toList());
        assertEquals(List.of(InetAddress.ofLiteral("10.150.2.5")),
                step.admitted().find(new ServiceKey("shop", "db")).orElseThrow().ips());
        assertEquals(3, step.admitted().version());
        assertEquals(3, step.refused().size());
        assertEquals(Map.of(List.of("west", "link-local"), 1L, List.of("west", "loopback"), 1L,
                List.of("west", "own-range"), 1L), step.next().counted());
        assertEquals(3, step.next().refusedCount());
    }

    @Test
    void whatWasRefusedWhileThePlanWasUnknownComesInOnceItIsKnownWithoutBeingCountedAgain() {
        ImportFilter unknown = ImportFilter.of(EndpointScope.planUnknown(EAST));
        ImportFilter.Step step = unknown.snapshot(WEST, new ExportSet(1, List.of(clusterIp("cart", "10.150.2.10"))));
        assertTrue(step.admitted().exports().isEmpty());
        assertEquals(Map.of(List.of("west", "plan-unknown"), 1L), step.next().counted());
        List<ClusterId> changed = new ArrayList<>();
        List<ExportSet> sets = new ArrayList<>();
        ImportFilter known = step.next().rescope(EndpointScope.of(PLAN), (cluster, set) -> {
            changed.add(cluster);
            sets.add(set);
        });
        assertEquals(List.of(WEST), changed);
        assertEquals(List.of(clusterIp("cart", "10.150.2.10")), sets.getFirst().exports());
        assertEquals(0, known.refusedCount());
        assertEquals(Map.of(List.of("west", "plan-unknown"), 1L), known.counted(), "judging again counts nothing new");
        // the same scope again changes nothing, and keeps the very same set
        List<ClusterId> again = new ArrayList<>();
        known.rescope(EndpointScope.of(PLAN), (cluster, set) -> again.add(cluster));
        assertEquals(List.of(), again);
    }

    @Test
    void aSnapshotWithNothingRefusedIsAdmittedAsTheVerySameSet() {
        ExportSet received = new ExportSet(9, List.of(clusterIp("cart", "10.150.2.10")));
        assertSame(received, ImportFilter.of(EndpointScope.of(PLAN)).snapshot(WEST, received).admitted());
    }

    /** Metamorphic oracle: a run of deltas must admit what one snapshot of the final exports admits. */
    @Test
    void deltasAdmitWhatASnapshotOfTheSameExportsAdmits() {
        Random random = new Random(7);
        String[] ips = {"10.150.2.1", "10.150.2.2", "10.150.1.1", "127.0.0.1", "8.8.8.8", "10.150.2.3", "fe80::1"};
        ImportFilter filter = ImportFilter.of(EndpointScope.of(PLAN));
        ExportSet received = new ExportSet(1, List.of());
        ImportFilter.Step step = filter.snapshot(WEST, received);
        filter = step.next();
        for (int version = 2; version < 300; version++) {
            List<ServiceExport> upserted = new ArrayList<>();
            List<ServiceKey> removed = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String name = "s" + random.nextInt(20);
                if (random.nextInt(4) == 0) {
                    removed.add(new ServiceKey("shop", name));
                } else if (upserted.stream().noneMatch(e -> e.key().name().equals(name))
                        && removed.stream().noneMatch(k -> k.name().equals(name))) {
                    upserted.add(random.nextBoolean() ? clusterIp(name, ips[random.nextInt(ips.length)])
                            : headless(name, ips[random.nextInt(3)], ips[3 + random.nextInt(4)]));
                }
            }
            received = received.withChanges(version, upserted, removed);
            step = filter.delta(WEST, version, upserted, removed);
            filter = step.next();
            ImportFilter.Step oracle = ImportFilter.of(EndpointScope.of(PLAN)).snapshot(WEST, received);
            assertEquals(oracle.admitted().exports(), step.admitted().exports(), "version " + version);
            assertEquals(oracle.next().refused(), filter.refused(), "version " + version);
        }
    }
}
