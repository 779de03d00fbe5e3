package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The wire path (precomputed bytes, no dnsjava message) answers exactly as the chain path does: every zone case in
 * every query form, compared record by record, over both transports. Queries the wire path must not take (an
 * unknown EDNS option, a name outside the zone) are shown to fall through to the chain.
 */
class WirePathTest {
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);
    private static final ClustersetZoneHandler ZONE = new ClustersetZoneHandler(
            DnsConfig.of(new InetSocketAddress("127.0.0.1", 53)), Fixtures::directory);
    private static final DnsChain CHAIN = new DnsChain(List.of(ZONE, new RefusedHandler()));

    /** A form a query can take on the wire. */
    enum Form {
        PLAIN, EDNS_4096, EDNS_512_DNSSEC_OK, EDNS_WITH_COOKIE, EDNS_WITH_PADDING, NO_RECURSION_CHECKING_DISABLED;

        byte[] apply(String qname, String qtype) {
            Message query = RawDns.query(0x1234, qname, Type.value(qtype));
            switch (this) {
                case PLAIN -> { }
                case EDNS_4096 -> query.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
                case EDNS_512_DNSSEC_OK -> query.addRecord(new OPTRecord(512, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
                case EDNS_WITH_COOKIE -> query.addRecord(new OPTRecord(1232, 0, 0, 0,
                        List.of(new CookieOption(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}))), Section.ADDITIONAL);
                case EDNS_WITH_PADDING -> query.addRecord(new OPTRecord(1232, 0, 0, 0,
                        List.of(new GenericEDNSOption(EDNSOption.Code.PADDING, new byte[16]))), Section.ADDITIONAL);
                case NO_RECURSION_CHECKING_DISABLED -> {
                    query.getHeader().unsetFlag(Flags.RD);
                    query.getHeader().setFlag(Flags.CD);
                    query.addRecord(new OPTRecord(1232, 0, 0), Section.ADDITIONAL);
                }
            }
            return query.toWire();
        }
    }

    static Stream<ZoneAnswersTest.Case> everyZoneCase() {
        return ZoneAnswersTest.cases().stream().filter(c -> c.variant() == ZoneAnswersTest.Variant.DEFAULTS);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("everyZoneCase")
    void theWirePathAnswersAsTheChainDoesInEveryFormOverBothTransports(ZoneAnswersTest.Case c) {
        QueryProcessor onWire = new QueryProcessor(CHAIN, new DnsCounters(), true);
        QueryProcessor onChain = new QueryProcessor(CHAIN, new DnsCounters(), false);
        for (Form form : Form.values()) {
            byte[] query = form.apply(c.ask().qname(), c.ask().qtype());
            for (Transport transport : Transport.values()) {
                byte[] wireAnswer = onWire.process(query, transport, CLIENT).orElseThrow();
                byte[] chainAnswer = onChain.process(query, transport, CLIENT).orElseThrow();
                assertEquals(describe(chainAnswer), describe(wireAnswer), form + " over " + transport);
            }
            boolean ours = ZONE.answer(query, WireQuery.parse(query), 65_535) != null;
            assertEquals(!c.rcode().equals("REFUSED"), ours, "the wire path takes every name the zone answers, no other");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("queriesForTheChain")
    void unusualQueriesAreLeftToTheChain(String what, byte[] query) {
        WireQuery parsed = WireQuery.parse(query);
        assertTrue(parsed == null || ZONE.answer(query, parsed, 65_535) == null, what);
    }

    static Stream<Arguments> queriesForTheChain() {
        Message nsid = RawDns.query(1, "web.shop.svc.clusterset.local.", Type.A);
        nsid.addRecord(new OPTRecord(1232, 0, 0, 0, List.of(new GenericEDNSOption(EDNSOption.Code.NSID, new byte[0]))),
                Section.ADDITIONAL);
        Message version1 = RawDns.query(2, "web.shop.svc.clusterset.local.", Type.A);
        version1.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
        byte[] trailing = RawDns.queryBytes(3, "web.shop.svc.clusterset.local.");
        byte[] withGarbage = Arrays.copyOf(trailing, trailing.length + 3);
        return Stream.of(
                Arguments.of("an EDNS option we do not know", nsid.toWire()),
                Arguments.of("an EDNS version we do not speak", version1.toWire()),
                Arguments.of("bytes after the question", withGarbage),
                Arguments.of("a zone transfer", RawDns.query(4, Fixtures.ZONE, Type.AXFR).toWire()),
                Arguments.of("a name outside the zone", RawDns.queryBytes(5, "example.com.")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("queriesForTheChain")
    void unusualQueriesStillGetTheChainsAnswer(String what, byte[] query) {
        QueryProcessor onWire = new QueryProcessor(CHAIN, new DnsCounters(), true);
        QueryProcessor onChain = new QueryProcessor(CHAIN, new DnsCounters(), false);
        assertEquals(onChain.process(query, Transport.UDP, CLIENT).map(WirePathTest::describe),
                onWire.process(query, Transport.UDP, CLIENT).map(WirePathTest::describe), what);
    }

    @Test
    void aQueryOfTheCommonShapeIsParsedFromTheBytes() {
        byte[] query = Form.EDNS_512_DNSSEC_OK.apply("WEB.shop.svc.clusterset.local.", "AAAA");
        WireQuery parsed = WireQuery.parse(query);
        assertNotNull(parsed);
        assertEquals(0x1234, parsed.id());
        assertEquals(Type.AAAA, parsed.qtype());
        assertEquals(512, parsed.udpPayload());
        assertEquals(ExtendedFlags.DO, parsed.optFlags() & ExtendedFlags.DO);
        assertArrayEquals(Name.fromConstantString("web.shop.svc.clusterset.local.").toWireCanonical(), parsed.lowerName());
        assertNull(WireQuery.parse(new byte[] {1, 2, 3}));
    }

    /** Everything a client sees, in dnsjava's words, without the size (compression may differ between paths). */
    private static String describe(byte[] wire) {
        try {
            return new Message(wire).toString().replaceAll(";; Message size: \\d+ bytes", "");
        } catch (IOException e) {
            throw new AssertionError("a response that does not parse", e);
        }
    }
}
