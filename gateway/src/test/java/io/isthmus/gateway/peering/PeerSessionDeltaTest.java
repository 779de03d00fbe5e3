package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.grpc.peering.ExportDelta;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.gateway.exports.ExportSet;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The delta a stream sends says exactly what changed for the peer: checked against a naive set difference of two
 * full snapshots (the exports offered to the peer before and after, as maps by key), over seeded random changes with
 * exports offered to some clusters only. The delta's upserts, decoded, are the exports that are new or different;
 * its removals the keys no longer offered; and a snapshot (null) is chosen exactly when the delta would hold more
 * entries than the snapshot itself.
 */
class PeerSessionDeltaTest {
    private static final ClusterId SELF = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");
    private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

    @Test
    void aDeltaHoldsExactlyTheDifferenceOfTheTwoSnapshotsThePeerIsOffered() {
        PeerSession session = new PeerSession(SELF, "test", MeshView.Direction.OUTBOUND, "test", null, null, null, null,
                null, null, null, null);
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            ExportSet current = ExportSet.EMPTY;
            long version = 1;
            for (int step = 0; step < 100; step++) {
                ExportSet before = current;
                int changes = 1 + random.nextInt(random.nextInt(6) == 0 ? 40 : 3);
                for (int i = 0; i < changes; i++) {
                    ServiceKey key = new ServiceKey("ns", "svc-" + random.nextInt(30));
                    current = random.nextInt(4) == 0 ? current.without(key, version++)
                            : current.with(export(random, key), version++);
                }
                if (random.nextInt(10) == 0) {
                    current = new ExportSet(current.version(), current.exports()); // unrelated: as deserialized
                }
                for (ClusterId peer : List.of(WEST, EDGE)) {
                    assertDeltaIsTheDifference(before, current, peer, session.delta(before, current, peer),
                            "seed " + seed + " step " + step + " to " + peer);
                }
            }
        }
    }

    private static ServiceExport export(Random random, ServiceKey key) {
        ServiceExport export = ServiceExport.of(key, ServiceType.CLUSTER_SET_IP, List.of(ServicePort.parse("80")),
                List.of(IpLiteral.parse("ip", "10.0.0." + random.nextInt(3))), T0);
        return switch (random.nextInt(4)) {
            case 0 -> export.offeredOnlyTo(List.of(WEST));
            case 1 -> export.offeredOnlyTo(List.of(EDGE, WEST));
            default -> export;
        };
    }

    private static void assertDeltaIsTheDifference(ExportSet before, ExportSet after, ClusterId peer,
                                                   PeerMessage delta, String where) {
        Map<ServiceKey, ServiceExport> was = offeredTo(peer, before);
        Map<ServiceKey, ServiceExport> now = offeredTo(peer, after);
        Set<ServiceExport> upserted = new HashSet<>();
        for (ServiceExport export : now.values()) {
            if (!export.equals(was.get(export.key()))) {
                upserted.add(export);
            }
        }
        Set<ServiceKey> removed = new HashSet<>(was.keySet());
        removed.removeAll(now.keySet());
        if (upserted.size() + removed.size() > now.size()) {
            assertNull(delta, where + ": " + (upserted.size() + removed.size()) + " changes against a snapshot of "
                    + now.size() + " should be a snapshot");
            return;
        }
        assertNotNull(delta, where + ": a delta of " + (upserted.size() + removed.size()) + " changes");
        ExportDelta sent = delta.getExportDelta();
        assertEquals(SELF.value(), sent.getOriginCluster(), where);
        assertEquals(before.version(), sent.getFromVersion(), where);
        assertEquals(after.version(), sent.getToVersion(), where);
        List<ServiceExport> sentUpserts = sent.getUpsertedList().stream().map(PeerMessages::fromWire).toList();
        assertEquals(upserted.size(), sentUpserts.size(), where + ": the number of upserts");
        assertEquals(upserted, new HashSet<>(sentUpserts), where + ": upserted");
        List<ServiceKey> sentRemovals = sent.getRemovedList().stream()
                .map(ref -> new ServiceKey(ref.getNamespace(), ref.getName())).toList();
        assertEquals(removed.size(), sentRemovals.size(), where + ": the number of removals");
        assertEquals(removed, new HashSet<>(sentRemovals), where + ": removed");
    }

    /** The full snapshot the peer would get: every export offered to it, by key. */
    private static Map<ServiceKey, ServiceExport> offeredTo(ClusterId peer, ExportSet exports) {
        Map<ServiceKey, ServiceExport> offered = new HashMap<>();
        for (ServiceExport export : exports.exports()) {
            if (export.isOfferedTo(peer)) {
                offered.put(export.key(), export);
            }
        }
        return offered;
    }
}
