package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.isthmus.api.InvalidFieldException;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DnsConfigTest {
    private static final InetSocketAddress LISTEN = Fixtures.loopbackAnyPort();

    @Test
    void defaultsAreTheClustersetZoneAndFiveSeconds() {
        DnsConfig config = DnsConfig.of(LISTEN);
        assertEquals("clusterset.local.", config.zone().toString());
        assertEquals(Duration.ofSeconds(5), config.ttl());
    }

    @Test
    void aZoneWithoutTheFinalDotIsMadeAbsolute() {
        assertEquals("mesh.example.", DnsConfig.of(LISTEN).withZone("mesh.example").zone().toString());
    }

    @Test
    void badValuesAreRefusedNamingTheField() {
        assertEquals("dns ttl", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(LISTEN).withTtl(Duration.ofSeconds(-1))).field());
        assertEquals("dns ttl", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(LISTEN).withTtl(Duration.ofMillis(1500))).field());
        assertEquals("dns zone", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(LISTEN).withZone("a..b")).field());
        assertEquals("dns listen address", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(InetSocketAddress.createUnresolved("dns.example", 53))).field());
        assertEquals("dns tcp idle timeout", assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(LISTEN).withTcpIdleTimeout(Duration.ZERO)).field());
    }
}
