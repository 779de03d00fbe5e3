package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Forwarding against a real upstream: a throwaway NSD on 127.0.0.1 serving {@code example.test.}. A table of cases
 * through every client (dnsjava, dig, kdig; UDP and TCP), then the cache, a stopped upstream, an upstream that is
 * not there, and the allow-list, over real sockets.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForwardingTest {
    private static final long UPSTREAM_TTL = 300;
    private static final int BIG = 100; // 100 A records: more than the 1232 bytes we ask the upstream for over UDP
    private static final String SOA_DATA = "ns.example.test. hostmaster.example.test. 1 3600 600 86400 60";
    private static final Duration TIMEOUT = Duration.ofMillis(300);
    private static final int ATTEMPTS = 2;

    private Nsd nsd;
    private DnsServer server;
    private final Map<Client, Map<Case, Reply>> replies = new EnumMap<>(Client.class);

    @BeforeAll
    void start() throws IOException, InterruptedException {
        Client.requireExternalClients();
        nsd = Nsd.serve("example.test.", zoneFile());
        server = DnsServer.start(forwardingTo(List.of(nsd.address())), Fixtures::directory);
        for (Client client : Client.values()) {
            List<Case> cases = cases();
            List<Reply> got = client.askAll(server.localAddress(), cases.stream().map(Case::ask).toList());
            Map<Case, Reply> byCase = new HashMap<>();
            for (int i = 0; i < cases.size(); i++) {
                byCase.put(cases.get(i), got.get(i));
            }
            replies.put(client, byCase);
        }
    }

    @AfterAll
    void stop() {
        if (server != null) {
            server.close();
        }
        if (nsd != null) {
            nsd.close();
        }
    }

    private static DnsConfig forwardingTo(List<InetSocketAddress> upstreams) {
        return DnsConfig.of(Fixtures.loopbackAnyPort())
                .withForwarding(Forwarding.to(upstreams).withTimeout(TIMEOUT).withAttempts(ATTEMPTS));
    }

    private static String zoneFile() {
        String big = IntStream.rangeClosed(1, BIG).mapToObj(i -> "big   IN A   198.51.100." + i)
                .collect(Collectors.joining("\n"));
        return """
                $ORIGIN example.test.
                $TTL 300
                @     IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60
                      IN NS  ns.example.test.
                ns    IN A   127.0.0.1
                www   IN A   192.0.2.10
                www   IN AAAA 2001:db8::10
                """ + big + "\n";
    }

    /** @param answer "TYPE rdata" of each answer record, as a set */
    record Case(String behaviour, Ask ask, String rcode, boolean authoritative, List<String> answer, boolean soa) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("an upstream's answer is relayed", Ask.of("www.example.test.", "A"), "NOERROR", true,
                        List.of("A 192.0.2.10"), false),
                new Case("AAAA too", Ask.of("www.example.test.", "AAAA"), "NOERROR", true,
                        List.of("AAAA 2001:db8::10"), false),
                new Case("the question's case comes back", Ask.of("WWW.Example.TEST.", "A"), "NOERROR", true,
                        List.of("A 192.0.2.10"), false),
                new Case("NXDOMAIN passes through with the upstream's SOA", Ask.of("nope.example.test.", "A"),
                        "NXDOMAIN", true, List.of(), true),
                new Case("NODATA passes through with the upstream's SOA", Ask.of("www.example.test.", "TXT"),
                        "NOERROR", true, List.of(), true),
                new Case("an answer the upstream truncates is fetched from it over TCP",
                        Ask.of("big.example.test.", "A").withEdns(0, 4096), "NOERROR", true,
                        IntStream.rangeClosed(1, BIG).mapToObj(i -> "A 198.51.100." + i).toList(), false),
                new Case("names in the clusterset zone are still ours", Ask.of("web.shop.svc.clusterset.local.", "A"),
                        "NOERROR", true, List.of("A 10.0.0.10"), false));
    }

    static Stream<Arguments> everyCaseThroughEveryClient() {
        return cases().stream().flatMap(c -> Stream.of(Client.values())
                .filter(client -> client.canAsk(c.ask())).map(client -> Arguments.of(client, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("everyCaseThroughEveryClient")
    void forwardsAsTheUpstreamAnswers(Client client, Case c) {
        Reply reply = replies.get(client).get(c);

        assertEquals(c.rcode(), reply.rcode(), "rcode");
        assertEquals(c.authoritative(), reply.has("aa"), "aa, as the upstream said");
        assertTrue(reply.has("rd"), "rd");
        assertTrue(!reply.has("tc"), "tc");
        String asked = client.keepsCase() ? c.ask().qname() : c.ask().qname().toLowerCase(Locale.ROOT);
        assertEquals(List.of(new Reply.Question(asked, c.ask().qtype())), reply.question(), "question");
        assertEquals(c.answer().stream().map(Reply.Rr::normalize).sorted().toList(),
                reply.answer().stream().map(Reply.Rr::typeAndData).sorted().toList(), "answer");
        for (Reply.Rr rr : reply.answer()) {
            long ttl = c.ask().qname().endsWith("clusterset.local.") ? 5 : UPSTREAM_TTL;
            assertTrue(rr.ttl() <= ttl && rr.ttl() >= ttl - 60, "ttl, aged in the cache at most by this test: " + rr);
        }
        if (c.soa()) {
            Reply.Rr soa = reply.authority().getFirst();
            assertEquals("SOA " + SOA_DATA, soa.typeAndData());
            assertTrue(soa.ttl() <= 60, "the negative TTL: " + soa);
        }
        assertEquals(new Reply.Opt(0, QueryProcessor.ADVERTISED_UDP_PAYLOAD), reply.opt(), "our OPT");
    }

    @Test
    void aRepeatedQuestionIsAnsweredFromTheCache() {
        DnsCounters.Snapshot before = server.counters().snapshot();
        Reply first = DnsjavaClient.ask(server.localAddress(), Ask.of("ns.example.test.", "A"), Over.UDP);
        Reply second = Dig.ask(server.localAddress(), Ask.of("ns.example.test.", "A"), Over.UDP);
        DnsCounters.Snapshot after = server.counters().snapshot();

        assertEquals(first.answer().stream().map(Reply.Rr::typeAndData).toList(),
                second.answer().stream().map(Reply.Rr::typeAndData).toList());
        assertEquals(before.cacheMisses() + 1, after.cacheMisses());
        assertEquals(before.cacheHits() + 1, after.cacheHits());
        assertEquals(before.forwardedByOutcome().get("answered") + 1, after.forwardedByOutcome().get("answered"),
                "the upstream was asked once");
    }

    @Test
    void aStoppedUpstreamGetsServfailWithinTheTimeouts() {
        DnsCounters.Snapshot before = server.counters().snapshot();
        nsd.pause();
        long started = System.nanoTime();
        Reply reply;
        try {
            reply = DnsjavaClient.ask(server.localAddress(), Ask.of("stopped.example.test.", "A"), Over.UDP);
        } finally {
            nsd.resume();
        }
        long tookMillis = (System.nanoTime() - started) / 1_000_000;

        assertEquals("SERVFAIL", reply.rcode());
        assertTrue(tookMillis >= TIMEOUT.toMillis() * ATTEMPTS - 50 && tookMillis < 2_500,
                "after every try timed out, and no later: " + tookMillis + " ms");
        assertEquals(before.forwardedByOutcome().get("timeout") + 1,
                server.counters().snapshot().forwardedByOutcome().get("timeout"));
        assertEquals("NOERROR", DnsjavaClient.ask(server.localAddress(), Ask.of("www.example.test.", "AAAA"),
                Over.TCP).rcode(), "answers again once the upstream does");
    }

    @Test
    void anUpstreamThatIsNotThereGetsServfailAtOnce() throws IOException {
        InetSocketAddress nobody;
        try (DatagramSocket probe = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            nobody = (InetSocketAddress) probe.getLocalSocketAddress(); // free once closed: ICMP port unreachable
        }
        try (DnsServer lonely = DnsServer.start(forwardingTo(List.of(nobody)), Fixtures::directory)) {
            long started = System.nanoTime();
            Reply reply = Dig.ask(lonely.localAddress(), Ask.of("www.example.test.", "A"), Over.UDP);
            long tookMillis = (System.nanoTime() - started) / 1_000_000;

            assertEquals("SERVFAIL", reply.rcode());
            assertTrue(tookMillis < 2_000, "no waiting for timeouts: " + tookMillis + " ms");
            assertEquals(1, lonely.counters().snapshot().forwardedByOutcome().get("error"));
        }
    }

    @Test
    void clientsOffTheAllowListAreRefusedForwardingButGetTheZone() throws IOException {
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort()).withForwarding(Forwarding.to(List.of(nsd.address()))
                .withAllowedClients(List.of(ClientNetwork.parse("10.0.0.0/8"))));
        try (DnsServer strict = DnsServer.start(config, Fixtures::directory)) {
            for (Client client : Client.values()) {
                assertEquals("REFUSED", client.ask(strict.localAddress(), Ask.of("www.example.test.", "A")).rcode(),
                        client.name());
                assertEquals("NOERROR", client.ask(strict.localAddress(),
                        Ask.of("web.shop.svc.clusterset.local.", "A")).rcode(), client.name());
            }
            assertEquals(Client.values().length, strict.counters().snapshot().refusedByAllowList());
        }
    }
}
