package io.isthmus.gateway.peering;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.isthmus.api.ClusterId;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.grpc.peering.ExportDelta;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.ServiceRef;
import io.isthmus.gateway.exports.ExportSet;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The delta a stream sends, made from the structural diff of two export sets, is the message the former scan of
 * every export made: the same upserts and removals in the same order, and a snapshot (null) exactly when the scan
 * chose one; over seeded random changes with exports offered to some clusters only.
 */
class PeerSessionDeltaTest {
    private static final ClusterId SELF = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId EDGE = ClusterId.of("edge");
    private static final Instant T0 = Instant.parse("2025-03-01T12:00:00Z");

    @Test
    void deltasFromTheDiffAreTheDeltasOfTheFormerScan() {
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
                    assertEquals(scanDelta(before, current, peer), session.delta(before, current, peer),
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

    /** The former PeerSession.delta, verbatim but for its receiver: a scan of every export of both sets. */
    private static PeerMessage scanDelta(ExportSet before, ExportSet after, ClusterId peer) {
        ExportDelta.Builder b = ExportDelta.newBuilder().setOriginCluster(SELF.value())
                .setFromVersion(before.version()).setToVersion(after.version());
        int offered = 0;
        for (ServiceExport export : after.exports()) {
            if (!export.isOfferedTo(peer)) {
                continue;
            }
            offered++;
            ServiceExport old = before.find(export.key()).filter(e -> e.isOfferedTo(peer)).orElse(null);
            if (!export.equals(old)) {
                b.addUpserted(PeerMessages.toWire(export));
            }
        }
        for (ServiceExport old : before.exports()) {
            boolean stillOffered = after.find(old.key()).map(e -> e.isOfferedTo(peer)).orElse(false);
            if (old.isOfferedTo(peer) && !stillOffered) {
                b.addRemoved(ServiceRef.newBuilder().setNamespace(old.key().namespace()).setName(old.key().name()));
            }
        }
        return b.getUpsertedCount() + b.getRemovedCount() > offered ? null
                : PeerMessage.newBuilder().setExportDelta(b).build();
    }
}
