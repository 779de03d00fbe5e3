package io.isthmus.gateway.replicas;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.PekkoSettingsAccess;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.MeshTrust;
import io.isthmus.gateway.pki.ReplicaTls;
import org.apache.pekko.actor.BootstrapSetup;
import org.apache.pekko.actor.setup.ActorSystemSetup;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code replicas.discovery = kubernetes-api}: with the Pekko settings the gateway derives, pekko-management starts on
 * the management port and serves cluster bootstrap's contact-point route (what the other replicas probe). The
 * Kubernetes lookup itself needs an API server over TLS with the pod's service account, which cannot run here; the
 * service-account files point at temporary files (pekko-discovery-kubernetes-api reads them when it loads).
 */
class KubernetesBootstrapTest {
    @Test
    void servesTheBootstrapContactPointOnTheManagementPort(@TempDir Path dir) throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        GatewayConfig config = GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                isthmus { cluster-id = east, replicas { port = 0, discovery = kubernetes-api,
                  kubernetes-api { management-port = %d, required-contact-points = 2 } } }
                """.formatted(port)), dir);
        for (String file : new String[]{"ca.crt", "token", "namespace"}) {
            Files.writeString(dir.resolve(file), file.equals("namespace") ? "isthmus-system" : "");
        }
        Config pekko = ConfigFactory.parseMap(Map.of(
                "pekko.discovery.kubernetes-api.api-ca-path", dir.resolve("ca.crt").toString(),
                "pekko.discovery.kubernetes-api.api-token-path", dir.resolve("token").toString(),
                "pekko.discovery.kubernetes-api.pod-namespace-path", dir.resolve("namespace").toString(),
                "pekko.coordinated-shutdown.exit-jvm", "off"))
                .withFallback(PekkoSettingsAccess.forGateway(config));
        // The replicas' transport is TLS only: the system needs this cluster's certificate as any replica does.
        KeyFiles files = ClustersetCa.init(dir.resolve("ca")).issue(ClusterId.of("east"), Duration.ofDays(1))
                .writeTo(dir.resolve("tls"));
        ReplicaTls tls = ReplicaTls.of(MeshTrust.load(files), KeyMaterial.load(files), refusal -> { });
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "isthmus",
                ActorSystemSetup.create(BootstrapSetup.create(pekko)).withSetup(tls.setup()));
        try (AutoCloseable management = KubernetesBootstrap.start(system)) {
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/bootstrap/seed-nodes"))
                    .timeout(Duration.ofSeconds(5)).build();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            HttpResponse<String> response = null;
            while (response == null) {
                try {
                    response = http.send(request, HttpResponse.BodyHandlers.ofString());
                } catch (java.io.IOException e) {
                    assertTrue(System.nanoTime() < deadline, "pekko-management did not listen on " + port + ": " + e);
                    Thread.sleep(200);
                }
            }
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(response.body().contains("\"selfNode\":\"pekko://isthmus@127.0.0.1:"), response.body());
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }
}
