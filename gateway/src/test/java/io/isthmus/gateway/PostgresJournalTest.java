package io.isthmus.gateway;

import io.isthmus.testing.PostgresServer;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.IpLiteral;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.gateway.pki.ClustersetCa;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The production journal: a real PostgreSQL server. An export stored by one gateway is there for a gateway started
 * on another data directory, which is what replicas of one cluster need.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PostgresJournalTest {
    private PostgresServer postgres;
    private ClustersetCa ca;

    @BeforeAll
    void startPostgres(@TempDir Path dir) throws Exception {
        postgres = PostgresServer.start();
        ca = ClustersetCa.init(dir.resolve("ca"));
    }

    @AfterAll
    void stopPostgres() throws Exception {
        postgres.close();
    }

    private GatewayConfig config(Path dataDir) {
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dataDir.resolve("tls"));
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = east
                  data-dir = "%s"
                  admin.port = 0
                  peering.port = 0
                  dns.port = 0
                  replicas.port = 0
                  journal { kind = postgres, postgres { url = "%s", user = postgres } }
                }
                """.formatted(dataDir, postgres.url())), dataDir);
    }

    @Test
    void anExportStoredInPostgresIsRecoveredByAGatewayOnAnotherDataDirectory(@TempDir Path first,
                                                                           @TempDir Path second) throws Exception {
        ServiceExport cart = ServiceExport.of(new ServiceKey("shop", "cart"), ServiceType.CLUSTER_SET_IP,
                List.of(ServicePort.parse("80/TCP")), List.of(IpLiteral.parse("ip", "10.96.0.10")),
                Instant.parse("2026-01-01T00:00:00Z"));
        try (Gateway gateway = Gateway.start(config(first))) {
            ExportRegistry.Changed changed = gateway.exports()
                    .<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(cart, replyTo), Duration.ofSeconds(10))
                    .toCompletableFuture().get(15, TimeUnit.SECONDS);
            assertEquals(cart, changed.export());
        }
        try (Gateway gateway = Gateway.start(config(second))) {
            ExportSet recovered = gateway.exports()
                    .<ExportSet>ask(ExportRegistry.GetExports::new, Duration.ofSeconds(10))
                    .toCompletableFuture().get(15, TimeUnit.SECONDS);
            assertEquals(List.of(cart), recovered.exports(), "the second data directory has no journal of its own");
        }
    }
}
