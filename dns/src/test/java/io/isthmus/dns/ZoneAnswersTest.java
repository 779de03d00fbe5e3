package io.isthmus.dns;

import static io.isthmus.dns.Fixtures.ZONE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.BindException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the clusterset zone answers, every record form of the multi-cluster DNS spec: one table of cases asked
 * through every client (dnsjava, dig and kdig, UDP and TCP) against real servers on 127.0.0.1, one server per
 * configuration the cases need.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ZoneAnswersTest {
    private static final long TTL = 5;
    private static final String SOA_DATA = "ns.dns.clusterset.local. hostmaster.clusterset.local. 7 7200 1800 86400 5";
    private static final String WEB = "web.shop.svc.clusterset.local.";
    private static final String DB = "db.shop.svc.clusterset.local.";
    private static final String CART = "cart.shop.svc.clusterset.local.";
    private static final String CACHE = "cache.shop.svc.clusterset.local.";

    /** The server configurations the cases are asked of. */
    enum Variant {
        DEFAULTS,
        /** Cluster names on, locality prefer-local, this server in cluster west. */
        PREFER_WEST_WITH_CLUSTER_NAMES,
        /** Locality local-only, this server in cluster west. */
        ONLY_WEST;

        DnsConfig config() {
            DnsConfig base = DnsConfig.of(Fixtures.loopbackAnyPort());
            return switch (this) {
                case DEFAULTS -> base;
                case PREFER_WEST_WITH_CLUSTER_NAMES -> base.withClusterNames(true).withLocalCluster(Fixtures.WEST)
                        .withLocality(Locality.PREFER_LOCAL);
                case ONLY_WEST -> base.withLocalCluster(Fixtures.WEST).withLocality(Locality.LOCAL_ONLY);
            };
        }
    }

    private final Map<Variant, DnsServer> servers = new EnumMap<>(Variant.class);
    /** Every client's reply to every case: dig and kdig ask a whole variant's cases from one process. */
    private final Map<Client, Map<Case, Reply>> replies = new EnumMap<>(Client.class);

    @BeforeAll
    void start() throws BindException {
        Client.requireExternalClients();
        for (Variant variant : Variant.values()) {
            servers.put(variant, DnsServer.start(variant.config(), Fixtures::directory));
        }
        for (Client client : Client.values()) {
            Map<Case, Reply> byCase = new HashMap<>();
            for (Variant variant : Variant.values()) {
                List<Case> asked = cases().stream()
                        .filter(c -> c.variant() == variant && client.canAsk(c.ask())).toList();
                List<Reply> got = client.askAll(servers.get(variant).localAddress(),
                        asked.stream().map(Case::ask).toList());
                for (int i = 0; i < asked.size(); i++) {
                    byCase.put(asked.get(i), got.get(i));
                }
            }
            replies.put(client, byCase);
        }
    }

    @AfterAll
    void stop() {
        servers.values().forEach(DnsServer::close);
    }

    enum Authority { NONE, SOA }

    /**
     * @param answer     "TYPE rdata" of each answer record; in order when {@code ordered}, else as a set
     * @param additional "owner TYPE rdata" of each additional record (without the OPT), as a set
     */
    record Case(String behaviour, Variant variant, Ask ask, String rcode, boolean authoritative, List<String> answer,
                boolean ordered, List<String> additional, Authority authority) {
        @Override
        public String toString() {
            return (variant == Variant.DEFAULTS ? "" : variant + ": ") + behaviour;
        }

        Case on(Variant other) {
            return new Case(behaviour, other, ask, rcode, authoritative, answer, ordered, additional, authority);
        }

        Case inOrder() {
            return new Case(behaviour, variant, ask, rcode, authoritative, answer, true, additional, authority);
        }

        Case withAdditional(String... records) {
            return new Case(behaviour, variant, ask, rcode, authoritative, answer, ordered, List.of(records), authority);
        }
    }

    private static Case answer(String behaviour, String qname, String qtype, String... answer) {
        return new Case(behaviour, Variant.DEFAULTS, Ask.of(qname, qtype), "NOERROR", true, List.of(answer), false,
                List.of(), Authority.NONE);
    }

    private static Case nodata(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Variant.DEFAULTS, Ask.of(qname, qtype), "NOERROR", true, List.of(), false,
                List.of(), Authority.SOA);
    }

    private static Case nxdomain(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Variant.DEFAULTS, Ask.of(qname, qtype), "NXDOMAIN", true, List.of(), false,
                List.of(), Authority.SOA);
    }

    private static Case refused(String behaviour, String qname, String qtype) {
        return new Case(behaviour, Variant.DEFAULTS, Ask.of(qname, qtype), "REFUSED", false, List.of(), false,
                List.of(), Authority.NONE);
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.addAll(addressCases());
        cases.addAll(srvCases());
        cases.addAll(endpointCases());
        cases.addAll(reverseCases());
        cases.addAll(apexAndAnyCases());
        cases.addAll(negativeCases());
        cases.addAll(localityAndClusterNameCases());
        return cases;
    }

    private static List<Case> addressCases() {
        return List.of(
                answer("A of a ClusterSetIP service is its clusterset IP", WEB, "A", "A 10.0.0.10"),
                answer("A of a ClusterSetIP service exported by two clusters lists both IPs, in cluster order",
                        CART, "A", "A 10.5.0.1", "A 10.5.0.2").inOrder(),
                answer("A of a headless service lists the IPv4 endpoints of every cluster",
                        DB, "A", "A 10.1.0.1", "A 10.1.0.2"),
                answer("AAAA of a headless service lists its IPv6 endpoints", DB, "AAAA", "AAAA fd00::1", "AAAA fd00::2"),
                answer("AAAA of an IPv6 service is its address", "v6.shop.svc.clusterset.local.", "AAAA", "AAAA fd00::10"),
                answer("a service in another namespace is found there", "api.other.svc.clusterset.local.", "A", "A 10.3.0.1"),
                answer("names match whatever their case, and the question comes back as asked",
                        "WEB.Shop.SVC.ClusterSet.LOCAL.", "A", "A 10.0.0.10"));
    }

    private static List<Case> srvCases() {
        return List.of(
                answer("SRV of a named port of a ClusterSetIP service targets the service, its address in additional",
                        "_http._tcp." + WEB, "SRV", "SRV 0 100 80 " + WEB).withAdditional(WEB + " A 10.0.0.10"),
                answer("SRV of a named UDP port", "_dns._udp." + WEB, "SRV", "SRV 0 100 53 " + WEB)
                        .withAdditional(WEB + " A 10.0.0.10"),
                answer("SRV of a headless service: one per endpoint, targets named by hostname or dashed IP and cluster",
                        "_pg._tcp." + DB, "SRV",
                        "SRV 0 25 5432 db-0.east." + DB, "SRV 0 25 5432 fd00--1.east." + DB,
                        "SRV 0 25 5432 10-1-0-2.west." + DB, "SRV 0 25 5432 db-1.west." + DB)
                        .withAdditional("db-0.east." + DB + " A 10.1.0.1", "fd00--1.east." + DB + " AAAA fd00::1",
                                "10-1-0-2.west." + DB + " A 10.1.0.2", "db-1.west." + DB + " AAAA fd00::2"),
                answer("SRV names match whatever their case", "_HTTP._Tcp.Web.shop.svc.clusterset.local.", "SRV",
                        "SRV 0 100 80 " + WEB).withAdditional(WEB + " A 10.0.0.10"),
                nxdomain("SRV of a port name under the wrong protocol is NXDOMAIN", "_dns._tcp." + WEB, "SRV"),
                nxdomain("an unnamed port has no SRV", "_80._tcp.api.other.svc.clusterset.local.", "SRV"),
                nodata("the protocol label above an SRV name is an empty non-terminal", "_tcp." + WEB, "SRV"),
                nodata("A of an SRV name is NODATA", "_http._tcp." + WEB, "A"));
    }

    private static List<Case> endpointCases() {
        return List.of(
                answer("a headless endpoint by hostname and cluster", "db-0.east." + DB, "A", "A 10.1.0.1"),
                answer("a headless endpoint without hostname goes by its dashed IPv4", "10-1-0-2.west." + DB, "A",
                        "A 10.1.0.2"),
                answer("a headless endpoint without hostname goes by its dashed IPv6", "fd00--1.east." + DB, "AAAA",
                        "AAAA fd00::1"),
                answer("the same hostname in two clusters is two names", "cache-0.west." + CACHE, "A", "A 10.6.0.2"),
                nodata("AAAA of an IPv4 endpoint is NODATA", "db-0.east." + DB, "AAAA"),
                nxdomain("a hostname under the wrong cluster is NXDOMAIN", "db-0.west." + DB, "A"),
                nodata("the cluster label above endpoint names is an empty non-terminal", "east." + DB, "A"),
                nxdomain("ClusterSetIP services have no per-cluster names by default", "east." + WEB, "A"));
    }

    private static List<Case> reverseCases() {
        return List.of(
                answer("PTR of a ClusterSetIP names its service", "10.0.0.10.in-addr.arpa.", "PTR", "PTR " + WEB),
                answer("PTR of each ClusterSetIP of a service exported twice", "2.0.5.10.in-addr.arpa.", "PTR",
                        "PTR " + CART),
                answer("PTR of an IPv6 ClusterSetIP, in nibbles",
                        "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "PTR",
                        "PTR v6.shop.svc.clusterset.local."),
                answer("ANY of a PTR name is its PTR", "10.0.0.10.in-addr.arpa.", "ANY", "PTR " + WEB),
                answer("PTR of a headless endpoint names it by hostname and cluster", "1.0.1.10.in-addr.arpa.",
                        "PTR", "PTR db-0.east." + DB),
                answer("PTR of a headless endpoint without hostname names it by its dashed IP",
                        "2.0.1.10.in-addr.arpa.", "PTR", "PTR 10-1-0-2.west." + DB),
                answer("PTR of an IPv6 headless endpoint, in nibbles",
                        "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "PTR",
                        "PTR db-1.west." + DB),
                answer("each cluster's endpoint of one hostname has its own PTR", "2.0.6.10.in-addr.arpa.", "PTR",
                        "PTR cache-0.west." + CACHE),
                refused("an address nobody serves is not ours: down the chain (REFUSED without forwarding)",
                        "9.9.1.10.in-addr.arpa.", "PTR"),
                refused("another type at a PTR name goes down the chain", "10.0.0.10.in-addr.arpa.", "A"),
                refused("the reverse tree above our PTR names is not ours", "in-addr.arpa.", "SOA"));
    }

    private static List<Case> apexAndAnyCases() {
        return List.of(
                answer("SOA at the apex names our server and carries the directory version as serial",
                        ZONE, "SOA", "SOA " + SOA_DATA),
                answer("NS at the apex", ZONE, "NS", "NS ns.dns.clusterset.local."),
                answer("the name server's A is the address we listen on", "ns.dns.clusterset.local.", "A", "A 127.0.0.1"),
                nodata("the name server has no AAAA when we listen on IPv4", "ns.dns.clusterset.local.", "AAAA"),
                nodata("dns under the apex is an empty non-terminal", "dns.clusterset.local.", "A"),
                answer("the schema version record (spec §2.2)", "dns-version.clusterset.local.", "TXT", "TXT \"1.0.0\""),
                answer("ANY of a service is one RRset, not all of them (RFC 8482)", DB, "ANY", "A 10.1.0.1", "A 10.1.0.2"),
                answer("ANY at the apex is the SOA", ZONE, "ANY", "SOA " + SOA_DATA),
                answer("ANY of a name whose RRset would not fit 512 bytes is a synthesized HINFO",
                        "big.shop.svc.clusterset.local.", "ANY", "HINFO \"RFC8482\" \"\""),
                nodata("ANY of an empty non-terminal is NODATA", "shop.svc.clusterset.local.", "ANY"));
    }

    private static List<Case> negativeCases() {
        return List.of(
                nodata("AAAA of an IPv4-only service is NODATA", WEB, "AAAA"),
                nodata("A of an IPv6-only service is NODATA", "v6.shop.svc.clusterset.local.", "A"),
                nxdomain("a headless service with no endpoints has no name (spec §2.4.1)",
                        "idle.shop.svc.clusterset.local.", "A"),
                nodata("a type the zone never serves is NODATA", WEB, "TXT"),
                nodata("A at the apex is NODATA", ZONE, "A"),
                nodata("a namespace with services is an empty non-terminal: NODATA", "shop.svc.clusterset.local.", "A"),
                nodata("svc with services below it is an empty non-terminal: NODATA", "svc.clusterset.local.", "AAAA"),
                nxdomain("an unknown service in a known namespace is NXDOMAIN", "nope.shop.svc.clusterset.local.", "A"),
                nxdomain("a service in an unknown namespace is NXDOMAIN", "web.nowhere.svc.clusterset.local.", "A"),
                nxdomain("an unknown namespace is NXDOMAIN", "nowhere.svc.clusterset.local.", "A"),
                nxdomain("a name below a service is NXDOMAIN", "x." + WEB, "A"),
                nxdomain("a name beside svc is NXDOMAIN", "web.shop.pod.clusterset.local.", "A"),
                nxdomain("an unknown label under the apex is NXDOMAIN", "other.clusterset.local.", "AAAA"),
                refused("a name outside the zone is REFUSED, not authoritatively", "example.com.", "A"),
                refused("a name that merely ends like the zone is outside it", "xclusterset.local.", "A"),
                refused("the parent of the zone is outside it", "local.", "SOA"));
    }

    private static List<Case> localityAndClusterNameCases() {
        Variant prefer = Variant.PREFER_WEST_WITH_CLUSTER_NAMES;
        return List.of(
                answer("prefer-local puts the local cluster's IP first", CART, "A", "A 10.5.0.2", "A 10.5.0.1")
                        .inOrder().on(prefer),
                answer("prefer-local gives the local endpoints SRV priority 0 and the others 1", "_redis._tcp." + CACHE,
                        "SRV", "SRV 0 100 6379 cache-0.west." + CACHE, "SRV 1 100 6379 cache-0.east." + CACHE)
                        .inOrder().withAdditional("cache-0.west." + CACHE + " A 10.6.0.2",
                                "cache-0.east." + CACHE + " A 10.6.0.1").on(prefer),
                answer("a cluster name gives that cluster's ClusterSetIP", "east." + CART, "A", "A 10.5.0.1").on(prefer),
                answer("a cluster name gives that cluster's headless endpoints", "west." + DB, "A", "A 10.1.0.2").on(prefer),
                answer("a cluster name has AAAA too", "east." + DB, "AAAA", "AAAA fd00::1").on(prefer),
                nxdomain("a cluster that does not export the service has no name", "north." + DB, "A").on(prefer),
                answer("endpoint names are there with cluster names on", "db-0.east." + DB, "A", "A 10.1.0.1").on(prefer),
                answer("local-only answers with the local cluster's IP alone", CART, "A", "A 10.5.0.2")
                        .on(Variant.ONLY_WEST),
                answer("local-only answers with the local endpoints alone", DB, "AAAA", "AAAA fd00::2")
                        .on(Variant.ONLY_WEST),
                answer("local-only falls back to every cluster when the local one has none", WEB, "A", "A 10.0.0.10")
                        .on(Variant.ONLY_WEST),
                answer("local-only SRV lists local endpoints alone", "_redis._tcp." + CACHE, "SRV",
                        "SRV 0 100 6379 cache-0.west." + CACHE)
                        .withAdditional("cache-0.west." + CACHE + " A 10.6.0.2").on(Variant.ONLY_WEST),
                answer("local-only leaves other clusters' endpoint names alone", "cache-0.east." + CACHE, "A",
                        "A 10.6.0.1").on(Variant.ONLY_WEST),
                answer("local-only leaves the PTR of another cluster's ClusterSetIP alone", "1.0.5.10.in-addr.arpa.",
                        "PTR", "PTR " + CART).on(Variant.ONLY_WEST));
    }

    static Stream<Arguments> everyCaseThroughEveryClient() {
        return cases().stream().flatMap(c -> Stream.of(Client.values())
                .filter(client -> client.canAsk(c.ask())).map(client -> Arguments.of(client, c)));
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("everyCaseThroughEveryClient")
    void answersAsTheZoneSays(Client client, Case c) {
        Reply reply = replies.get(client).get(c);

        assertEquals(c.rcode(), reply.rcode(), "rcode");
        assertTrue(reply.has("qr"), "qr");
        assertEquals(c.authoritative(), reply.has("aa"), "aa");
        assertFalse(reply.has("tc"), "tc");
        assertFalse(reply.has("ra"), "ra: we do not recurse");
        assertTrue(reply.has("rd"), "rd is copied from the query");
        String asked = client.keepsCase() ? c.ask().qname() : c.ask().qname().toLowerCase(Locale.ROOT);
        assertEquals(List.of(new Reply.Question(asked, c.ask().qtype())), reply.question(),
                "question, echoed with the client's case");
        List<String> expected = c.answer().stream().map(Reply.Rr::normalize).toList();
        List<String> got = reply.answer().stream().map(Reply.Rr::typeAndData).toList();
        assertEquals(c.ordered() ? expected : sorted(expected), c.ordered() ? got : sorted(got), "answer");
        for (Reply.Rr rr : reply.answer()) {
            assertEquals(asked, rr.name(), "owner name as asked");
            assertEquals(TTL, rr.ttl(), "ttl of " + rr);
        }
        switch (c.authority()) {
            case NONE -> assertEquals(List.of(), reply.authority(), "authority");
            // The negative TTL is the SOA's own TTL and minimum, both the configured TTL.
            case SOA -> assertEquals(List.of(new Reply.Rr(ZONE, TTL, "SOA", SOA_DATA)), reply.authority(), "authority");
        }
        // Owners in additional may be compressed against the question, so they come in the client's case.
        assertEquals(sorted(c.additional().stream().map(ZoneAnswersTest::normalizeWithOwner).toList()),
                sorted(reply.additional().stream().map(rr -> rr.name().toLowerCase(Locale.ROOT) + " " + rr.typeAndData())
                        .toList()), "additional");
        for (Reply.Rr rr : reply.additional()) {
            assertEquals(TTL, rr.ttl(), "ttl of " + rr);
        }
        assertEquals(new Reply.Opt(0, QueryProcessor.ADVERTISED_UDP_PAYLOAD), reply.opt(), "OPT echoed");
    }

    private static String normalizeWithOwner(String ownerTypeAndData) {
        String[] parts = ownerTypeAndData.split(" ", 2);
        return parts[0] + " " + Reply.Rr.normalize(parts[1]);
    }

    private static List<String> sorted(List<String> items) {
        return items.stream().sorted().toList();
    }
}
