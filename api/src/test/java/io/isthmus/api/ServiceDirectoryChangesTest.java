package io.isthmus.api;

import static io.isthmus.api.Exports.T0;
import static io.isthmus.api.Exports.clusterSetIp;
import static io.isthmus.api.Exports.key;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** Snapshots made change by change are the snapshot a full merge of the same exports makes. */
class ServiceDirectoryChangesTest {
    private static final List<ClusterId> CLUSTERS = List.of(ClusterId.of("east"), ClusterId.of("west"),
            ClusterId.of("edge"), ClusterId.of("north"));

    @Test
    void randomChangeSequencesGiveTheDirectoryAFullMergeGives() {
        for (long seed = 1; seed <= 10; seed++) {
            Random random = new Random(seed);
            Map<ClusterId, Map<ServiceKey, ServiceExport>> exports = new TreeMap<>();
            CLUSTERS.forEach(c -> exports.put(c, new TreeMap<>()));
            ServiceDirectory incremental = ServiceDirectory.EMPTY;
            for (int step = 1; step <= 100; step++) {
                ServiceDirectory.Changes changes = incremental.changes();
                int batch = 1 + random.nextInt(random.nextInt(10) == 0 ? 40 : 3);
                for (int i = 0; i < batch; i++) {
                    ClusterId cluster = CLUSTERS.get(random.nextInt(CLUSTERS.size()));
                    ServiceKey key = key("ns" + random.nextInt(3), "svc-" + random.nextInt(25));
                    if (random.nextInt(4) == 0) {
                        exports.get(cluster).remove(key);
                        changes.remove(cluster, key);
                    } else {
                        ServiceExport export = RandomExports.export(random, key);
                        exports.get(cluster).put(key, export);
                        changes.put(cluster, export);
                    }
                }
                incremental = changes.build(step);
                Map<ClusterId, List<ServiceExport>> input = new TreeMap<>();
                exports.forEach((cluster, byKey) -> input.put(cluster, List.copyOf(byKey.values())));
                ServiceDirectory full = ServiceDirectory.merge(step, input);
                assertEquals(full, incremental, "seed " + seed + " step " + step);
                assertEquals(full.services().keySet(), incremental.services().keySet());
            }
        }
    }

    @Test
    void aServiceThatMergesTheSameStaysTheSameObject() {
        ClusterId east = CLUSTERS.get(0);
        ServiceKey cart = key("shop", "cart");
        ServiceKey web = key("shop", "web");
        ServiceDirectory one = ServiceDirectory.merge(1, Map.of(east,
                List.of(clusterSetIp(cart, "10.0.0.1", T0, "80"), clusterSetIp(web, "10.0.0.2", T0, "80"))));
        ServiceDirectory two = one.changes().put(east, clusterSetIp(cart, "10.0.0.1", T0, "80"))
                .put(east, clusterSetIp(web, "10.0.0.3", T0, "80")).build(2);
        assertSame(one.services().get(cart), two.services().get(cart), "equal after merging again: kept");
        List<ServiceKey> changed = new ArrayList<>();
        ServiceDirectory.diff(one, two, (k, before, after) -> changed.add(k));
        assertEquals(List.of(web), changed);
    }

    @Test
    void removingTheLastExportOfAServiceRemovesTheImportAndRemovingAnUnknownOneChangesNothing() {
        ClusterId east = CLUSTERS.get(0);
        ClusterId west = CLUSTERS.get(1);
        ServiceKey cart = key("shop", "cart");
        ServiceDirectory one = ServiceDirectory.merge(1, Map.of(east, List.of(clusterSetIp(cart, "10.0.0.1", T0, "80")),
                west, List.of(clusterSetIp(cart, "10.0.0.2", T0.plusSeconds(1), "80"))));
        ServiceDirectory two = one.changes().remove(west, cart).remove(west, key("shop", "none")).build(2);
        assertEquals(1, two.find(cart).orElseThrow().clusters().size());
        ServiceDirectory three = two.changes().remove(east, cart).build(3);
        assertFalse(three.find(cart).isPresent());
        assertTrue(three.services().isEmpty());
    }

    @Test
    void theShortcutForOneClusterMergesAsTheFullRules() {
        Random random = new Random(5);
        for (int i = 0; i < 2_000; i++) {
            ServiceKey key = key("ns", "svc-" + i);
            Map<ClusterId, ServiceExport> one = Map.of(CLUSTERS.get(i % CLUSTERS.size()), RandomExports.export(random, key));
            assertEquals(ServiceDirectory.mergeInFull(key, one), ServiceDirectory.mergeOne(key, one));
        }
    }
}
