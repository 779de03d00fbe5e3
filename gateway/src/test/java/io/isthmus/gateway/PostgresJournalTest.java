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
        return config(dataDir, "east");
    }

    /** Each test its own cluster: they share one database. */
    private GatewayConfig config(Path dataDir, String cluster) {
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(dataDir.resolve("tls"));
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = 0
                  peering.port = 0
                  dns.port = 0
                  replicas.port = 0
                  journal { kind = postgres, postgres { url = "%s", user = postgres } }
                }
                """.formatted(cluster, dataDir, postgres.url())), dataDir);
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

    private static ExportSet exportsOf(Gateway gateway) throws Exception {
        return gateway.exports().<ExportSet>ask(ExportRegistry.GetExports::new, Duration.ofSeconds(10))
                .toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private static ExportRegistry.Changed export(Gateway gateway, ServiceExport export) throws Exception {
        return gateway.exports().<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(export, replyTo),
                Duration.ofSeconds(10)).toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private static ExportRegistry.Unexported unexport(Gateway gateway, ServiceKey key) throws Exception {
        return gateway.exports().<ExportRegistry.Unexported>ask(replyTo -> new ExportRegistry.Unexport(key, replyTo),
                Duration.ofSeconds(10)).toCompletableFuture().get(15, TimeUnit.SECONDS);
    }

    private static ServiceExport service(String name, String ip) {
        return ServiceExport.of(new ServiceKey("churn", name), ServiceType.CLUSTER_SET_IP,
                List.of(ServicePort.parse("80/TCP")), List.of(IpLiteral.parse("ip", ip)),
                Instant.parse("2026-01-01T00:00:00Z"));
    }

    /**
     * Two replicas running at once, each writing through its own stream: writes through either are seen by both,
     * an unexport through one removes an export made through the other, and racing writes to the same services
     * end in the same set under the same version on both.
     */
    @Test
    void twoReplicasWritingAtOnceConvergeOnTheSameExportsAndVersion(@TempDir Path first, @TempDir Path second)
            throws Exception {
        try (Gateway a = Gateway.start(config(first, "north")); Gateway b = Gateway.start(config(second, "north"))) {
            export(a, service("one", "10.96.1.1"));
            awaitSame(a, b, set -> set.find(new ServiceKey("churn", "one")).isPresent());
            assertEquals(true, unexport(b, new ServiceKey("churn", "one")).found(),
                    "b sees the export made through a and removes it");
            awaitSame(a, b, set -> set.find(new ServiceKey("churn", "one")).isEmpty());

            List<java.util.concurrent.CompletableFuture<?>> racing = new java.util.ArrayList<>();
            for (int i = 0; i < 20; i++) {
                Gateway via = i % 2 == 0 ? a : b;
                ServiceExport export = service("svc-" + (i % 5), "10.96.2." + (i + 1));
                racing.add(via.exports().<ExportRegistry.Changed>ask(
                        replyTo -> new ExportRegistry.Export(export, replyTo), Duration.ofSeconds(10))
                        .toCompletableFuture());
            }
            for (var write : racing) {
                write.get(15, TimeUnit.SECONDS);
            }
            ExportSet converged = awaitSame(a, b, set -> set.size() == 5);
            assertEquals(5, converged.size(), converged.toString());
        }
    }

    /** Waits until both replicas hold equal sets (content and version) that pass {@code check}; returns it. */
    private static ExportSet awaitSame(Gateway a, Gateway b, java.util.function.Predicate<ExportSet> check)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        ExportSet atA;
        ExportSet atB;
        do {
            atA = exportsOf(a);
            atB = exportsOf(b);
            if (atA.equals(atB) && check.test(atA)) {
                return atA;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("the replicas did not converge within 10 s:\n a: " + atA + "\n b: " + atB);
    }
}
