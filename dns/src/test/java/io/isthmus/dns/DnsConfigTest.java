package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DnsConfigTest {
    private static final InetSocketAddress LISTEN = Fixtures.loopbackAnyPort();
    private static final InetSocketAddress UPSTREAM = new InetSocketAddress("10.96.0.10", 53);

    @Test
    void defaultsAreTheClustersetZoneFiveSecondsNoLocalityNoClusterNamesNoForwarding() {
        DnsConfig config = DnsConfig.of(LISTEN);
        assertEquals("clusterset.local.", config.zone().toString());
        assertEquals(Duration.ofSeconds(5), config.ttl());
        assertEquals(Locality.OFF, config.locality());
        assertEquals(Optional.empty(), config.localCluster());
        assertFalse(config.clusterNames());
        assertFalse(config.forwarding().enabled());
    }

    @Test
    void aZoneWithoutTheFinalDotIsMadeAbsolute() {
        assertEquals("mesh.example.", DnsConfig.of(LISTEN).withZone("mesh.example").zone().toString());
    }

    @Test
    void localityNeedsTheLocalClusterFirst() {
        DnsConfig config = DnsConfig.of(LISTEN).withLocalCluster(ClusterId.of("east")).withLocality(Locality.LOCAL_ONLY);
        assertEquals(Locality.LOCAL_ONLY, config.locality());
        assertEquals(Optional.of(ClusterId.of("east")), config.localCluster());
        InvalidFieldException missing = assertThrows(InvalidFieldException.class,
                () -> DnsConfig.of(LISTEN).withLocality(Locality.PREFER_LOCAL));
        assertEquals("dns local cluster", missing.field());
        assertTrue(missing.getMessage().contains("prefer-local"), missing.getMessage());
    }

    @Test
    void localityIsParsedAsWritten() {
        assertEquals(Locality.PREFER_LOCAL, Locality.parse("prefer-local"));
        assertEquals(Locality.LOCAL_ONLY, Locality.parse(" LOCAL_ONLY "));
        assertEquals(Locality.OFF, Locality.parse("off"));
        assertEquals("prefer-local", Locality.PREFER_LOCAL.label());
    }

    @Test
    void forwardingHasSafeDefaults() {
        Forwarding forwarding = Forwarding.to(List.of(UPSTREAM));
        assertTrue(forwarding.enabled());
        assertEquals(Duration.ofSeconds(1), forwarding.timeout());
        assertEquals(3, forwarding.attempts());
        assertEquals(10_000, forwarding.cacheEntries());
        assertEquals(ClientNetwork.PRIVATE, forwarding.allowedClients());
    }

    @Test
    void upstreamsAreParsedAsWritten() {
        assertEquals(List.of(new InetSocketAddress("10.96.0.10", 53), new InetSocketAddress("10.96.0.11", 5353),
                        new InetSocketAddress("fd00::10", 53), new InetSocketAddress("fd00::11", 5353)),
                Forwarding.parseUpstreams(List.of("10.96.0.10", "10.96.0.11:5353", "fd00::10", "[fd00::11]:5353")));
    }

    @Test
    void clientNetworksContainWhatTheySay() {
        ClientNetwork private12 = ClientNetwork.parse("172.16.0.0/12");
        assertTrue(private12.contains(Fixtures.ip("172.31.255.255")));
        assertFalse(private12.contains(Fixtures.ip("172.32.0.0")));
        assertTrue(ClientNetwork.parse("fc00::/7").contains(Fixtures.ip("fd12:3456::1")));
        assertFalse(ClientNetwork.parse("fc00::/7").contains(Fixtures.ip("10.0.0.1")), "families never mix");
        assertTrue(ClientNetwork.parse("0.0.0.0/0").contains(Fixtures.ip("8.8.8.8")));
        assertTrue(ClientNetwork.parse("192.0.2.7").contains(Fixtures.ip("192.0.2.7")), "a bare address is one host");
        assertEquals("fc00::/7", ClientNetwork.parse("fc00:0::/7").toString());
    }

    static Stream<Arguments> badValues() {
        DnsConfig base = DnsConfig.of(LISTEN);
        Forwarding forwarding = Forwarding.to(List.of(UPSTREAM));
        return Stream.of(
                bad("dns ttl", "PT-1S", () -> base.withTtl(Duration.ofSeconds(-1))),
                bad("dns ttl", "PT1.5S", () -> base.withTtl(Duration.ofMillis(1500))),
                bad("dns zone", "a..b", () -> base.withZone("a..b")),
                bad("dns zone", "x".repeat(60), () -> base.withZone(String.join(".", "x".repeat(60), "x".repeat(60),
                        "x".repeat(60), "x".repeat(60)))),
                bad("dns listen address", "dns.example", () -> DnsConfig.of(InetSocketAddress.createUnresolved("dns.example", 53))),
                bad("dns tcp idle timeout", "PT0S", () -> base.withTcpIdleTimeout(Duration.ZERO)),
                bad("dns locality", "nearby", () -> Locality.parse("nearby")),
                bad("dns locality", "", () -> base.withLocality(null)),
                bad("dns local cluster", "", () -> base.withLocality(Locality.LOCAL_ONLY)),
                bad("dns forward upstreams", "10.96.0.10:0", () -> Forwarding.to(List.of(new InetSocketAddress("10.96.0.10", 0)))),
                bad("dns forward upstreams", "dns.example", () -> Forwarding.parseUpstreams(List.of("dns.example"))),
                bad("dns forward upstreams", "10.0.0.1:99999", () -> Forwarding.parseUpstreams(List.of("10.0.0.1:99999"))),
                bad("dns forward upstreams", "[fd00::1", () -> Forwarding.parseUpstreams(List.of("[fd00::1"))),
                bad("dns forward upstreams", "127.0.0.1:5353", () -> DnsConfig.of(new InetSocketAddress("127.0.0.1", 5353))
                        .withForwarding(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 5353))))),
                bad("dns forward upstreams", "127.0.0.1:53", () -> DnsConfig.of(new InetSocketAddress("0.0.0.0", 53))
                        .withForwarding(Forwarding.to(List.of(new InetSocketAddress("127.0.0.1", 53))))),
                bad("dns forward timeout", "PT0S", () -> forwarding.withTimeout(Duration.ZERO)),
                bad("dns forward timeout", "PT1M", () -> forwarding.withTimeout(Duration.ofMinutes(1))),
                bad("dns forward attempts", "0", () -> forwarding.withAttempts(0)),
                bad("dns forward attempts", "11", () -> forwarding.withAttempts(11)),
                bad("dns forward cache entries", "-1", () -> forwarding.withCacheEntries(-1)),
                bad("dns forward allowed clients", "[]", () -> forwarding.withAllowedClients(List.of())),
                bad("dns forward allowed clients", "10.1.0.0/8", () -> ClientNetwork.parse("10.1.0.0/8")),
                bad("dns forward allowed clients", "10.0.0.0/33", () -> ClientNetwork.parse("10.0.0.0/33")),
                bad("dns forward allowed clients", "10.0.0.0/x", () -> ClientNetwork.parse("10.0.0.0/x")),
                bad("dns forward allowed clients", "cluster.local", () -> ClientNetwork.parse("cluster.local")),
                bad("dns forwarding", "", () -> base.withForwarding(null)));
    }

    private static Arguments bad(String field, String value, Executable build) {
        return Arguments.of(field, value, build);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badValues")
    void aBadValueIsRefusedNamingTheFieldAndTheValue(String field, String value, Executable build) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, build);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.value().contains(value), "the value " + value + " in: " + e.getMessage());
    }

    @Test
    void aHostBitTypoSuggestsTheNetwork() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ClientNetwork.parse("10.1.0.0/8"));
        assertTrue(e.getMessage().contains("did you mean 10.0.0.0/8?"), e.getMessage());
    }
}
