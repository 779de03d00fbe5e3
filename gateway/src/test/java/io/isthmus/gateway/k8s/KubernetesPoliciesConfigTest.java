package io.isthmus.gateway.k8s;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code isthmus.kubernetes.policies} as the gateway's config loader reads it. */
class KubernetesPoliciesConfigTest {
    private static GatewayConfig.Kubernetes load(String hocon) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("isthmus.cluster-id = east\n" + hocon),
                Path.of("/etc/isthmus")).kubernetes();
    }

    @Test
    void onByDefaultButItOpensNoClientByItself() {
        GatewayConfig.Kubernetes settings = load("");
        assertTrue(settings.policies());
        assertFalse(settings.anyEnabled(), "a gateway outside Kubernetes must not look for an API server");
        assertTrue(load("isthmus.kubernetes.peers = on").policies());
    }

    @Test
    void readsOffAndRefusesAnythingButOnOrOffNamingTheField() {
        assertFalse(load("isthmus.kubernetes { peers = on, policies = off }").policies());
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> load("isthmus.kubernetes.policies = sometimes"));
        assertEquals("isthmus.kubernetes.policies", e.field());
        assertEquals("sometimes", e.value());
    }
}
