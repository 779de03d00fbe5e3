package io.isthmus.ipam.serialization;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.directory.PoolDirectory;
import io.isthmus.ipam.plan.PlanEvent;
import io.isthmus.ipam.pool.PoolEvent;
import io.isthmus.ipam.pool.PoolSnapshot;
import io.isthmus.ipam.pool.PoolState;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The journal's schema versions, through Pekko's own serialization as a replica reads and writes its journal: what an
 * older release wrote (no version in the manifest, fields it did not have yet) is upgraded; new entries carry the
 * version; an entry one version ahead (a newer replica's, during a rolling upgrade) is read, two ahead refused.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JournalSchemaTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final Instant AT = Instant.parse("2026-12-08T01:00:00Z");
    private ActorSystem<Void> system;
    private Serialization serialization;
    private ObjectMapper cbor;

    @BeforeAll
    void start() {
        system = ActorSystem.create(Behaviors.empty(), "journal-schema",
                com.typesafe.config.ConfigFactory.parseResources(IpamSchema.RESOURCE).withFallback(
                        com.typesafe.config.ConfigFactory.defaultReference()).resolve());
        serialization = SerializationExtension.get(system.classicSystem());
        cbor = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-cbor", Optional.empty());
    }

    @AfterAll
    void stop() {
        system.terminate();
    }

    /** One stored entry: what the journal keeps of it. */
    private record Stored(byte[] bytes, int serializerId, String manifest) {
    }

    private Stored write(Object entry) {
        Serializer serializer = serialization.findSerializerFor(entry);
        return new Stored(serializer.toBinary(entry), serializer.identifier(), Serializers.manifestFor(serializer, entry));
    }

    private Object read(Stored stored) {
        return serialization.deserialize(stored.bytes(), stored.serializerId(), stored.manifest()).get();
    }

    /** The same entry as another release would have stored it: its tree changed by {@code edit}, under {@code manifest}. */
    private Stored rewritten(Stored stored, String manifest, java.util.function.Consumer<ObjectNode> edit) throws Exception {
        ObjectNode tree = (ObjectNode) cbor.readTree(stored.bytes());
        edit.accept(tree);
        return new Stored(cbor.writeValueAsBytes(tree), stored.serializerId(), manifest);
    }

    private static String className(Object entry) {
        return entry.getClass().getName();
    }

    private static PoolEvent.Reserved reserved(String attachment) {
        Owner owner = Owner.of(EAST, "shop", OwnerKind.POD, "cart-0", "uid-1");
        return new PoolEvent.Reserved(owner, 5, -1, "r-1", AT, AT.plusSeconds(30), attachment);
    }

    @Test
    void newEntriesRecordTheCurrentSchemaVersionInTheirManifest() {
        assertEquals(className(reserved("")) + "#2", write(reserved("")).manifest());
        PoolEvent.Batch batch = new PoolEvent.Batch(List.of(reserved("")));
        assertEquals(className(batch) + "#2", write(batch).manifest());
        PoolDirectory.State directory = new PoolDirectory.State(List.of(), Map.of());
        assertEquals(className(directory) + "#2", write(directory).manifest());
    }

    @Test
    void aReservationOfAReleaseBeforeAttachmentsReadsAsBoundToNoContainer() throws Exception {
        // Releases before CNI attachments wrote no attachment field, and no version: manifest = the class name.
        Stored old = rewritten(write(reserved("node-1/net/c-1/eth0")), className(reserved("")), t -> t.remove("attachment"));
        assertEquals(reserved(""), read(old));
    }

    @Test
    void aBatchOfAnOlderReleaseHasEachOfItsReservationsUpgraded() throws Exception {
        PoolEvent.Batch batch = new PoolEvent.Batch(List.of(reserved("x"),
                new PoolEvent.Released("shop/cart-0", true, AT), reserved("y")));
        Stored old = rewritten(write(batch), className(batch), tree -> tree.withArray("changes")
                .forEach(change -> ((ObjectNode) change).remove("attachment")));
        assertEquals(new PoolEvent.Batch(List.of(reserved(""), new PoolEvent.Released("shop/cart-0", true, AT),
                reserved(""))), read(old));
    }

    @Test
    void aPoolSnapshotOfAnOlderReleaseGetsAnEmptyCoolingListAndUnboundHoldings() throws Exception {
        PoolSpec spec = PoolSpec.of("pods", Cidr.parse("cidr", "10.1.0.0/24"));
        PoolSnapshot written = new PoolSnapshot(spec, List.of("east", "east"), List.of("shop", "shop"),
                List.of(OwnerKind.POD, OwnerKind.STATEFUL_POD), List.of("cart-0", "db-0"), List.of("u1", "u2"),
                new long[] {3, 4}, new long[] {-1, -1}, List.of(LeaseState.ACTIVE, LeaseState.PARKED),
                new long[] {AT.getEpochSecond(), AT.getEpochSecond()}, new int[] {0, 0}, List.of(), 7, List.of(), 2,
                List.of(), List.of("node-1/net/c-1/eth0", ""), null);
        PoolState state = PoolState.fromSnapshot(written);
        Stored old = rewritten(write(state), className(state), tree -> {
            tree.remove("cooling");
            tree.remove("attachments");
        });
        PoolSnapshot upgraded = ((PoolState) read(old)).snapshot();
        assertEquals(List.of("", ""), upgraded.attachments(), "holdings of a release before attachments are unbound");
        assertEquals(List.of(), upgraded.cooling());
        assertEquals(java.util.Set.of("cart-0", "db-0"), java.util.Set.copyOf(upgraded.names()));
        assertEquals(2, upgraded.reclaimed());
    }

    @Test
    void aPoolDirectoryOfAReleaseBeforePoolDeletionHasNoDeletions() throws Exception {
        PoolSpec spec = PoolSpec.of("pods", Cidr.parse("cidr", "10.1.0.0/24"));
        PoolDirectory.State state = new PoolDirectory.State(List.of(spec), Map.of("old", 2L));
        Stored old = rewritten(write(state), className(state), tree -> tree.remove("deletions"));
        PoolDirectory.State read = (PoolDirectory.State) read(old);
        assertEquals(List.of(spec), read.pools());
        assertEquals(0, read.incarnation("old"));
    }

    @Test
    void anEntryOfTheNextVersionIsReadIgnoringTheFieldsItAdded() throws Exception {
        Stored next = rewritten(write(reserved("a")), className(reserved("")) + "#3",
                tree -> tree.put("addedInVersion3", "something this release does not know"));
        assertEquals(reserved("a"), read(next));
    }

    @Test
    void anEntryTwoVersionsAheadIsRefusedNamingBothVersions() throws Exception {
        Stored ahead = rewritten(write(reserved("a")), className(reserved("")) + "#4", tree -> { });
        Exception refused = assertThrows(Exception.class, () -> read(ahead));
        String message = String.valueOf(refused.getMessage());
        System.out.println("an entry two versions ahead: " + message);
        assertTrue(message.contains("4") && message.contains("3"), message);
    }

    @Test
    void everyStoredTypeHasASchemaMigration() {
        List<Class<?>> stored = new ArrayList<>();
        stored.addAll(List.of(PoolEvent.class.getPermittedSubclasses()));
        stored.addAll(List.of(PlanEvent.class.getPermittedSubclasses()));
        stored.addAll(List.of(PoolDirectory.Event.class.getPermittedSubclasses()));
        stored.add(PoolState.class);
        stored.add(PoolDirectory.State.class);
        com.typesafe.config.Config migrations = system.settings().config().getConfig("pekko.serialization.jackson.migrations");
        List<String> missing = stored.stream().map(Class::getName)
                .filter(name -> !migrations.hasPath(com.typesafe.config.ConfigUtil.quoteString(name)))
                .toList();
        assertEquals(List.of(), missing, "stored types without a schema migration in " + IpamSchema.RESOURCE);
    }
}
