package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A zone table made change by change from the table before answers as the directory says, over seeded random change
 * sequences that run into every record form: ClusterSetIP and headless, IPv4 and IPv6, hostnames, named ports,
 * services without endpoints, two services sharing a ClusterSetIP (one PTR name), namespaces coming and going,
 * per-cluster names, locality. Two oracles: {@link NaiveZone}, the records built straight from the directory with
 * dnsjava (default settings), compared with the parsed answers; and, for every setting, the table built whole from
 * the same directory, compared byte for byte (what the change-by-change build reuses must not differ from a fresh
 * build).
 */
class ZoneTableChangesTest {
    private static final List<ClusterId> CLUSTERS = List.of(ClusterId.of("east"), ClusterId.of("west"),
            ClusterId.of("edge"));
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.SOA, Type.NS, Type.TXT, Type.ANY,
            Type.MX};
    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    @Test
    void randomChangeSequencesAnswerAsTheDirectorySaysAndAsATableBuiltWhole() {
        Name zone = Name.fromConstantString("clusterset.local.");
        List<ZoneSettings> variants = List.of(
                ZoneSettings.of(zone, Duration.ofSeconds(5)),
                new ZoneSettings(zone, 30, Locality.PREFER_LOCAL, Optional.of(CLUSTERS.getFirst()), true,
                        Optional.of(IpLiteral.parse("ip", "127.0.0.1"))),
                new ZoneSettings(zone, 5, Locality.LOCAL_ONLY, Optional.of(CLUSTERS.get(1)), false, Optional.empty()));
        for (int v = 0; v < variants.size(); v++) {
            ZoneSettings settings = variants.get(v);
            for (long seed = 1; seed <= 4; seed++) {
                Random random = new Random(seed * 31 + v);
                ServiceDirectory directory = ServiceDirectory.EMPTY;
                ZoneTable incremental = ZoneTable.build(directory, settings);
                for (int step = 1; step <= 60; step++) {
                    ServiceDirectory.Changes changes = directory.changes();
                    int batch = 1 + random.nextInt(random.nextInt(8) == 0 ? 30 : 3);
                    for (int i = 0; i < batch; i++) {
                        ClusterId cluster = CLUSTERS.get(random.nextInt(CLUSTERS.size()));
                        ServiceKey key = new ServiceKey("ns" + random.nextInt(4), "svc-" + random.nextInt(12));
                        if (random.nextInt(4) == 0) {
                            changes.remove(cluster, key);
                        } else {
                            changes.put(cluster, export(random, key));
                        }
                    }
                    directory = changes.build(step);
                    incremental = ZoneTable.build(directory, settings, incremental);
                    String where = "settings " + v + " seed " + seed + " step " + step;
                    assertSameAnswers(ZoneTable.build(directory, settings), incremental, where);
                    if (v == 0) {
                        assertAnswersAsTheDirectorySays(directory, settings, incremental, where);
                    }
                }
            }
        }
    }

    @Test
    void aTableBuiltWholeAnswersAsTheDirectorySays() {
        ZoneSettings settings = ZoneSettings.of(Name.fromConstantString("clusterset.local."), Duration.ofSeconds(5));
        for (ServiceDirectory directory : List.of(Fixtures.directory(), Fixtures.manyServices(300))) {
            assertAnswersAsTheDirectorySays(directory, settings, ZoneTable.build(directory, settings),
                    "version " + directory.version());
        }
    }

    @Test
    void aTableFromAnUnrelatedDirectoryIsRebuiltRight() {
        ZoneSettings settings = ZoneSettings.of(Name.fromConstantString("clusterset.local."), Duration.ofSeconds(5));
        ZoneTable previous = ZoneTable.build(Fixtures.manyServices(200), settings);
        ServiceDirectory other = Fixtures.directory();
        ZoneTable rebuilt = ZoneTable.build(other, settings, previous);
        assertSameAnswers(ZoneTable.build(other, settings), rebuilt, "unrelated");
        assertAnswersAsTheDirectorySays(other, settings, rebuilt, "unrelated");
    }

    /** Every service name's A, AAAA, SRV and PTR answer holds the records {@link NaiveZone} expects, and no other. */
    private static void assertAnswersAsTheDirectorySays(ServiceDirectory directory, ZoneSettings settings,
                                                        ZoneTable table, String where) {
        NaiveZone oracle = new NaiveZone(directory, settings.zone(), settings.ttlSeconds());
        List<Name> names = new ArrayList<>(oracle.names());
        Name absent = Name.fromConstantString("nothing.ns0.svc.clusterset.local.");
        names.add(absent);
        for (Name name : names) {
            // The zone's names for every type; of a reverse name (outside the zone) we own only its PTR.
            int[] types = name.subdomain(settings.zone()) ? new int[] {Type.A, Type.AAAA, Type.SRV, Type.PTR}
                    : new int[] {Type.PTR};
            for (int type : types) {
                byte[] wire = respond(table, name.toWireCanonical(), type);
                String what = where + ": " + name + " " + Type.string(type);
                assertTrue(wire.length > 0, what + ": the table says the name is not in its zone");
                Message answer;
                try {
                    answer = new Message(wire);
                } catch (java.io.IOException e) {
                    throw new AssertionError(what + ": the answer does not parse", e);
                }
                if (name.equals(absent)) {
                    assertEquals(Rcode.NXDOMAIN, answer.getRcode(), what);
                    continue;
                }
                assertEquals(Rcode.NOERROR, answer.getRcode(), what);
                Set<Record> got = new HashSet<>();
                for (Record record : answer.getSection(Section.ANSWER)) {
                    assertEquals(settings.ttlSeconds(), record.getTTL(), what + ": the TTL of " + record);
                    got.add(NaiveZone.withoutWeight(record));
                }
                assertEquals(oracle.expected(name, type), got, what);
            }
        }
    }

    private static void assertSameAnswers(ZoneTable expected, ZoneTable actual, String where) {
        assertEquals(expected.names(), actual.names(), where + ": the number of names");
        List<byte[]> names = new ArrayList<>();
        expected.forEachLeaf(leaf -> {
            byte[] node = NameTrie.nodeOf(leaf);
            names.add(Arrays.copyOfRange(node, 1, 1 + (node[0] & 0xFF)));
        });
        names.add(Name.fromConstantString("nothing.ns0.svc.clusterset.local.").toWireCanonical());
        names.add(Name.fromConstantString("9.9.9.9.in-addr.arpa.").toWireCanonical());
        for (byte[] name : names) {
            for (int type : TYPES) {
                byte[] want = respond(expected, name, type);
                byte[] got = respond(actual, name, type);
                assertArrayEquals(want, got, () -> where + ": " + text(name) + " " + Type.string(type));
            }
        }
    }

    private static byte[] respond(ZoneTable table, byte[] lower, int type) {
        ZoneTable.Hit hit = table.lookup(lower, lower.length, type);
        if (hit == ZoneTable.Miss.NOT_OURS) {
            return new byte[0];
        }
        byte[] question = question(lower, type);
        return table.respond(hit, 1, 0x0100, question, 0, question.length, lower.length, 0, 4096);
    }

    private static byte[] question(byte[] lower, int type) {
        try {
            return Record.newRecord(new Name(lower), type, DClass.IN).toWire(Section.QUESTION);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String text(byte[] lower) {
        try {
            return new Name(lower).toString();
        } catch (java.io.IOException e) {
            return "?";
        }
    }

    /** Addresses from small pools, so that services often share a ClusterSetIP, an endpoint or a hostname. */
    private static ServiceExport export(Random random, ServiceKey key) {
        List<ServicePort> ports = new ArrayList<>();
        String[] named = {"http:80/TCP", "dns:53/UDP", "grpc:9090/TCP", "http:8080/TCP"};
        if (random.nextInt(4) == 0) {
            ports.add(ServicePort.parse("80"));
        } else {
            for (String text : named) {
                ServicePort port = ServicePort.parse(text);
                boolean clash = ports.stream().anyMatch(p -> p.name().equals(port.name()));
                if (!clash && random.nextBoolean()) {
                    ports.add(port);
                }
            }
            if (ports.isEmpty()) {
                ports.add(ServicePort.parse("http:80/TCP"));
            }
        }
        Instant at = T0.plusSeconds(random.nextInt(4));
        if (random.nextBoolean()) {
            String ip = random.nextInt(5) == 0 ? "fd00::" + random.nextInt(4) : "10.0.0." + random.nextInt(6);
            return ServiceExport.of(key, ServiceType.CLUSTER_SET_IP, ports, List.of(IpLiteral.parse("ip", ip)), at);
        }
        List<Endpoint> endpoints = new ArrayList<>();
        int count = random.nextInt(4);
        for (int i = 0; i < count; i++) {
            String ip = random.nextInt(4) == 0 ? "fd00:1::" + random.nextInt(6) : "10.1.0." + random.nextInt(6);
            Endpoint endpoint = new Endpoint(IpLiteral.parse("ip", ip), random.nextBoolean() ? "pod-" + i : "");
            if (endpoints.stream().noneMatch(e -> e.ip().equals(endpoint.ip()))) {
                endpoints.add(endpoint);
            }
        }
        return new ServiceExport(key, ServiceType.HEADLESS, ports, endpoints, at);
    }
}
