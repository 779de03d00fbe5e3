package io.isthmus.gateway.exports;

import io.isthmus.testing.SettableClock;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static io.isthmus.gateway.exports.TestExports.T0;
import static io.isthmus.gateway.exports.TestExports.clusterSetIp;
import static io.isthmus.gateway.exports.TestExports.headless;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One replica's registry. Unless a test says otherwise it runs as with a journal of its own (one replica): each
 * write is applied to the merged view as it is stored, so the view and its topic show it at once.
 */
class ExportRegistryTest {
    private static final Config CONFIG = ConfigFactory.parseString(
                    "pekko.actor.serialization-bindings { \"io.isthmus.gateway.CborSerializable\" = jackson-cbor }")
            .withFallback(EventSourcedBehaviorTestKit.config());
    private static final AtomicInteger IDS = new AtomicInteger();
    private static final String REPLICA = "gw-0";
    private static ActorTestKit testKit;

    private final SettableClock clock = new SettableClock(T0);
    private TestProbe<Topic.Command<ExportSet>> topic;
    private ClusterExports merged;
    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportRegistry.OwnWrites> registry;

    private final ServiceExport cart = clusterSetIp("shop", "cart", "10.96.0.10", T0, "http:80/TCP");
    private final ServiceExport db = headless("shop", "db", List.of("10.0.0.5", "fd00::5"), T0, "pg:5432/TCP");

    @BeforeAll
    static void startSystem() {
        testKit = ActorTestKit.create(CONFIG);
    }

    @AfterAll
    static void stopSystem() {
        testKit.shutdownTestKit();
    }

    @BeforeEach
    void startRegistry() {
        registry = startRegistry(clock);
    }

