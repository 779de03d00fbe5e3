package io.isthmus.gateway.exports;

import io.isthmus.api.ServiceExport;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static io.isthmus.gateway.exports.TestExports.T0;
import static io.isthmus.gateway.exports.TestExports.clusterSetIp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterExportsTest {
    private final ServiceExport cart = clusterSetIp("shop", "cart", "10.96.0.10", T0, "http:80/TCP");
    private final ServiceExport cartMoved = clusterSetIp("shop", "cart", "10.96.0.11", T0, "http:80/TCP");
    private final ServiceExport db = clusterSetIp("shop", "db", "10.96.0.20", T0, "pg:5432/TCP");

    private static ClusterExports quiet() {
        return new ClusterExports(set -> { });
    }

    @Test
    void theHigherVersionWinsWhicheverArrivesFirst() {
        ExportEntry older = ExportEntry.exported(cart, 100, "gw-1");
        ExportEntry newer = ExportEntry.exported(cartMoved, 200, "gw-0");
        ClusterExports inOrder = quiet();
        inOrder.apply(older);
        inOrder.apply(newer);
        ClusterExports reversed = quiet();
        reversed.apply(newer);
        assertFalse(reversed.apply(older), "an older word changes nothing");
        assertEquals(List.of(cartMoved), inOrder.current().exports());
        assertEquals(List.of(cartMoved), reversed.current().exports());
    }

    @Test
    void equalVersionsAreDecidedByTheGreaterReplicaName() {
        ClusterExports view = quiet();
        view.apply(ExportEntry.exported(cartMoved, 100, "gw-1"));
        view.apply(ExportEntry.exported(cart, 100, "gw-0"));
        assertEquals(List.of(cartMoved), view.current().exports());
    }

    @Test
    void anUnexportIsATombstoneThatAnOlderExportCannotUndo() {
        ClusterExports view = quiet();
        view.apply(ExportEntry.exported(cart, 100, "gw-0"));
        view.apply(ExportEntry.removed(cart.key(), 150, "gw-1"));
        assertFalse(view.apply(ExportEntry.exported(cartMoved, 120, "gw-0")), "a late, older re-export");
        assertTrue(view.current().find(cart.key()).isEmpty());
        assertTrue(view.apply(ExportEntry.exported(cartMoved, 160, "gw-0")), "a newer re-export");
        assertEquals(List.of(cartMoved), view.current().exports());
    }

    @Test
    void theSetVersionGrowsWithEveryChangeAndFollowsTheEventVersions() {
        ClusterExports view = quiet();
        view.apply(ExportEntry.exported(cart, 1_000, "gw-0"));
        assertEquals(1_000, view.current().version());
        view.apply(ExportEntry.exported(db, 500, "gw-1")); // a replica with a slow clock
        assertEquals(1_001, view.current().version());
        view.apply(ExportEntry.removed(db.key(), 2_000, "gw-1"));
        assertEquals(2_000, view.current().version());
        assertFalse(view.apply(ExportEntry.removed(db.key(), 2_000, "gw-1")), "the same event again");
        assertEquals(2_000, view.current().version());
    }

    /**
     * Replicas apply the journal's events in the journal's one order: whatever that order is, two replicas that
     * applied the same events hold the same set under the same version (which peers rely on to chain deltas taken
     * from different replicas), and any order of the same events gives the same exports.
     */
    @Test
    void replicasApplyingTheSameOrderAgreeOnSetAndVersionAndAnyOrderOnTheExports() {
        Random random = new Random(42);
        List<ExportEntry> events = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            ServiceExport export = clusterSetIp("ns", "svc-" + random.nextInt(20), "10.96.0." + random.nextInt(250),
                    T0, "80/TCP");
            long version = 1_000 + random.nextInt(300);
            String replica = "gw-" + random.nextInt(3);
            events.add(random.nextInt(4) == 0 ? ExportEntry.removed(export.key(), version, replica)
                    : ExportEntry.exported(export, version, replica));
        }
        ClusterExports first = quiet();
        ClusterExports second = quiet();
        events.forEach(first::apply);
        events.forEach(second::apply);
        assertEquals(first.current(), second.current());

        List<ExportEntry> shuffled = new ArrayList<>(events);
        Collections.shuffle(shuffled, random);
        ClusterExports other = quiet();
        shuffled.forEach(other::apply);
        assertEquals(first.current().exports(), other.current().exports());
    }

    @Test
    void wordsAppliedTogetherGiveTheExportsOfApplyingThemOneByOneUnderOneNewVersionEach() {
        Random random = new Random(7);
        List<ExportEntry> events = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            ServiceExport export = clusterSetIp("ns", "svc-" + random.nextInt(30), "10.96.0." + random.nextInt(250),
                    T0, "80/TCP");
            long version = 1_000 + random.nextInt(300);
            events.add(random.nextInt(4) == 0 ? ExportEntry.removed(export.key(), version, "gw-0")
                    : ExportEntry.exported(export, version, "gw-" + random.nextInt(2)));
        }
        ClusterExports oneByOne = quiet();
        events.forEach(oneByOne::apply);
        List<ExportSet> published = new ArrayList<>();
        ClusterExports together = new ClusterExports(published::add);
        ClusterExports replica = quiet();
        together.startPublishing();
        for (int from = 0; from < events.size(); from += 100) {
            together.applyAll(events.subList(from, from + 100));
            replica.applyAll(events.subList(from, from + 100));
        }
        assertEquals(oneByOne.current().exports(), together.current().exports());
        for (ExportEntry event : events) {
            assertEquals(oneByOne.entry(event.key()), together.entry(event.key()));
        }
        assertEquals(5, published.size(), "the empty set, then one per call");
        for (int i = 1; i < published.size(); i++) {
            assertTrue(published.get(i).version() > published.get(i - 1).version(), "versions grow: " + published);
        }
        assertEquals(together.current(), replica.current(), "the same events in the same order: the same version");
    }

    @Test
    void aChangeOfManyWordsIsOneVersionStep() {
        ClusterExports view = quiet();
        view.apply(ExportEntry.exported(cart, 1_000, "gw-0"));
        List<ExportEntry> words = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            words.add(ExportEntry.exported(clusterSetIp("ns", "svc-" + i, "10.96.1." + i, T0, "80/TCP"), 900, "gw-0"));
        }
        assertTrue(view.applyAll(words));
        assertEquals(1_001, view.current().version(), "one step past the last set, the words being older");
        assertEquals(51, view.current().size());
        assertFalse(view.applyAll(words), "the same words again change nothing");
        assertEquals(1_001, view.current().version());
    }

    @Test
    void nothingIsPublishedBeforeStartPublishingThenTheCurrentSetAndEveryChange() {
        List<ExportSet> published = new ArrayList<>();
        ClusterExports view = new ClusterExports(published::add);
        view.apply(ExportEntry.exported(cart, 100, "gw-0"));
        assertTrue(published.isEmpty());
        view.startPublishing();
        view.apply(ExportEntry.exported(db, 200, "gw-0"));
        view.apply(ExportEntry.exported(db, 150, "gw-1")); // loses: nothing new to publish
        assertEquals(List.of(new ExportSet(100, List.of(cart)), new ExportSet(200, List.of(cart, db))), published);
    }
}
