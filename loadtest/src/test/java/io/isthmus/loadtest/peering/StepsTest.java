package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StepsTest {
    @Test
    void changedAddressesLeaveTheServicesRange() {
        assertEquals("10.112.0.1", Steps.changedIp(1));
        assertEquals("10.112.1.0", Steps.changedIp(256));
    }

    @Test
    void percentilesAreNearestRank() {
        Percentiles p = Percentiles.of(List.of(5_000_000L, 1_000_000L, 3_000_000L, 2_000_000L, 4_000_000L));
        assertEquals(3.0, p.millis(0.5));
        assertEquals(5.0, p.millis(0.99));
        assertEquals(1.0, p.millis(0.0));
        assertEquals(5.0, p.maxMillis());
        assertTrue(Double.isNaN(Percentiles.of(List.of()).millis(0.5)));
        assertEquals("-", Percentiles.ms(Double.NaN));
        assertEquals("12.3", Percentiles.ms(12.34));
        assertEquals("123", Percentiles.ms(123.4));
    }

    @Test
    void verdictsNeverFailOnASlowFigure() {
        assertEquals("meets it", Steps.verdict(99, 100));
        assertEquals("misses it (2.5x the target)", Steps.verdict(250, 100));
        assertEquals("no figure", Steps.verdict(Double.NaN, 100));
    }

    @Test
    void optionsParsePairsListsAndAddresses() {
        Options o = Options.parse(new String[] {"cmd", "--receivers", "west=5353,edge=127.0.0.1:5354", "--clusters",
                "10,25,50", "--admin", "http://127.0.0.1:7070"}, 1);
        assertEquals(Map.of("west", "5353", "edge", "127.0.0.1:5354"), o.pairs("receivers"));
        assertEquals(List.of(10, 25, 50), o.integers("clusters", ""));
        assertEquals(5354, Options.address(o.pairs("receivers").get("edge"), "x").getPort());
        assertEquals("http://127.0.0.1:7070/api/v1/status", o.uri("admin").resolve("api/v1/status").toString());
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"cmd", "--a"}, 1));
        assertThrows(IllegalArgumentException.class, () -> Options.parse(new String[] {"cmd", "--a", "1", "--a", "2"}, 1));
        assertThrows(IllegalArgumentException.class, () -> Options.address("nope", "--dns"));
        assertThrows(IllegalArgumentException.class, () -> Options.admin("ftp://x", "--admin"));
    }

    @Test
    void statusHelpersReadWhatTheGatewayReports() throws Exception {
        var status = new ObjectMapper().readTree("""
                {"peers":[{"cluster":"east","state":"up"},{"cluster":"edge","state":"connecting"}],
                 "imports":{"count":3,"clusters":[{"cluster":"east","version":7,"exports":3,"served":true}]}}
                """);
        assertTrue(AdminApi.linkUp(status, "east"));
        assertFalse(AdminApi.linkUp(status, "edge"));
        assertEquals(3, AdminApi.importsFrom(status, "east").orElseThrow().path("exports").asInt());
        assertTrue(AdminApi.importsFrom(status, "west").isEmpty());
        String metrics = """
                # TYPE isthmus_peering_messages_received_total counter
                isthmus_peering_messages_received_total{kind="export_snapshot"} 4
                isthmus_peering_messages_received_total{kind="heartbeat"} 90
                isthmus_jvm_heap_used_bytes 1048576
                """;
        assertEquals(4, AdminApi.metric(metrics, "isthmus_peering_messages_received_total{kind=\"export_snapshot\"}"));
        assertEquals(94, AdminApi.metric(metrics, "isthmus_peering_messages_received_total"));
        assertEquals(1048576, AdminApi.metric(metrics, "isthmus_jvm_heap_used_bytes"));
    }

    @Test
    void liveHeapIsTheHistogramsTotal() throws Exception {
        String histogram = """
                 num     #instances         #bytes  class name (module)
                -------------------------------------------------------
                   1:         68368       10028040  [B (java.base@25.0.3)
                   2:             1             16  sun.util.resources.LocaleData (java.base@25.0.3)
                Total        356532       24269840
                """;
        assertEquals(24269840, GatewayProcess.histogramTotalBytes(histogram));
        assertThrows(java.io.IOException.class, () -> GatewayProcess.histogramTotalBytes("no such pid"));
    }

    @Test
    void theProbeAsksLessOftenForSlowAnswers() {
        try (DnsProbe probe = new DnsProbe(java.time.Duration.ofMillis(2))) {
            assertEquals(2_000_000, probe.intervalAt(50_000_000));
            assertEquals(10_000_000, probe.intervalAt(150_000_000));
            assertEquals(50_000_000, probe.intervalAt(2_000_000_000L));
        }
    }
}
