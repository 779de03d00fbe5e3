package io.isthmus.gateway.exports;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.PekkoSettingsAccess;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The export journal records its schema version, as the gateway's Pekko settings configure it, and writes entries as
 * releases before versions did when {@code isthmus.journal.schema-versions = off}; either form reads back.
 */
class ExportSchemaTest {
    private static final ServiceExport CART = ServiceExport.of(new ServiceKey("shop", "cart"), ServiceType.CLUSTER_SET_IP,
            List.of(ServicePort.parse("http:80/TCP")), List.of(InetAddress.ofLiteral("10.96.0.10")),
            Instant.parse("2026-12-08T01:00:00Z"));

    private static Config settings(Path dir, String schemaVersions) {
        return PekkoSettingsAccess.forGateway(GatewayConfigLoader.fromConfig(ConfigFactory.parseString(
                "isthmus { cluster-id = east, replicas.port = 0, journal.schema-versions = " + schemaVersions + " }"), dir));
    }

    /** The manifest an entry is stored under, and that it reads back equal, in a (local) system with {@code settings}. */
    private static String storedManifest(Config settings, Object entry) {
        Config local = ConfigFactory.parseString("pekko.actor.provider = local, pekko.coordinated-shutdown.exit-jvm = off")
                .withFallback(settings);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "export-schema", local);
        try {
            Serialization serialization = SerializationExtension.get(system.classicSystem());
            Serializer serializer = serialization.findSerializerFor(entry);
            String manifest = Serializers.manifestFor(serializer, entry);
            Object back = serialization.deserialize(serializer.toBinary(entry), serializer.identifier(), manifest).get();
            assertEquals(entry, back);
            return manifest;
        } finally {
            system.terminate();
        }
    }

    @Test
    void exportEventsRecordTheSchemaVersionByDefault(@TempDir Path dir) {
        ExportRegistry.ServiceExported event = new ExportRegistry.ServiceExported(CART, 7, "east-a");
        assertEquals(ExportRegistry.ServiceExported.class.getName() + "#2", storedManifest(settings(dir, "on"), event));
    }

    @Test
    void withSchemaVersionsOffEntriesAreWrittenAsReleasesBeforeVersionsWroteThem(@TempDir Path dir) {
        ExportRegistry.ServiceExported event = new ExportRegistry.ServiceExported(CART, 7, "east-a");
        assertEquals(ExportRegistry.ServiceExported.class.getName(), storedManifest(settings(dir, "off"), event));
        io.isthmus.ipam.pool.PoolEvent.PoolRetired retired = new io.isthmus.ipam.pool.PoolEvent.PoolRetired(0,
                Instant.parse("2026-12-08T01:00:00Z"));
        assertEquals(retired.getClass().getName(), storedManifest(settings(dir, "off"), retired));
    }

    @Test
    void everyStoredExportTypeAndEveryIpamTypeHasASchemaMigration(@TempDir Path dir) {
        List<Class<?>> stored = new ArrayList<>(List.of(ExportRegistry.Event.class.getPermittedSubclasses()));
        stored.add(ExportRegistry.OwnWrites.class);
        stored.add(io.isthmus.ipam.pool.PoolEvent.Batch.class); // ipam-actors' own list (its JournalSchemaTest checks it)
        Config migrations = settings(dir, "on").getConfig("pekko.serialization.jackson.migrations");
        List<String> missing = stored.stream().map(Class::getName)
                .filter(name -> !migrations.hasPath(ConfigUtil.quoteString(name))).toList();
        assertEquals(List.of(), missing);
    }
}
