package io.isthmus.gateway;

import com.typesafe.config.ConfigFactory;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;

import java.nio.file.Path;

/**
 * Gateways that tests start in their own JVM: every listener on a free loopback port, the admin API without
 * authentication (AdminAuthTest is about that), relative paths resolved against {@code baseDir} (so {@code tls/}
 * there holds the certificate).
 */
public final class TestGateways {
    private TestGateways() {
    }

    /**
     * The settings of cluster {@code cluster} with its data in {@code dataDir}, and {@code settings} (HOCON inside
     * {@code isthmus { }}, e.g. a {@code plan} or {@code ipam} block) on top.
     */
    public static GatewayConfig config(String cluster, Path baseDir, Path dataDir, String settings) {
        String base = """
                isthmus {
                  cluster-id = %s
                  data-dir = "%s"
                  admin.port = 0
                  admin.auth.enabled = off
                  peering.port = 0
                  dns.port = 0
                  replicas.port = 0
                }
                """.formatted(cluster, dataDir.toString().replace("\\", "/"));
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("isthmus {\n" + settings + "\n}")
                .withFallback(ConfigFactory.parseString(base)), baseDir);
    }

    public static Gateway start(String cluster, Path baseDir, Path dataDir, String settings) {
        return Gateway.start(config(cluster, baseDir, dataDir, settings));
    }
}
