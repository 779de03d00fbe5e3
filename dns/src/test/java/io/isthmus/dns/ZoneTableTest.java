package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceType;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The precomputed zone on its own: rebuilding from a previous table, shared PTR names, limits of DNS. */
class ZoneTableTest {
    private static final ZoneSettings SETTINGS = ZoneSettings.of(DnsConfig.DEFAULT_ZONE, Duration.ofSeconds(5));

    @Test
    void aTableRebuiltFromThePreviousOneAnswersAsOneBuiltAfresh() {
        ServiceDirectory before = Fixtures.directory();
        ZoneTable previous = ZoneTable.build(before, SETTINGS);
        List<ServiceExport> east = new ArrayList<>(List.of(
                Fixtures.export("shop", "web", ServiceType.CLUSTER_SET_IP, Fixtures.HTTP, "10.0.0.11"), // changed
                Fixtures.export("shop", "db", ServiceType.HEADLESS, Fixtures.PG, "db-0=10.1.0.1", "fd00::1"), // same
                Fixtures.export("shop", "new", ServiceType.CLUSTER_SET_IP, "10.7.0.1"))); // added; the rest removed
        ServiceDirectory after = ServiceDirectory.merge(8, Map.of(Fixtures.EAST, east));

        ZoneTable rebuilt = ZoneTable.build(after, SETTINGS, previous);
        ZoneTable afresh = ZoneTable.build(after, SETTINGS);

        assertEquals(afresh.names(), rebuilt.names());
        for (String name : List.of("web.shop.svc.clusterset.local.", "db.shop.svc.clusterset.local.",
                "new.shop.svc.clusterset.local.", "v6.shop.svc.clusterset.local.", "db-0.east.db.shop.svc.clusterset.local.",
                "_http._tcp.web.shop.svc.clusterset.local.", "10.0.0.10.in-addr.arpa.", "11.0.0.10.in-addr.arpa.",
                "other.svc.clusterset.local.", "shop.svc.clusterset.local.", "clusterset.local.")) {
            for (int type : new int[] {Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.SOA, Type.ANY}) {
                assertArrayEquals(respond(afresh, name, type), respond(rebuilt, name, type), name + " " + Type.string(type));
            }
        }
        assertEquals(Rcode.NXDOMAIN, message(respond(rebuilt, "v6.shop.svc.clusterset.local.", Type.AAAA)).getRcode(),
                "a removed service is gone");
        assertTrue(message(respond(rebuilt, "clusterset.local.", Type.SOA)).getSection(Section.ANSWER).getFirst()
                .rdataToString().contains(" 8 "), "the SOA serial is the new version");
    }

    @Test
    void twoServicesWithOneClusterSetIpShareItsPtrName() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                Fixtures.EAST, List.of(Fixtures.export("shop", "a", ServiceType.CLUSTER_SET_IP, "10.9.9.9")),
                ClusterId.of("west"), List.of(Fixtures.export("shop", "b", ServiceType.CLUSTER_SET_IP, "10.9.9.9"))));
        for (ZoneTable table : List.of(ZoneTable.build(directory, SETTINGS),
                ZoneTable.build(directory, SETTINGS, ZoneTable.build(directory, SETTINGS)))) {
            Message reply = message(respond(table, "9.9.9.10.in-addr.arpa.", Type.PTR));
            assertEquals(List.of("a.shop.svc.clusterset.local.", "b.shop.svc.clusterset.local."),
                    reply.getSection(Section.ANSWER).stream().map(Record::rdataToString).sorted().toList());
        }
    }

    @Test
    void anRRsetTooBigForOneMessageIsCutToWhatFits() {
        String[] ips = IntStream.range(0, 5_000).mapToObj(i -> "10.8." + (i / 250) + "." + (i % 250)).toArray(String[]::new);
        ServiceDirectory directory = Fixtures.directoryWith(1, List.of(
                Fixtures.export("shop", "huge", ServiceType.HEADLESS, ips)));
        ZoneTable table = ZoneTable.build(directory, SETTINGS);

        byte[] wire = respond(table, "huge.shop.svc.clusterset.local.", Type.A);

        assertTrue(wire.length <= 65_535 - ZoneTable.OPT_LENGTH, "fits a TCP message with our OPT: " + wire.length);
        int answers = message(wire).getSection(Section.ANSWER).size();
        assertTrue(answers > 3_000 && answers < 5_000, "as many as fit: " + answers);
    }

    @Test
    void namesTooLongForDnsAreLeftOutAndTheRestServed() {
        String label = "x".repeat(63);
        ZoneSettings longZone = ZoneSettings.of(Name.fromConstantString(label + "." + label + "." + label + "."),
                Duration.ofSeconds(5));
        ServiceDirectory directory = Fixtures.directoryWith(1, List.of(
                Fixtures.export("shop", "web", ServiceType.CLUSTER_SET_IP, "10.0.0.10"),
                Fixtures.export("shop", "a-name-that-is-just-too-long-for-what-is-left-of-the-255-bytes",
                        ServiceType.CLUSTER_SET_IP, "10.0.0.11")));
        ZoneTable table = ZoneTable.build(directory, longZone);

        Message web = message(respond(table, "web.shop.svc." + longZone.zone(), Type.A));
        assertEquals(Rcode.NOERROR, web.getRcode());
        assertEquals(1, web.getSection(Section.ANSWER).size());
        Message ptr = message(respond(table, "11.0.0.10.in-addr.arpa.", Type.PTR));
        assertEquals(0, ptr.getSection(Section.ANSWER).size(), "no PTR to a name that cannot exist");
    }

    /** The whole response for a question, as the wire path would give it over TCP without EDNS. */
    private static byte[] respond(ZoneTable table, String name, int type) {
        Name qname = Name.fromConstantString(name);
        byte[] lower = qname.toWireCanonical();
        ZoneTable.Hit hit = table.lookup(lower, lower.length, type);
        if (hit == ZoneTable.Miss.NOT_OURS) {
            return new byte[0];
        }
        byte[] question = Record.newRecord(qname, type, DClass.IN).toWire(Section.QUESTION);
        return table.respond(hit, 1, 0x0100, question, 0, question.length, lower.length, -1, 65_535);
    }

    private static Message message(byte[] wire) {
        try {
            return wire.length == 0 ? new Message() : new Message(wire);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
