package io.isthmus.gateway.k8s.ipam;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code isthmus.kubernetes.ipam} and {@code isthmus.replicas.discovery} as the gateway's config loader reads them. */
class KubernetesIpamConfigTest {
    private static GatewayConfig load(String hocon) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("isthmus.cluster-id = east\n" + hocon), Path.of("/etc/isthmus"));
    }

    private static void rejects(String hocon, String field, String value) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> load(hocon));
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
    }

    @Test
    void kubernetesPlaysNoPartInIpamByDefault() {
        GatewayConfig config = load("");
        KubernetesIpamSettings settings = config.kubernetes().ipam();
        assertFalse(settings.enabled());
        assertEquals(KubernetesIpamSettings.OwnerSource.OWNERS_FILE, settings.ownerSource());
        assertEquals(Duration.ofSeconds(10), settings.statusInterval());
        assertEquals(Optional.empty(), config.replicas().kubernetesApi());
    }

    @Test
    void readsPoolsAndPodsAsOwnerSource() {
        KubernetesIpamSettings settings = load("""
                isthmus.kubernetes.ipam { pools = on, owner-source = pods, status-interval = 2s, informer-resync = 1m }
                """).kubernetes().ipam();
        assertTrue(settings.pools());
        assertEquals(KubernetesIpamSettings.OwnerSource.PODS, settings.ownerSource());
        assertEquals(Duration.ofSeconds(2), settings.statusInterval());
        assertEquals(Duration.ofMinutes(1), settings.resync());
    }

    @Test
    void refusesBadKubernetesIpamSettingsNamingThem() {
        rejects("isthmus.kubernetes.ipam.owner-source = informer", "isthmus.kubernetes.ipam.owner-source", "informer");
        rejects("isthmus.kubernetes.ipam.status-interval = 0s", "isthmus.kubernetes.ipam.status-interval", "0s");
        rejects("isthmus.kubernetes.ipam.pools = maybe", "isthmus.kubernetes.ipam.pools", "maybe");
        rejects("isthmus.kubernetes.ipam.colour = blue", "isthmus.kubernetes.ipam.colour", "blue");
        rejects("isthmus.kubernetes.ipam.owner-source = pods\nisthmus.ipam.owners-file = owners",
                "isthmus.ipam.owners-file", "owners");
    }

    @Test
    void kubernetesApiDiscoveryReplacesSeedNodesAndSetsUpClusterBootstrap() {
        GatewayConfig config = load("""
                isthmus.replicas { host = "10.1.0.5", discovery = kubernetes-api,
                  kubernetes-api { pod-label-selector = "app=gw", required-contact-points = 3, management-port = 7700 } }
                """);
        assertEquals(Optional.of(new GatewayConfig.KubernetesApiDiscovery("app=gw", 3, 7700)), config.replicas().kubernetesApi());
        Config pekko = io.isthmus.gateway.PekkoSettingsAccess.forGateway(config);
        assertEquals("kubernetes-api", pekko.getString("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method"));
        assertEquals(3, pekko.getInt("pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        assertEquals("management", pekko.getString("pekko.management.cluster.bootstrap.contact-point-discovery.port-name"));
        assertEquals("app=gw", pekko.getString("pekko.discovery.kubernetes-api.pod-label-selector"));
        assertEquals("10.1.0.5", pekko.getString("pekko.management.http.hostname"));
        assertEquals(7700, pekko.getInt("pekko.management.http.port"));
    }

    @Test
    void refusesBadDiscoverySettingsNamingThem() {
        rejects("isthmus.replicas.discovery = dns", "isthmus.replicas.discovery", "dns");
        rejects("isthmus.replicas { discovery = kubernetes-api, seed-nodes = [\"pekko://isthmus@10.0.0.1:7073\"] }",
                "isthmus.replicas.seed-nodes", "[pekko://isthmus@10.0.0.1:7073]");
        rejects("isthmus.replicas { discovery = kubernetes-api, kubernetes-api.pod-label-selector = \"\" }",
                "isthmus.replicas.kubernetes-api.pod-label-selector", "");
        rejects("isthmus.replicas { discovery = kubernetes-api, kubernetes-api.management-port = 70000 }",
                "isthmus.replicas.kubernetes-api.management-port", "70000");
    }
}