    /** Every command, event and state is checked to survive Jackson CBOR unchanged. */
    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportRegistry.OwnWrites> startRegistry(
            Clock clock) {
        topic = testKit.createTestProbe();
        merged = new ClusterExports(set -> topic.ref().tell(Topic.publish(set)));
        merged.startPublishing();
        expectPublished(ExportSet.EMPTY);
        return startRegistry(clock, merged::applyAll);
    }

    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportRegistry.OwnWrites> startRegistry(
            Clock clock, Consumer<List<ExportEntry>> persisted) {
        // A cluster id of its own per registry: the in-memory journal is shared by the whole actor system.
        return EventSourcedBehaviorTestKit.create(testKit.system(),
                ExportRegistry.create("c" + IDS.incrementAndGet(), REPLICA, merged, persisted, clock),
                EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true)
                        .withVerifyCommands(false));
    }

    /** The next thing the view told the topic must be a publish of exactly {@code expected}. */
    private void expectPublished(ExportSet expected) {
        Topic.Command<ExportSet> received = topic.receiveMessage(Duration.ofSeconds(3));
        assertEquals(Topic.publish(expected), received);
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<ExportRegistry.Command, ExportRegistry.Event,
            ExportRegistry.OwnWrites, ExportRegistry.Changed> export(ServiceExport export) {
        return registry.<ExportRegistry.Changed>runCommand(replyTo -> new ExportRegistry.Export(export, replyTo));
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<ExportRegistry.Command, ExportRegistry.Event,
            ExportRegistry.OwnWrites, ExportRegistry.Unexported> unexport(ServiceKey key) {
        return registry.<ExportRegistry.Unexported>runCommand(replyTo -> new ExportRegistry.Unexport(key, replyTo));
    }

    private ExportRegistry.ServiceExported exported(ServiceExport export, long version) {
        return new ExportRegistry.ServiceExported(export, version, REPLICA);
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<ExportRegistry.Command, ExportRegistry.Event,
            ExportRegistry.OwnWrites, ExportRegistry.ChangesReply> applyChanges(List<ServiceExport> exports,
                                                                                List<ServiceKey> unexports) {
        return registry.<ExportRegistry.ChangesReply>runCommand(
                replyTo -> new ExportRegistry.ApplyChanges(exports, unexports, replyTo));
    }

    @Test
    void aChangeOfManyServicesIsOneEventOneVersionAndOnePublishedSet() {
        List<ServiceExport> many = new java.util.ArrayList<>();
        for (int i = 0; i < 2_000; i++) {
            many.add(clusterSetIp("bulk", "svc-" + i, "10.97." + (i / 250) + "." + (i % 250), T0, "http:80/TCP"));
        }
        var result = applyChanges(many, List.of());
        long version = T0.toEpochMilli();

        assertEquals(1, result.events().size(), "one event for the whole change");
        assertEquals(new ExportRegistry.ChangesApplied(2_000, 0, 0, 0, version), result.reply());
        assertEquals(new ExportSet(version, many), merged.current());
        expectPublished(merged.current());
        topic.expectNoMessage(Duration.ofMillis(100)); // not one set per service
    }

    @Test
    void aChangeCountsWhatItLeavesAsItWasAndWithdrawsInTheSameEvent() {
        export(cart);
        expectPublished(merged.current());
        clock.set(T0.plusSeconds(1));
        ServiceExport cartAgainLater = ServiceExport.of(cart.key(), cart.type(), cart.ports(), cart.ips(),
                T0.plusSeconds(1));
        ServiceKey neverExported = new ServiceKey("shop", "ghost");
        var result = applyChanges(List.of(db, cartAgainLater), List.of(neverExported));
        long version = T0.plusSeconds(1).toEpochMilli();
        assertEquals(new ExportRegistry.ChangesApplied(1, 1, 0, 1, version), result.reply());
        assertEquals(new ExportSet(version, List.of(cart, db)), merged.current());
        expectPublished(merged.current());

        clock.set(T0.plusSeconds(2));
        var withdrawal = applyChanges(List.of(), List.of(cart.key(), db.key()));
        assertEquals(new ExportRegistry.ChangesApplied(0, 0, 2, 0, T0.plusSeconds(2).toEpochMilli()),
                withdrawal.reply());
        assertEquals(1, withdrawal.events().size());
        assertEquals(0, merged.current().size());
        // Tombstones: a late, older word for either service cannot bring it back.
        assertFalse(merged.apply(ExportEntry.exported(cart, T0.plusSeconds(1).toEpochMilli(), "gw-9")));
    }

    @Test
    void aChangeThatNamesAServiceTwiceIsRefusedWholeNamingTheEntry() {
        export(cart);
        expectPublished(merged.current());
        var twice = applyChanges(List.of(db, cart, db), List.of());
        assertEquals(new ExportRegistry.ChangesRefused("exports[2]", "shop/db",
                "names the same service as exports[0]; each service may appear once in a change"), twice.reply());
        assertTrue(twice.hasNoEvents());
        var both = applyChanges(List.of(db), List.of(new ServiceKey("shop", "x"), db.key()));
        assertEquals("unexports[1]", ((ExportRegistry.ChangesRefused) both.reply()).field());
        assertTrue(both.hasNoEvents());
        assertFalse(merged.current().find(db.key()).isPresent(), "none of it was stored");
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void aChangeWithNothingNewStoresNothing() {
        export(cart);
        expectPublished(merged.current());
        var result = applyChanges(List.of(cart), List.of(new ServiceKey("shop", "ghost")));
        assertTrue(result.hasNoEvents());
        assertEquals(new ExportRegistry.ChangesApplied(0, 1, 0, 1, 0), result.reply());
    }

    @Test
    void versionsOfAChangeExceedThoseOfTheWordsItReplaces() {
        Clock fixed = Clock.fixed(T0, ZoneOffset.UTC);
        registry = startRegistry(fixed);
        long first = export(cart).reply().version();
        var result = applyChanges(List.of(db), List.of(cart.key()));
        long version = ((ExportRegistry.ChangesApplied) result.reply()).version();
        assertEquals(first + 1, version);
        assertEquals(version, registry.getState().lastVersion());
        assertEquals(version, export(cart).reply().version() - 1, "the next single write follows it");
    }

    @Test
    void exportPersistsServiceExportedWithAVersionAndRepliesChanged() {
        var result = export(cart);
        long version = T0.toEpochMilli();
        assertEquals(List.of(exported(cart, version)), result.events());
        assertEquals(new ExportRegistry.Changed(cart, version), result.reply());
        assertEquals(new ExportSet(version, List.of(cart)), merged.current());
        assertEquals(cart, merged.current().find(cart.key()).orElseThrow());
        expectPublished(merged.current());
    }

    @Test
    void versionsStrictlyIncreaseWhileTheClockStandsStill() {
        Clock fixed = Clock.fixed(T0, ZoneOffset.UTC);
        registry = startRegistry(fixed);
        long v1 = export(cart).reply().version();
        long v2 = export(db).reply().version();
        long v3 = unexport(cart.key()).reply().version();
        assertEquals(List.of(T0.toEpochMilli(), T0.toEpochMilli() + 1, T0.toEpochMilli() + 2), List.of(v1, v2, v3));
        assertEquals(v3, merged.current().version());
        assertEquals(v3, registry.getState().lastVersion());
    }

    @Test
    void versionIsOneMoreThanThePreviousWhenTheClockIsBehind() {
        clock.set(Instant.EPOCH);
        assertEquals(1, export(cart).reply().version());
        assertEquals(2, export(db).reply().version());
        clock.set(Instant.EPOCH.plusMillis(1));
        assertEquals(3, unexport(db.key()).reply().version());
    }

    @Test
    void versionFollowsTheWallClockWhenItIsAhead() {
        assertEquals(T0.toEpochMilli(), export(cart).reply().version());
        clock.set(T0.plusSeconds(10));
        assertEquals(T0.plusSeconds(10).toEpochMilli(), export(db).reply().version());
        clock.set(T0.minusSeconds(60)); // the wall clock steps back: versions still grow
        assertEquals(T0.plusSeconds(10).toEpochMilli() + 1, unexport(db.key()).reply().version());
    }

    @Test
    void identicalReExportPersistsNothingAndRepliesTheCurrentVersion() {
        var first = export(cart);
        ExportSet before = merged.current();
        expectPublished(before);
        clock.set(T0.plusSeconds(5));
        var again = export(cart);
        assertTrue(again.hasNoEvents(), again.events().toString());
        assertEquals(new ExportRegistry.Changed(cart, first.reply().version()), again.reply());
        assertEquals(before, merged.current());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void reExportThatDiffersOnlyInExportTimeIsIdentical() {
        export(cart);
        expectPublished(merged.current());
        ServiceExport later = ServiceExport.of(cart.key(), cart.type(), cart.ports(), cart.ips(), T0.plusSeconds(60));
        var again = export(later);
        assertTrue(again.hasNoEvents(), again.events().toString());
        assertEquals(cart, again.reply().export());
        assertEquals(T0, merged.current().find(cart.key()).orElseThrow().exportedAt());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void reExportWithChangedPortsKeepsTheOriginalExportTime() {
        export(cart);
        expectPublished(merged.current());
        clock.set(T0.plusSeconds(30));
        ServiceExport changed = ServiceExport.of(cart.key(), cart.type(),
                List.of(ServicePort.parse("http:80/TCP"), ServicePort.parse("https:443/TCP")), cart.ips(),
                T0.plusSeconds(30));
        var result = export(changed);
        ServiceExport stored = ServiceExport.of(cart.key(), cart.type(), changed.ports(), cart.ips(), T0);
        long version = T0.plusSeconds(30).toEpochMilli();
        assertEquals(List.of(exported(stored, version)), result.events());
        assertEquals(new ExportRegistry.Changed(stored, version), result.reply());
        assertEquals(new ExportSet(version, List.of(stored)), merged.current());
        expectPublished(merged.current());
    }

    @Test
    void reExportWithAnotherIpIsAChange() {
        export(cart);
        ServiceExport moved = clusterSetIp("shop", "cart", "10.96.0.11", T0.plusSeconds(1), "http:80/TCP");
        var result = export(moved);
        assertEquals(1, result.events().size());
        assertEquals(List.of(moved.ips().getFirst()), merged.current().find(cart.key()).orElseThrow().ips());
        assertEquals(T0, merged.current().find(cart.key()).orElseThrow().exportedAt());
    }

    @Test
    void unexportOfAKnownKeyPersistsServiceUnexportedAndRepliesFound() {
        export(cart);
        export(db);
        expectPublished(new ExportSet(T0.toEpochMilli(), List.of(cart)));
        expectPublished(new ExportSet(T0.toEpochMilli() + 1, List.of(cart, db)));
        var result = unexport(cart.key());
        long version = T0.toEpochMilli() + 2;
        assertEquals(List.of(new ExportRegistry.ServiceUnexported(cart.key(), version, REPLICA)), result.events());
        assertEquals(new ExportRegistry.Unexported(cart.key(), true, version), result.reply());
        assertEquals(new ExportSet(version, List.of(db)), merged.current());
        assertTrue(merged.current().find(cart.key()).isEmpty());
        expectPublished(merged.current());
    }

    @Test
    void unexportOfAnUnknownKeyRepliesNotFoundAndPersistsNothing() {
        export(db);
        ExportSet before = merged.current();
        expectPublished(before);
        var result = unexport(cart.key());
        assertTrue(result.hasNoEvents(), result.events().toString());
        assertEquals(new ExportRegistry.Unexported(cart.key(), false, 0), result.reply());
        assertEquals(before, merged.current());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void unexportOnAnEmptyRegistryRepliesVersionZero() {
        var result = unexport(cart.key());
        assertTrue(result.hasNoEvents());
        assertEquals(new ExportRegistry.Unexported(cart.key(), false, 0), result.reply());
    }

    @Test
    void getExportsRepliesTheMergedSet() {
        export(cart);
        export(db);
        var result = registry.<ExportSet>runCommand(ExportRegistry.GetExports::new);
        assertTrue(result.hasNoEvents());
        assertEquals(merged.current(), result.reply());
        assertEquals(List.of(cart, db), result.reply().exports());
    }

    @Test
    void unexportRightAfterAnExportFindsItBeforeTheSharedJournalBringsItBack() {
        // With a shared journal the view learns of our own write only from the journal reader, later.
        merged = new ClusterExports(set -> { });
        registry = startRegistry(clock, entry -> { });
        long exportedAt = export(cart).reply().version();
        assertTrue(merged.current().find(cart.key()).isEmpty(), "the reader has not brought it yet");
        ServiceExport changed = clusterSetIp("shop", "cart", "10.96.0.11", T0.plusSeconds(9), "http:80/TCP");
        var reExport = export(changed);
        assertEquals(T0, reExport.reply().export().exportedAt(), "the first export time is kept");
        var result = unexport(cart.key());
        assertEquals(new ExportRegistry.Unexported(cart.key(), true, exportedAt + 2), result.reply());
        // Once the reader has applied our writes, they are no longer pending.
        merged.apply(new ExportRegistry.ServiceExported(cart, exportedAt, REPLICA).entry());
        reExport.events().forEach(event -> merged.applyAll(event.entries()));
        result.events().forEach(event -> merged.applyAll(event.entries()));
        export(db);
        assertEquals(List.of(db.key()), registry.getState().pending().stream().map(ExportEntry::key).toList());
    }

    @Test
    void aWriteAfterAnotherReplicasNewerWordWinsOverItWhateverTheClockSays() {
        ExportEntry fromTheFuture = ExportEntry.exported(cart, T0.plusSeconds(60).toEpochMilli(), "gw-1");
        merged.apply(fromTheFuture);
        expectPublished(merged.current());
        var result = unexport(cart.key()); // our clock says T0, a minute behind gw-1's
        assertEquals(fromTheFuture.version() + 1, result.reply().version());
        assertTrue(merged.current().find(cart.key()).isEmpty());
    }

    @Test
    void pendingWritesAreDroppedOnceTheMergedViewHasThem() {
        export(cart);
        export(db);
        // Own journal: each write is in the view at once, so at most the newest one is still listed.
        assertTrue(registry.getState().pending().size() <= 1, registry.getState().toString());
    }

    @Test
    void versionsKeepGrowingAfterARestart() {
        clock.set(Instant.EPOCH);
        export(cart);
        export(db);
        registry.restart();
        assertEquals(3, unexport(cart.key()).reply().version());
        assertFalse(merged.current().find(cart.key()).isPresent());
    }

    @Test
    void stateSurvivesJacksonCborAsTheTestkitChecksIt() {
        merged = new ClusterExports(set -> { });
        registry = startRegistry(clock, entry -> { });
        var result = export(cart);
        assertEquals(new ExportRegistry.OwnWrites(T0.toEpochMilli(),
                List.of(ExportEntry.exported(cart, T0.toEpochMilli(), REPLICA))), result.state());
    }

    @Test
    void exportSetSurvivesThePekkoSerializerItIsBoundTo() {
        SerializationTestKit serialization = new SerializationTestKit(testKit.system());
        serialization.verifySerialization(new ExportSet(T0.toEpochMilli(), List.of(cart, db)), true);
    }

    @Test
    void eventsAndRepliesSurviveThePekkoSerializerTheyAreBoundTo() {
        SerializationTestKit serialization = new SerializationTestKit(testKit.system());
        serialization.verifySerialization(new ExportRegistry.ServiceExported(db, 7, REPLICA), true);
        serialization.verifySerialization(new ExportRegistry.ServiceUnexported(db.key(), 8, REPLICA), true);
        serialization.verifySerialization(new ExportRegistry.Changed(cart, 9), true);
        serialization.verifySerialization(new ExportRegistry.Unexported(cart.key(), true, 10), true);
        serialization.verifySerialization(new ExportRegistry.Export(db, testKit.<ExportRegistry.Changed>createTestProbe().ref()), true);
    }
}
