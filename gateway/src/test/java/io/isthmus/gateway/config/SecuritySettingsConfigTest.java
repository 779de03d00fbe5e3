package io.isthmus.gateway.config;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.StaleCrl;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** isthmus.admin.tls and isthmus.peering.revocation: defaults, given values, and bad input named. */
class SecuritySettingsConfigTest {
    private static GatewayConfig load(String hocon) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString("isthmus {\ncluster-id = east\n" + hocon + "\n}"),
                Path.of("/etc/isthmus"));
    }

    @Test
    void defaultsArePlainHttpAdminAndAWarningForAStaleCrl() {
        GatewayConfig config = load("");
        assertFalse(config.adminAuth().tls());
        assertEquals(StaleCrl.WARN, config.peering().staleCrl());
    }

    @Test
    void readsTheGivenValues() {
        GatewayConfig config = load("admin.tls.enabled = true\npeering.revocation.stale-crl = refuse");
        assertTrue(config.adminAuth().tls());
        assertTrue(config.adminAuth().enabled(), "auth stays on beside TLS");
        assertEquals(StaleCrl.REFUSE, config.peering().staleCrl());
    }

    @Test
    void badValuesAreRefusedNamingTheFieldAndTheValue() {
        var stale = assertThrows(InvalidFieldException.class, () -> load("peering.revocation.stale-crl = fail-open"));
        assertEquals("isthmus.peering.revocation.stale-crl", stale.field());
        assertEquals("fail-open", stale.value());
        assertTrue(stale.getMessage().contains("warn or refuse"), stale.getMessage());

        var tls = assertThrows(InvalidFieldException.class, () -> load("admin.tls.enabled = maybe"));
        assertEquals("isthmus.admin.tls.enabled", tls.field());
        assertEquals("maybe", tls.value());
    }
}
