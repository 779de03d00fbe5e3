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

import static io.isthmus.gateway.exports.TestExports.T0;
import static io.isthmus.gateway.exports.TestExports.clusterSetIp;
import static io.isthmus.gateway.exports.TestExports.headless;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportRegistryTest {
    private static final Config CONFIG = ConfigFactory.parseString(
                    "pekko.actor.serialization-bindings { \"io.isthmus.gateway.CborSerializable\" = jackson-cbor }")
            .withFallback(EventSourcedBehaviorTestKit.config());
    private static final AtomicInteger IDS = new AtomicInteger();
    private static ActorTestKit testKit;

    private final SettableClock clock = new SettableClock(T0);
    private TestProbe<Topic.Command<ExportSet>> topic;
    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportSet> registry;

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

    /**
     * Every command and event is checked to survive Jackson CBOR unchanged. The state is checked on its own in
     * {@link #stateSurvivesJacksonCborAsTheTestkitChecksIt}, so that the behaviour tests say what they test.
     */
    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportSet> startRegistry(Clock clock) {
        return startRegistry(clock, EventSourcedBehaviorTestKit.enabledSerializationSettings()
                .withVerifyEquality(true).withVerifyState(false));
    }

    private EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportSet> startRegistry(
            Clock clock, EventSourcedBehaviorTestKit.SerializationSettings serialization) {
        topic = testKit.createTestProbe();
        // A cluster id of its own per registry: the in-memory journal is shared by the whole actor system.
        EventSourcedBehaviorTestKit<ExportRegistry.Command, ExportRegistry.Event, ExportSet> kit =
                EventSourcedBehaviorTestKit.create(testKit.system(),
                        ExportRegistry.create("c" + IDS.incrementAndGet(), topic.ref(), clock), serialization);
        expectPublished(ExportSet.EMPTY); // after recovery
        return kit;
    }

    /** The next thing the registry told the topic must be a publish of exactly {@code expected}. */
    private void expectPublished(ExportSet expected) {
        Topic.Command<ExportSet> received = topic.receiveMessage(Duration.ofSeconds(3));
        assertEquals(Topic.publish(expected), received);
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<ExportRegistry.Command, ExportRegistry.Event, ExportSet,
            ExportRegistry.Changed> export(ServiceExport export) {
        return registry.<ExportRegistry.Changed>runCommand(replyTo -> new ExportRegistry.Export(export, replyTo));
    }

    private EventSourcedBehaviorTestKit.CommandResultWithReply<ExportRegistry.Command, ExportRegistry.Event, ExportSet,
            ExportRegistry.Unexported> unexport(ServiceKey key) {
        return registry.<ExportRegistry.Unexported>runCommand(replyTo -> new ExportRegistry.Unexport(key, replyTo));
    }

    @Test
    void exportPersistsServiceExportedWithAVersionAndRepliesChanged() {
        var result = export(cart);
        long version = T0.toEpochMilli();
        assertEquals(List.of(new ExportRegistry.ServiceExported(cart, version)), result.events());
        assertEquals(new ExportRegistry.Changed(cart, version), result.reply());
        assertEquals(new ExportSet(version, List.of(cart)), result.state());
        assertEquals(cart, result.state().find(cart.key()).orElseThrow());
        expectPublished(result.state());
    }

    @Test
    void versionsStrictlyIncreaseWhileTheClockStandsStill() {
        Clock fixed = Clock.fixed(T0, ZoneOffset.UTC);
        registry = startRegistry(fixed);
        long v1 = export(cart).reply().version();
        long v2 = export(db).reply().version();
        long v3 = unexport(cart.key()).reply().version();
        assertEquals(List.of(T0.toEpochMilli(), T0.toEpochMilli() + 1, T0.toEpochMilli() + 2), List.of(v1, v2, v3));
        assertEquals(v3, registry.getState().version());
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
        expectPublished(first.state());
        clock.set(T0.plusSeconds(5));
        var again = export(cart);
        assertTrue(again.hasNoEvents(), again.events().toString());
        assertEquals(new ExportRegistry.Changed(cart, first.reply().version()), again.reply());
        assertEquals(first.state(), again.state());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void reExportThatDiffersOnlyInExportTimeIsIdentical() {
        var first = export(cart);
        expectPublished(first.state());
        ServiceExport later = ServiceExport.of(cart.key(), cart.type(), cart.ports(), cart.ips(), T0.plusSeconds(60));
        var again = export(later);
        assertTrue(again.hasNoEvents(), again.events().toString());
        assertEquals(cart, again.reply().export());
        assertEquals(T0, again.state().find(cart.key()).orElseThrow().exportedAt());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void reExportWithChangedPortsKeepsTheOriginalExportTime() {
        export(cart);
        expectPublished(registry.getState());
        clock.set(T0.plusSeconds(30));
        ServiceExport changed = ServiceExport.of(cart.key(), cart.type(),
                List.of(ServicePort.parse("http:80/TCP"), ServicePort.parse("https:443/TCP")), cart.ips(),
                T0.plusSeconds(30));
        var result = export(changed);
        ServiceExport stored = ServiceExport.of(cart.key(), cart.type(), changed.ports(), cart.ips(), T0);
        long version = T0.plusSeconds(30).toEpochMilli();
        assertEquals(List.of(new ExportRegistry.ServiceExported(stored, version)), result.events());
        assertEquals(new ExportRegistry.Changed(stored, version), result.reply());
        assertEquals(new ExportSet(version, List.of(stored)), result.state());
        expectPublished(result.state());
    }

    @Test
    void reExportWithAnotherIpIsAChange() {
        export(cart);
        ServiceExport moved = clusterSetIp("shop", "cart", "10.96.0.11", T0.plusSeconds(1), "http:80/TCP");
        var result = export(moved);
        assertEquals(1, result.events().size());
        assertEquals(List.of(moved.ips().getFirst()), result.state().find(cart.key()).orElseThrow().ips());
        assertEquals(T0, result.state().find(cart.key()).orElseThrow().exportedAt());
    }

    @Test
    void unexportOfAKnownKeyPersistsServiceUnexportedAndRepliesFound() {
        export(cart);
        export(db);
        expectPublished(new ExportSet(T0.toEpochMilli(), List.of(cart)));
        expectPublished(new ExportSet(T0.toEpochMilli() + 1, List.of(cart, db)));
        var result = unexport(cart.key());
        long version = T0.toEpochMilli() + 2;
        assertEquals(List.of(new ExportRegistry.ServiceUnexported(cart.key(), version)), result.events());
        assertEquals(new ExportRegistry.Unexported(cart.key(), true, version), result.reply());
        assertEquals(new ExportSet(version, List.of(db)), result.state());
        assertTrue(result.state().find(cart.key()).isEmpty());
        expectPublished(result.state());
    }

    @Test
    void unexportOfAnUnknownKeyRepliesNotFoundAndPersistsNothing() {
        var exported = export(db);
        expectPublished(exported.state());
        var result = unexport(cart.key());
        assertTrue(result.hasNoEvents(), result.events().toString());
        assertEquals(new ExportRegistry.Unexported(cart.key(), false, exported.reply().version()), result.reply());
        assertEquals(exported.state(), result.state());
        topic.expectNoMessage(Duration.ofMillis(100));
    }

    @Test
    void unexportOnAnEmptyRegistryRepliesVersionZero() {
        var result = unexport(cart.key());
        assertTrue(result.hasNoEvents());
        assertEquals(new ExportRegistry.Unexported(cart.key(), false, 0), result.reply());
    }

    @Test
    void getExportsRepliesTheCurrentSet() {
        // The reply is the state itself; its serialization is checked in exportSetSurvivesThePekkoSerializerItIsBoundTo.
        registry = startRegistry(clock, EventSourcedBehaviorTestKit.enabledSerializationSettings()
                .withVerifyEquality(true).withVerifyState(false).withVerifyCommands(false));
        export(cart);
        export(db);
        var result = registry.<ExportSet>runCommand(ExportRegistry.GetExports::new);
        assertTrue(result.hasNoEvents());
        assertEquals(registry.getState(), result.reply());
        assertEquals(List.of(cart, db), result.reply().exports());
    }

    @Test
    void stateAfterRestartEqualsStateBeforeAndIsPublishedAgain() {
        export(cart);
        export(db);
        clock.set(T0.plusSeconds(1));
        export(ServiceExport.of(cart.key(), cart.type(), List.of(ServicePort.parse("8080")), cart.ips(), T0));
        unexport(db.key());
        ExportSet before = registry.getState();
        for (int i = 0; i < 4; i++) {
            topic.receiveMessage(Duration.ofSeconds(3));
        }
        var restarted = registry.restart();
        assertEquals(before, restarted.state());
        assertEquals(before, registry.getState());
        expectPublished(before);
    }

    @Test
    void versionsKeepGrowingAfterARestart() {
        clock.set(Instant.EPOCH);
        export(cart);
        export(db);
        registry.restart();
        assertEquals(3, unexport(cart.key()).reply().version());
        assertFalse(registry.getState().find(cart.key()).isPresent());
    }

    /**
     * The state is a snapshot every 100 events (and is published on a cluster-wide topic, and is the reply to
     * GetExports from a sharded entity), so it must survive Jackson CBOR like the events do.
     */
    @Test
    void stateSurvivesJacksonCborAsTheTestkitChecksIt() {
        registry = startRegistry(clock, EventSourcedBehaviorTestKit.enabledSerializationSettings().withVerifyEquality(true));
        var result = export(cart);
        assertEquals(new ExportSet(T0.toEpochMilli(), List.of(cart)), result.state());
    }

    @Test
    void exportSetSurvivesThePekkoSerializerItIsBoundTo() {
        SerializationTestKit serialization = new SerializationTestKit(testKit.system());
        serialization.verifySerialization(new ExportSet(T0.toEpochMilli(), List.of(cart, db)), true);
    }

    @Test
    void eventsAndRepliesSurviveThePekkoSerializerTheyAreBoundTo() {
        SerializationTestKit serialization = new SerializationTestKit(testKit.system());
        serialization.verifySerialization(new ExportRegistry.ServiceExported(db, 7), true);
        serialization.verifySerialization(new ExportRegistry.ServiceUnexported(db.key(), 8), true);
        serialization.verifySerialization(new ExportRegistry.Changed(cart, 9), true);
        serialization.verifySerialization(new ExportRegistry.Unexported(cart.key(), true, 10), true);
        serialization.verifySerialization(new ExportRegistry.Export(db, testKit.<ExportRegistry.Changed>createTestProbe().ref()), true);
    }
}
