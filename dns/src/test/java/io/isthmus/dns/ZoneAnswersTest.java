package io.isthmus.dns;

import static io.isthmus.dns.Fixtures.ZONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the clusterset zone answers, one table of cases asked through every client (dnsjava and dig, UDP and
 * TCP) against a real server on 127.0.0.1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ZoneAnswersTest {
    private static final long TTL = 5;
    private static final String SOA_DATA = "ns.dns.clusterset.local. hostmaster.clusterset.local. 7 7200 1800 86400 5";

    private DnsServer server;

    @BeforeAll
    void start() throws BindException {
        Dig.requireDig();
        server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
    }

    @AfterAll
    void stop() {
        server.close();
    }

    enum Authority { NONE, SOA }

    record Case(String behaviour, Ask ask, String rcode, boolean authoritative, List<String> answer,
                Authority authority) {
        @Override
        public String toString() {
            return behaviour;
        }
    }

    private static Case answer(String behaviour, String qname, String qtype, String... answer) {
        return new Case(behaviour, Ask.of(qname, qtype), "NOERROR", true, List.of(answer), Authority.NONE);
    }

    private static Case nodata(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Ask.of(qname, qtype), "NOERROR", true, List.of(), Authority.SOA);
    }

    private static Case nxdomain(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Ask.of(qname, qtype), "NXDOMAIN", true, List.of(), Authority.SOA);
    }

    private static Case refused(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Ask.of(qname, qtype), "REFUSED", false, List.of(), Authority.NONE);
    }

    static List<Case> cases() {
        return List.of(
                answer("A of a ClusterSetIP service is its clusterset IP",
                        "web.shop.svc.clusterset.local.", "A", "A 10.0.0.10"),
                answer("A of a headless service lists the IPv4 endpoints of every cluster",
                        "db.shop.svc.clusterset.local.", "A", "A 10.1.0.1", "A 10.1.0.2"),
                answer("AAAA of a headless service lists its IPv6 endpoints",
                        "db.shop.svc.clusterset.local.", "AAAA", "AAAA fd00::1", "AAAA fd00::2"),
                answer("AAAA of an IPv6 service is its address",
                        "v6.shop.svc.clusterset.local.", "AAAA", "AAAA fd00::10"),
                answer("ANY of a service returns both its A and AAAA records",
                        "db.shop.svc.clusterset.local.", "ANY",
                        "A 10.1.0.1", "A 10.1.0.2", "AAAA fd00::1", "AAAA fd00::2"),
                answer("a service in another namespace is found there",
                        "api.other.svc.clusterset.local.", "A", "A 10.3.0.1"),
                answer("names match whatever their case, and the question comes back as asked",
                        "WEB.Shop.SVC.ClusterSet.LOCAL.", "A", "A 10.0.0.10"),
                answer("SOA at the apex names our server and carries the directory version as serial",
                        ZONE, "SOA", "SOA " + SOA_DATA),
                answer("NS at the apex", ZONE, "NS", "NS ns.dns.clusterset.local."),
                nodata("AAAA of an IPv4-only service is NODATA", "web.shop.svc.clusterset.local.", "AAAA"),
                nodata("A of an IPv6-only service is NODATA", "v6.shop.svc.clusterset.local.", "A"),
                nodata("A of a headless service with no endpoints is NODATA", "idle.shop.svc.clusterset.local.", "A"),
                nodata("a type the zone never serves is NODATA", "web.shop.svc.clusterset.local.", "TXT"),
                nodata("A at the apex is NODATA", ZONE, "A"),
                nodata("a namespace with services is an empty non-terminal: NODATA", "shop.svc.clusterset.local.", "A"),
                nodata("svc with services below it is an empty non-terminal: NODATA", "svc.clusterset.local.", "AAAA"),
                nxdomain("an unknown service in a known namespace is NXDOMAIN", "nope.shop.svc.clusterset.local.", "A"),
                nxdomain("a service in an unknown namespace is NXDOMAIN", "web.nowhere.svc.clusterset.local.", "A"),
                nxdomain("an unknown namespace is NXDOMAIN", "nowhere.svc.clusterset.local.", "A"),
                nxdomain("a name below a service is NXDOMAIN", "x.web.shop.svc.clusterset.local.", "A"),
                nxdomain("a name beside svc is NXDOMAIN", "web.shop.pod.clusterset.local.", "A"),
                nxdomain("an unknown label under the apex is NXDOMAIN", "other.clusterset.local.", "AAAA"),
                refused("a name outside the zone is REFUSED, not authoritatively", "example.com.", "A"),
                refused("a name that merely ends like the zone is outside it", "xclusterset.local.", "A"),
                refused("the parent of the zone is outside it", "local.", "SOA"));
    }

    static Stream<Arguments> everyCaseThroughEveryClient() {
        return cases().stream().flatMap(c -> Stream.of(Client.values())
                .filter(client -> client.canAsk(c.ask())).map(client -> Arguments.of(client, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("everyCaseThroughEveryClient")
    void answersAsTheZoneSays(Client client, Case c) {
        Reply reply = client.ask(server.localAddress(), c.ask());

        assertEquals(c.rcode(), reply.rcode(), "rcode");
        assertTrue(reply.has("qr"), "qr");
        assertEquals(c.authoritative(), reply.has("aa"), "aa");
        assertFalse(reply.has("tc"), "tc");
        assertFalse(reply.has("ra"), "ra: we do not recurse");
        assertTrue(reply.has("rd"), "rd is copied from the query");
        assertEquals(List.of(new Reply.Question(c.ask().qname(), c.ask().qtype())), reply.question(),
                "question, echoed with the client's case");
        assertEquals(sorted(c.answer().stream().map(Reply.Rr::normalize).toList()), sorted(reply.answer().stream().map(Reply.Rr::typeAndData).toList()), "answer");
        for (Reply.Rr rr : reply.answer()) {
            assertEquals(c.ask().qname(), rr.name(), "owner name as asked");
            assertEquals(TTL, rr.ttl(), "ttl of " + rr);
        }
        switch (c.authority()) {
            case NONE -> assertEquals(List.of(), reply.authority(), "authority");
            // The negative TTL is the SOA's own TTL and minimum, both the configured TTL.
            case SOA -> assertEquals(List.of(new Reply.Rr(ZONE, TTL, "SOA", SOA_DATA)), reply.authority(), "authority");
        }
        assertEquals(new Reply.Opt(0, QueryProcessor.ADVERTISED_UDP_PAYLOAD), reply.opt(), "OPT echoed");
    }

    private static List<String> sorted(List<String> items) {
        return items.stream().sorted().toList();
    }
}
