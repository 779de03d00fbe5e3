package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Response rate limiting against real servers on 127.0.0.1, with loopback not exempt so the test's clients are
 * limited: what dig and kdig see, slips that send them to TCP, silence, and the counters.
 */
class RateLimitTest {
    private static final String WEB = "web.shop.svc.clusterset.local.";
    /** 3 at once, then (the bucket refilling by 1 a second) none for the length of a test. */
    private static final RateLimit THREE = RateLimit.DEFAULTS.withResponsesPerSecond(1).withBurst(3)
            .withExemptClients(List.of());

    @Test
    void pastItsBurstAClientGetsTruncatedAnswersOverUdp() throws Exception {
        try (DnsServer server = start(THREE.withSlip(1))) {
            List<Ask> asks = Collections.nCopies(6, Ask.of(WEB, "A"));
            List<Reply> byDig = Dig.askAll(server.localAddress(), asks, Over.UDP);
            for (int i = 0; i < 3; i++) {
                assertEquals("A 10.0.0.10", byDig.get(i).answer().getFirst().typeAndData(), "reply " + i);
                assertFalse(byDig.get(i).has("tc"));
            }
            for (int i = 3; i < 6; i++) {
                assertTrue(byDig.get(i).has("tc"), "reply " + i + " slipped: " + byDig.get(i));
                assertEquals("NOERROR", byDig.get(i).rcode());
                assertTrue(byDig.get(i).answer().isEmpty());
            }
            DnsCounters.Snapshot counts = server.counters().snapshot();
            assertEquals(3, counts.rateLimitSlipped());
            assertEquals(0, counts.rateLimited());
        }
    }

    @Test
    void aRealClientThatIsLimitedGetsItsAnswerOverTcp() throws Exception {
        try (DnsServer server = start(THREE.withSlip(1))) {
            List<Ask> asks = Collections.nCopies(6, Ask.of(WEB, "A"));
            for (List<Reply> replies : List.of(Dig.askAll(server.localAddress(), asks, Over.UDP_THEN_TCP),
                    Kdig.askAll(server.localAddress(), asks, Over.UDP_THEN_TCP))) {
                for (Reply reply : replies) {
                    assertEquals("A 10.0.0.10", reply.answer().getFirst().typeAndData(), reply.toString());
                    assertFalse(reply.has("tc"));
                }
            }
            assertTrue(server.counters().snapshot().rateLimitSlipped() >= 9, "dig's 3 and kdig's 6 slipped");
        }
    }

    @Test
    void withoutSlipWithheldResponsesAreSilenceAndCountAsDropped() throws Exception {
        try (DnsServer server = start(THREE.withSlip(0))) {
            for (int i = 0; i < 3; i++) {
                assertTrue(RawDns.udp(server.localAddress(), RawDns.queryBytes(i, WEB), RawDns.WAIT).isPresent());
            }
            for (int i = 3; i < 6; i++) {
                assertEquals(Optional.empty(), RawDns.udp(server.localAddress(), RawDns.queryBytes(i, WEB),
                        Duration.ofMillis(200)).map(b -> "an answer"));
            }
            DnsCounters.Snapshot counts = server.counters().snapshot();
            assertEquals(3, counts.rateLimited());
            assertEquals(3, counts.dropped());
            assertEquals(counts.total(), counts.byRcode().values().stream().mapToLong(Long::longValue).sum()
                    + counts.dropped(), "total = answered + dropped");
            // TCP is never limited.
            assertEquals("A 10.0.0.10", DnsjavaClient.ask(server.localAddress(), Ask.of(WEB, "A"), true)
                    .answer().getFirst().typeAndData());
        }
    }

    @Test
    void theSlipIsTheQuestionWithTcAndOurOptCarryingDo() throws Exception {
        Message query = RawDns.query(4242, WEB, Type.SRV);
        query.getHeader().setFlag(Flags.RD);
        query.addRecord(new OPTRecord(4096, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        byte[] wire = query.toWire();

        Message slip = new Message(SlipResponse.of(wire));

        assertEquals(4242, slip.getHeader().getID());
        assertTrue(slip.getHeader().getFlag(Flags.QR));
        assertTrue(slip.getHeader().getFlag(Flags.TC));
        assertTrue(slip.getHeader().getFlag(Flags.RD));
        assertFalse(slip.getHeader().getFlag(Flags.AA));
        assertEquals(Rcode.NOERROR, slip.getRcode());
        assertEquals(query.getQuestion(), slip.getQuestion());
        assertEquals(0, slip.getSection(Section.ANSWER).size());
        assertEquals(0, slip.getSection(Section.AUTHORITY).size());
        assertEquals(QueryProcessor.ADVERTISED_UDP_PAYLOAD, slip.getOPT().getPayloadSize());
        assertEquals(ExtendedFlags.DO, slip.getOPT().getFlags() & ExtendedFlags.DO);
        assertTrue(SlipResponse.of(wire).length <= wire.length, "never larger than the query");

        Message plain = new Message(SlipResponse.of(RawDns.queryBytes(1, WEB)));
        assertNull(plain.getOPT(), "no OPT asked, none given");
        assertNull(SlipResponse.of(new byte[] {0, 1, 2}), "a runt has no slip");
        byte[] response = RawDns.queryBytes(1, WEB);
        response[2] |= (byte) 0x80;
        assertNull(SlipResponse.of(response), "a response gets none");
    }

    private static DnsServer start(RateLimit limit) throws Exception {
        return DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()).withRateLimit(limit), Fixtures::directory);
    }
}
