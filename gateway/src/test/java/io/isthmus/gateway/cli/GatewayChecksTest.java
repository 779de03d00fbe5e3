package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checks of {@code isthmus diagnose} beyond clock skew, on statuses written here (DiagnoseCommandTest has skew). */
class GatewayChecksTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant NOW = Instant.parse("2026-12-08T00:00:00Z");

    private static JsonNode json(String text) {
        try {
            return JSON.readTree(text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JsonNode certificates(Duration clusterLeft, Duration caLeft) {
        return json("""
                {"certificates": {"cluster": {"notAfter": "%s"}, "ca": {"notAfter": "%s"}}}
                """.formatted(NOW.plus(clusterLeft), NOW.plus(caLeft)));
    }

    @Test
    void certificatesWarnThirtyDaysAheadAndFailSevenDaysAheadOrOnceExpired() {
        assertEquals(GatewayChecks.Level.OK,
                GatewayChecks.certificates(certificates(Duration.ofDays(31), Duration.ofDays(3650)), NOW).level());
        assertEquals(GatewayChecks.Level.WARN,
                GatewayChecks.certificates(certificates(Duration.ofDays(29), Duration.ofDays(3650)), NOW).level());
        assertEquals(GatewayChecks.Level.FAIL,
                GatewayChecks.certificates(certificates(Duration.ofDays(6), Duration.ofDays(3650)), NOW).level());
        GatewayChecks.Check expiredCa = GatewayChecks.certificates(certificates(Duration.ofDays(90), Duration.ofHours(-5)), NOW);
        assertEquals(GatewayChecks.Level.FAIL, expiredCa.level());
        assertTrue(expiredCa.text().contains("the clusterset CA's certificate: FAIL: expired 5 h ago"), expiredCa.text());
        assertTrue(expiredCa.text().contains("plan a CA rotation"), expiredCa.text());
        assertEquals(GatewayChecks.Level.UNKNOWN, GatewayChecks.certificates(json("{}"), NOW).level());
    }

    @Test
    void overlappingRegisteredCidrsAreAWarningThatSaysToClaimAGlobalSegment() {
        GatewayChecks.Check clean = GatewayChecks.cidrOverlaps(Optional.of(json(
                "{\"segments\": [{}, {}], \"overlaps\": []}")));
        assertEquals("cidr overlaps: ok: none among 2 segments and registered CIDRs\n", clean.text());
        GatewayChecks.Check overlapping = GatewayChecks.cidrOverlaps(Optional.of(json(
                "{\"segments\": [], \"overlaps\": [{\"message\": \"east pod 10.0.0.0/16 overlaps west pod 10.0.128.0/17\"}]}")));
        assertEquals(GatewayChecks.Level.WARN, overlapping.level());
        assertTrue(overlapping.text().contains("  east pod 10.0.0.0/16 overlaps west pod 10.0.128.0/17\n"), overlapping.text());
        assertTrue(overlapping.text().contains("isthmus ipam claim --kind global"), overlapping.text());
        assertEquals(GatewayChecks.Level.UNKNOWN, GatewayChecks.cidrOverlaps(Optional.empty()).level());
    }

    private static JsonNode tunnel(int mtu, String advertised) {
        return json("""
                {"tunnel": {"enabled": true, "mtu": %d, "overheadBytes": 32, "advertised": "%s", "namespace": ""}}
                """.formatted(mtu, advertised));
    }

    @Test
    void theTunnelMtuPlusItsHeadersMustFitTheUnderlayInterface() {
        // 1420 inner + 32 tunnel + 8 UDP + 20 IPv4 = 1480
        assertEquals(GatewayChecks.Level.OK, GatewayChecks.mtu(tunnel(1420, "192.0.2.1:4789"), a -> Optional.of(1480)).level());
        GatewayChecks.Check tooBig = GatewayChecks.mtu(tunnel(1420, "192.0.2.1:4789"), a -> Optional.of(1479));
        assertEquals(GatewayChecks.Level.FAIL, tooBig.level());
        assertTrue(tooBig.text().contains("needs 1480") && tooBig.text().contains("lower isthmus.tunnel.mtu to 1419"),
                tooBig.text());
        // IPv6 outer header: 40 bytes, so 1500 on the underlay carries 1420 inner
        assertEquals(GatewayChecks.Level.OK, GatewayChecks.mtu(tunnel(1420, "[2001:db8::1]:4789"), a -> Optional.of(1500)).level());
        assertEquals(GatewayChecks.Level.FAIL, GatewayChecks.mtu(tunnel(1421, "[2001:db8::1]:4789"), a -> Optional.of(1500)).level());
        GatewayChecks.Check elsewhere = GatewayChecks.mtu(tunnel(1420, "192.0.2.1:4789"), a -> Optional.empty());
        assertEquals(GatewayChecks.Level.UNKNOWN, elsewhere.level());
        assertTrue(elsewhere.text().contains("at least 1480"), elsewhere.text());
        assertEquals(GatewayChecks.Level.UNKNOWN, GatewayChecks.mtu(json("{\"tunnel\": {\"enabled\": false}}"),
                a -> Optional.of(1500)).level());
    }

    private static JsonNode links(long sentBytes, long receivedBytes, long replayDrops) {
        return json("""
                {"peers": [{"cluster": "west", "state": "up", "rttMillis": 0.8},
                           {"cluster": "west", "state": "up", "rttMillis": 0.5},
                           {"cluster": "edge", "state": "connecting"}],
                 "tunnel": {"enabled": true, "peers": [{"cluster": "west", "sentBytes": %d, "receivedBytes": %d,
                            "drops": {"replayed": %d, "authentication_failed": 0}}]}}
                """.formatted(sentBytes, receivedBytes, replayDrops));
    }

    @Test
    void linksShowTheBestRttAndTheTunnelThroughputOverTheSampleAndWarnOnDrops() {
        // 1,000,000 bytes more sent in 2 s = 4.0 Mbit/s; 25,000 bytes received = 100.0 kbit/s
        GatewayChecks.Check check = GatewayChecks.links(links(5_000, 1_000, 0), links(1_005_000, 26_000, 0), 2.0);
        assertTrue(check.text().contains("  west: rtt 0.50 ms, tunnel out 4.0 Mbit/s, in 100.0 kbit/s over 2.0 s, 0 dropped"),
                check.text());
        assertTrue(check.text().contains("  edge: no link up, no tunnel session"), check.text());
        assertEquals(GatewayChecks.Level.WARN, check.level(), "edge has no link up");
        GatewayChecks.Check dropping = GatewayChecks.links(links(0, 0, 3), links(0, 0, 10), 1.0);
        assertTrue(dropping.text().contains("7 dropped from it"), dropping.text());
    }
}
