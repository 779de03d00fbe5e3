package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.Opcode;

/**
 * EDNS, response sizes and opcodes, one table asked through every client. Over UDP a response that does not fit
 * the client's size comes back with TC and an empty answer; over TCP the same question gets the whole answer, and a
 * client that follows TC gets it whole in the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProtocolTest {
    private static final String BIG = "big.shop.svc.clusterset.local.";
    private static final String MEDIUM = "medium.shop.svc.clusterset.local.";
    private static final String WEB = "web.shop.svc.clusterset.local.";
    private static final Reply.Opt OUR_OPT = new Reply.Opt(0, QueryProcessor.ADVERTISED_UDP_PAYLOAD);

    private DnsServer server;
    /** Every client's reply to every case; dig and kdig ask all of them from one process. */
    private final Map<Client, Map<Case, Reply>> replies = new EnumMap<>(Client.class);

    @BeforeAll
    void start() throws BindException {
        Client.requireExternalClients();
        server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
        for (Client client : Client.values()) {
            List<Case> asked = cases().stream().filter(c -> client.canAsk(c.ask())).toList();
            List<Reply> got = client.askAll(server.localAddress(), asked.stream().map(Case::ask).toList());
            Map<Case, Reply> byCase = new HashMap<>();
            for (int i = 0; i < asked.size(); i++) {
                byCase.put(asked.get(i), got.get(i));
            }
            replies.put(client, byCase);
        }
    }

    @AfterAll
    void stop() {
        server.close();
    }

    /**
     * @param answers       how many answer records a whole response has
     * @param truncatedOnUdp whether UDP gets TC and an empty answer instead
     * @param opt           the OPT expected back, or null for none
     */
    record Case(String behaviour, Ask ask, String rcode, int answers, boolean truncatedOnUdp, Reply.Opt opt) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("without EDNS the response has no OPT", Ask.of(WEB, "A").withoutEdns(),
                        "NOERROR", 1, false, null),
                new Case("with EDNS the response carries our OPT", Ask.of(WEB, "A").withEdns(0, 4096),
                        "NOERROR", 1, false, OUR_OPT),
                new Case("without EDNS a response over 512 bytes is truncated on UDP", Ask.of(BIG, "A").withoutEdns(),
                        "NOERROR", Fixtures.BIG_SIZE, true, null),
                new Case("a response within the EDNS size is whole on UDP", Ask.of(BIG, "A").withEdns(0, 4096),
                        "NOERROR", Fixtures.BIG_SIZE, false, OUR_OPT),
                new Case("a response over the EDNS size is truncated on UDP", Ask.of(BIG, "A").withEdns(0, 1232),
                        "NOERROR", Fixtures.BIG_SIZE, true, OUR_OPT),
                new Case("an EDNS size under 512 counts as 512: a 400-byte response fits",
                        Ask.of(MEDIUM, "A").withEdns(0, 100), "NOERROR", Fixtures.MEDIUM_SIZE, false, OUR_OPT),
                new Case("an EDNS size under 512 counts as 512: a larger response is truncated",
                        Ask.of(BIG, "A").withEdns(0, 100), "NOERROR", Fixtures.BIG_SIZE, true, OUR_OPT),
                new Case("an EDNS version we do not speak gets BADVERS with our version 0",
                        Ask.of(WEB, "A").withEdns(1, 1232), "BADVERS", 0, false, OUR_OPT),
                new Case("opcode NOTIFY gets NOTIMP", Ask.of(WEB, "SOA").withOpcode(Opcode.NOTIFY),
                        "NOTIMP", 0, false, OUR_OPT),
                new Case("opcode STATUS gets NOTIMP", Ask.of(WEB, "A").withOpcode(Opcode.STATUS).withoutEdns(),
                        "NOTIMP", 0, false, null));
    }

    static Stream<Arguments> everyCaseThroughEveryClient() {
        return cases().stream().flatMap(c -> Stream.of(Client.values())
                .filter(client -> client.canAsk(c.ask())).map(client -> Arguments.of(client, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("everyCaseThroughEveryClient")
    void followsTheProtocol(Client client, Case c) {
        Reply reply = replies.get(client).get(c);

        boolean truncated = c.truncatedOnUdp() && client.transport == Transport.UDP;
        assertEquals(c.rcode(), reply.rcode(), "rcode");
        assertEquals(truncated, reply.has("tc"), "tc");
        assertEquals(truncated ? 0 : c.answers(), reply.answer().size(), "answer records");
        assertEquals(List.of(new Reply.Question(c.ask().qname(), c.ask().qtype())), reply.question(), "question");
        if (c.rcode().equals("NOERROR")) {
            assertTrue(reply.has("aa"), "aa, truncated or not");
        }
        if (truncated) {
            assertEquals(List.of(), reply.authority(), "a truncated response carries only the question and OPT");
        }
        if (c.opt() == null) {
            assertNull(reply.opt(), "no OPT without EDNS in the query");
        } else {
            assertEquals(c.opt(), reply.opt(), "OPT");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Follower.class)
    void aClientThatFollowsTcGetsTheWholeAnswerOverTcp(Follower follower) {
        long truncatedBefore = server.counters().snapshot().truncated();

        Reply reply = follower.ask(server.localAddress(), Ask.of(BIG, "A").withoutEdns());

        assertEquals("NOERROR", reply.rcode());
        assertEquals(Fixtures.BIG_SIZE, reply.answer().size(), "the whole answer, from the TCP retry");
        assertFalse(reply.has("tc"), "the TCP answer is not truncated");
        assertEquals(truncatedBefore + 1, server.counters().snapshot().truncated(), "the UDP answer was truncated");
    }

    /** Clients asking over UDP and retrying over TCP on TC, as resolvers do. */
    enum Follower {
        DNSJAVA, DIG, KDIG;

        Reply ask(java.net.InetSocketAddress at, Ask ask) {
            return switch (this) {
                case DNSJAVA -> DnsjavaClient.ask(at, ask, Over.UDP_THEN_TCP);
                case DIG -> Dig.ask(at, ask, Over.UDP_THEN_TCP);
                case KDIG -> Kdig.ask(at, ask, Over.UDP_THEN_TCP);
            };
        }
    }
}
