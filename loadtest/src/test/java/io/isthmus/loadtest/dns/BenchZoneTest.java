package io.isthmus.loadtest.dns;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchZoneTest {
    private final BenchZone zone = new BenchZone("clusterset.local.", "bench");

    @Test
    void addressesCountUpFrom10_96_0_0() {
        assertEquals("10.96.0.1", BenchZone.ip(1));
        assertEquals("10.96.1.0", BenchZone.ip(256));
        assertEquals("10.96.39.16", BenchZone.ip(10_000));
        assertEquals("10.111.255.255", BenchZone.ip(BenchZone.MAX_SERVICES));
        assertThrows(IllegalArgumentException.class, () -> BenchZone.ip(0));
    }

    @Test
    void exportBodyIsWhatTheAdminApiTakes() {
        assertEquals("{\"namespace\":\"bench\",\"name\":\"svc-7\",\"type\":\"ClusterSetIP\",\"ports\":[\"80/TCP\"],"
                + "\"ips\":[\"10.96.0.7\"]}", zone.exportJson(7));
        assertEquals("svc-7.bench.svc.clusterset.local", zone.fqdn(7));
    }

    @Test
    void zoneFileHasTheApexAndOneARecordPerService(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("zone");
        zone.writeZoneFile(file, 3, 5);
        List<String> lines = Files.readAllLines(file);
        assertEquals("$ORIGIN clusterset.local.", lines.get(0));
        assertTrue(lines.get(2).startsWith("@ IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. "));
        assertEquals("svc-3.bench.svc IN A 10.96.0.3", lines.getLast());
        assertEquals(8, lines.size());
    }

    @Test
    void queriesAreEveryServicePlusMissingNamesShuffledTheSameWayForTheSameSeed() {
        List<String> queries = zone.queries(1000, 5, 42);
        assertEquals(1050, queries.size());
        assertEquals(1050, new HashSet<>(queries).size());
        assertEquals(50, queries.stream().filter(q -> q.startsWith("nx-")).count());
        assertEquals(queries, zone.queries(1000, 5, 42));
        assertNotEquals(queries, zone.queries(1000, 5, 43));
        assertTrue(queries.contains("svc-1000.bench.svc.clusterset.local A"));
    }
}
