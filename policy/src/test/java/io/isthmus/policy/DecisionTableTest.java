package io.isthmus.policy;

import static io.isthmus.policy.PolicyTruthTableTest.address;
import static io.isthmus.policy.PolicyTruthTableTest.cidr;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.ThreadMXBean;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** One case per rule of the semantics (README, "Semantics"), plus counters, the log, explain and allocation. */
class DecisionTableTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");

    /** east: cart 10.1.0.5 (shop, app=cart), web 10.1.0.6 (shop, app=web); west: pg 10.2.0.7 backs db/pg; west's segment 10.2.0.0/16. */
    private static final IdentityView VIEW = IdentityView.builder()
            .workload(address("10.1.0.5"), EAST, "shop", Map.of("app", "cart"))
            .workload(address("10.1.0.6"), EAST, "shop", Map.of("app", "web"))
            .workload(address("10.2.0.7"), WEST, "db", Map.of("app", "pg"))
            .backs(address("10.2.0.7"), WEST, new ServiceKey("db", "pg"))
            .workload(address("10.2.0.8"), WEST, "db", Map.of("app", "cache"))
            .namespaceLabels(EAST, "shop", Map.of("team", "web"))
            .cluster(cidr("10.2.0.0/16"), WEST)
            .workload(address("fd00:1::5"), EAST, "shop", Map.of("app", "cart"))
            .workload(address("fd00:2::7"), WEST, "db", Map.of("app", "pg"))
            .build();

    private static List<Policy> policies(String yaml) {
        return PolicyCodec.read(yaml);
    }

    private static String policy(String name, int order, String appliesTo, String ingress, String egress) {
        return """
                apiVersion: isthmus.io/v1alpha1
                kind: GlobalNetworkPolicy
                metadata: {name: %s}
                spec:
                  order: %d
                  appliesTo: %s
                  ingress: %s
                  egress: %s
                ---
                """.formatted(name, order, appliesTo, ingress, egress);
    }

    private static long decide(DecisionTable table, String from, String to, int protocol, int port) {
        return table.decide(new Flow(address(from), address(to), protocol, port));
    }

    private static String egressBy(DecisionTable table, long decision) {
        int rule = Decision.egressRule(decision);
        return rule < 0 ? "default" : table.rules().get(rule).path();
    }

    private static String decidedBy(DecisionTable table, long decision) {
        int rule = Decision.decidingRule(decision);
        return rule < 0 ? "default" : table.rules().get(rule).path();
    }

    @Test
    void theFirstMatchingEgressRuleInPolicyOrderDecides() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("b-late", 100, "{podSelector: {matchLabels: {app: cart}}}", "[]", "[{action: Allow}]")
                        + policy("a-early", 100, "{podSelector: {matchLabels: {app: cart}}}", "[]",
                        "[{action: Deny, ports: [{protocol: TCP, port: 5432}]}, {action: Allow}]")
                        + policy("z-first", 5, "{namespaces: [shop]}", "[]",
                        "[{action: Deny, peers: [{podSelector: {matchLabels: {app: cache}}}]}]")),
                CrossClusterDefault.ALLOW, VIEW);
        // same order: by name, a-early before b-late; within a-early the first rule
        long pg = decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 5432);
        assertFalse(Decision.allowed(pg));
        assertEquals("a-early spec.egress[0]", decidedBy(table, pg));
        long other = decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 80);
        assertTrue(Decision.allowed(other));
        assertEquals("a-early spec.egress[1]", decidedBy(table, other));
        // a lower order comes first
        long cache = decide(table, "10.1.0.5", "10.2.0.8", Flow.TCP, 80);
        assertEquals("z-first spec.egress[0]", decidedBy(table, cache));
        // a policy whose appliesTo does not select the source is skipped: web is in shop but not app=cart
        long web = decide(table, "10.1.0.6", "10.2.0.7", Flow.TCP, 5432);
        assertTrue(Decision.allowed(web));
        assertEquals(-1, Decision.egressRule(web));
    }

    @Test
    void theIngressSideIsJudgedForTheDestinationAndEitherSideCanDeny() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("db-in", 10, "{namespaces: [db]}",
                        "[{action: Allow, peers: [{namespaceSelector: {matchLabels: {team: web}}}]}, {action: Deny}]",
                        "[]")), CrossClusterDefault.ALLOW, VIEW);
        long fromShop = decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 5432);
        assertTrue(Decision.allowed(fromShop));
        assertEquals("db-in spec.ingress[0]", table.rules().get(Decision.ingressRule(fromShop)).path());
        assertEquals(Decision.DEFAULT_ALLOW, Decision.egressOutcome(fromShop));
        long fromCache = decide(table, "10.2.0.8", "10.2.0.7", Flow.TCP, 5432); // db has no team=web label
        assertFalse(Decision.allowed(fromCache));
        assertEquals("db-in spec.ingress[1]", decidedBy(table, fromCache));
    }

    @Test
    void eachDefaultDecidesUndecidedCrossClusterFlowsAndSameClusterFlowsAlwaysPass() {
        DecisionTable deny = DecisionTable.compile(List.of(), CrossClusterDefault.DENY, VIEW);
        DecisionTable allow = DecisionTable.compile(List.of(), CrossClusterDefault.ALLOW, VIEW);
        DecisionTable sameCluster = DecisionTable.compile(List.of(), CrossClusterDefault.SAME_CLUSTER_ONLY, VIEW);
        String cart = "10.1.0.5";
        String web = "10.1.0.6";
        String pg = "10.2.0.7";     // backs db/pg
        String cache = "10.2.0.8";  // backs nothing
        assertEquals(Decision.DEFAULT_SAME_CLUSTER, Decision.egressOutcome(decide(deny, cart, web, Flow.TCP, 80)));
        assertTrue(Decision.allowed(decide(deny, cart, web, Flow.TCP, 80)));
        assertFalse(Decision.allowed(decide(deny, cart, pg, Flow.TCP, 5432)));
        assertTrue(Decision.allowed(decide(allow, cart, cache, Flow.TCP, 5432)));
        long toExported = decide(sameCluster, cart, pg, Flow.TCP, 5432);
        assertTrue(Decision.allowed(toExported));
        assertEquals(Decision.DEFAULT_EXPORTED_SERVICE, Decision.ingressOutcome(toExported));
        long toPlain = decide(sameCluster, cart, cache, Flow.TCP, 5432);
        assertFalse(Decision.allowed(toPlain));
        assertEquals(Decision.DEFAULT_NOT_EXPORTED, Decision.egressOutcome(toPlain));
        // the exported service decides on the destination: pg calling cart crosses clusters to a non-export
        assertFalse(Decision.allowed(decide(sameCluster, pg, cart, Flow.TCP, 80)));
        // an address outside the clusterset is never "the same cluster"
        assertFalse(Decision.allowed(decide(deny, "192.0.2.1", "192.0.2.2", Flow.TCP, 80)));
        assertTrue(Decision.allowed(decide(sameCluster, "192.0.2.1", pg, Flow.TCP, 80)));
    }

    @Test
    void aClusterOnlyIdentityIsSelectedByItsClusterButNeverByNamespacesOrLabels() {
        // 10.2.9.9 is only known as west's segment
        DecisionTable table = DecisionTable.compile(policies(
                policy("ns", 1, "{}", "[]",
                        "[{action: Deny, peers: [{podSelector: {matchExpressions: [{key: app, operator: DoesNotExist}]}}]},"
                                + " {action: Deny, peers: [{namespaceSelector: {matchExpressions: [{key: x, operator: NotIn, values: [y]}]}}]},"
                                + " {action: Deny, peers: [{clusters: [west], namespaces: [db]}]},"
                                + " {action: Allow, peers: [{clusters: [west]}]}]")),
                CrossClusterDefault.DENY, VIEW);
        long toSegment = decide(table, "10.1.0.5", "10.2.9.9", Flow.TCP, 80);
        assertTrue(Decision.allowed(toSegment) || Decision.ingressOutcome(toSegment) != Decision.RULE_DENY);
        assertEquals("ns spec.egress[3]", table.rules().get(Decision.egressRule(toSegment)).path());
        // a workload of west's db namespace is caught by the earlier rule naming the namespace
        assertEquals("ns spec.egress[1]", table.rules().get(Decision.egressRule(
                decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 80))).path());
    }

    @Test
    void addressesOutsideTheClustersetAreSelectedOnlyByCidrsAndByEmptyPeers() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("out", 1, "{namespaces: [shop]}", "[]",
                        "[{action: Allow, peers: [{clusters: [east, west]}]},"
                                + " {action: Allow, peers: [{cidrs: [192.0.2.0/24, 10.2.0.0/24]}], ports: [{protocol: TCP, port: 443}]},"
                                + " {action: Deny, peers: [{}]}]")),
                CrossClusterDefault.ALLOW, VIEW);
        assertEquals("out spec.egress[1]", decidedBy(table, decide(table, "10.1.0.5", "192.0.2.9", Flow.TCP, 443)));
        assertEquals("out spec.egress[2]", decidedBy(table, decide(table, "10.1.0.5", "192.0.2.9", Flow.TCP, 80)));
        assertEquals("out spec.egress[2]", decidedBy(table, decide(table, "10.1.0.5", "198.51.100.1", Flow.TCP, 443)));
        // a cidr selects addresses inside the clusterset too, by address alone
        DecisionTable cidrFirst = DecisionTable.compile(policies(
                policy("cidr", 1, "{}", "[]", "[{action: Deny, peers: [{cidrs: [10.2.0.0/24]}]}]")),
                CrossClusterDefault.ALLOW, VIEW);
        assertEquals("cidr spec.egress[0]", decidedBy(cidrFirst, decide(cidrFirst, "10.1.0.5", "10.2.0.7", Flow.UDP, 53)));
        assertTrue(Decision.allowed(decide(cidrFirst, "10.1.0.5", "10.2.1.7", Flow.UDP, 53)));
        // cidrs and clusters together: both must hold
        DecisionTable both = DecisionTable.compile(policies(
                policy("both", 1, "{}", "[]", "[{action: Deny, peers: [{clusters: [east], cidrs: [10.0.0.0/8]}]}]")),
                CrossClusterDefault.ALLOW, VIEW);
        assertTrue(Decision.allowed(decide(both, "10.1.0.5", "10.2.0.7", Flow.TCP, 1)));
        assertFalse(Decision.allowed(decide(both, "10.2.0.7", "10.1.0.6", Flow.TCP, 1)));
    }

    @Test
    void encryptionRequiredRefusesAddressesOutsideTheClustersetWhateverTheRulesSay() {
        DecisionTable table = DecisionTable.compile(policies("""
                metadata: {name: shop-sealed}
                spec:
                  order: 500
                  appliesTo: {namespaces: [shop]}
                  encryption: Required
                ---
                metadata: {name: open-to-all}
                spec:
                  order: 1
                  appliesTo: {}
                  ingress: [{action: Allow, peers: [{cidrs: [0.0.0.0/0]}]}]
                  egress: [{action: Allow, peers: [{cidrs: [0.0.0.0/0]}]}]
                """), CrossClusterDefault.ALLOW, VIEW);
        long out = decide(table, "10.1.0.5", "192.0.2.9", Flow.TCP, 443);
        assertFalse(Decision.allowed(out), "an Allow of an earlier policy cannot relax it");
        assertEquals(Decision.ENCRYPTION_REQUIRED, Decision.egressOutcome(out));
        assertEquals(-1, Decision.egressRule(out));
        long in = decide(table, "192.0.2.9", "10.1.0.6", Flow.TCP, 443);
        assertEquals(Decision.ENCRYPTION_REQUIRED, Decision.ingressOutcome(in));
        assertEquals(Decision.RULE_ALLOW, Decision.egressOutcome(in), "the outside source is not protected");
        // another cluster is reached through the tunnel: the rules decide, as for any workload
        assertTrue(Decision.allowed(decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 5432)));
        assertTrue(Decision.allowed(decide(table, "10.2.0.7", "10.1.0.5", Flow.TCP, 5432)));
        // workloads the policy does not protect may still talk outside
        assertTrue(Decision.allowed(decide(table, "10.2.0.7", "192.0.2.9", Flow.TCP, 443)));
        String why = table.explain(new Flow(address("10.1.0.5"), address("192.0.2.9"), Flow.TCP, 443)).text();
        assertTrue(why.contains("requires encryption") && why.contains("shop-sealed for 10.1.0.5"), why);
    }

    @Test
    void portsAreInclusiveRangesOfOneProtocolAndFlowsWithoutAPortMatchOnlyRulesWithoutPorts() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("ports", 1, "{}", "[]",
                        "[{action: Allow, ports: [{protocol: TCP, port: 8080, endPort: 8090}]},"
                                + " {action: Deny, ports: [{protocol: UDP, port: 53}]},"
                                + " {action: Allow, peers: [{namespaces: [db]}]}]")),
                CrossClusterDefault.DENY, VIEW);
        String cart = "10.1.0.5";
        String pg = "10.2.0.7";
        assertEquals("ports spec.egress[0]", egressBy(table, decide(table, cart, pg, Flow.TCP, 8080)));
        assertEquals("ports spec.egress[0]", egressBy(table, decide(table, cart, pg, Flow.TCP, 8090)));
        assertEquals("ports spec.egress[2]", egressBy(table, decide(table, cart, pg, Flow.TCP, 8091)));
        assertEquals("ports spec.egress[2]", egressBy(table, decide(table, cart, pg, Flow.SCTP, 53)));
        assertFalse(Decision.allowed(decide(table, cart, pg, Flow.UDP, 53)));
        // ICMP and a non-first fragment (no port) pass over the port rules to the first rule without ports
        assertEquals("ports spec.egress[2]", egressBy(table, decide(table, cart, pg, Flow.ICMP, Flow.NO_PORT)));
        assertEquals("ports spec.egress[2]", egressBy(table, decide(table, cart, pg, Flow.TCP, Flow.NO_PORT)));
        assertEquals(-1, Decision.egressRule(decide(table, cart, "10.1.0.6", Flow.UDP, Flow.NO_PORT)));
    }

    @Test
    void theLongestEntryOfTheViewGivesTheIdentityInBothFamilies() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("pg-only", 1, "{}", "[]",
                        "[{action: Allow, peers: [{podSelector: {matchLabels: {app: pg}}}]}, {action: Deny}]")),
                CrossClusterDefault.ALLOW, VIEW);
        assertTrue(Decision.allowed(decide(table, "10.1.0.5", "10.2.0.7", Flow.TCP, 1)));  // the host entry
        assertFalse(Decision.allowed(decide(table, "10.1.0.5", "10.2.0.9", Flow.TCP, 1))); // the segment
        assertTrue(Decision.allowed(decide(table, "fd00:1::5", "fd00:2::7", Flow.TCP, 1)));
        assertFalse(Decision.allowed(decide(table, "fd00:1::5", "fd00:2::8", Flow.TCP, 1)));
        assertEquals(VIEW.identityOf(address("10.2.0.9")).orElseThrow(), Identity.ofCluster(WEST));
        assertEquals("db", VIEW.identityOf(address("10.2.0.7")).orElseThrow().namespace());
        assertTrue(VIEW.identityOf(address("10.3.0.1")).isEmpty());
    }

    @Test
    void decidingAllocatesNothing() {
        StringBuilder yaml = new StringBuilder();
        for (int p = 0; p < 40; p++) {
            yaml.append(policy("p" + p, p, "{podSelector: {matchLabels: {app: cart}}}",
                    "[{action: Deny, peers: [{namespaces: [ns" + p + "]}]}]",
                    "[{action: Deny, peers: [{cidrs: [10.9." + p + ".0/24]}], ports: [{protocol: TCP, port: " + (p + 1) + "}]}]"));
        }
        DecisionTable table = DecisionTable.compile(policies(yaml.toString()), CrossClusterDefault.DENY, VIEW);
        byte[] packet = new byte[40];
        byte[][] pairs = {bytes("10.1.0.5", "10.2.0.7"), bytes("10.2.0.7", "10.1.0.5"), bytes("10.1.0.5", "10.9.3.1")};
        byte[] v6 = bytes("fd00:1::5", "fd00:2::7");
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot measure allocation");
        long sink = 0;
        for (int round = 0; round < 3; round++) { // the first rounds warm the JIT up
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100_000; i++) {
                byte[] pair = pairs[i % 3];
                System.arraycopy(pair, 0, packet, 0, 8);
                long decision = table.decide(4, packet, 0, 4, Flow.TCP, i & 0xFF);
                table.counters().hit(decision, 100);
                table.log().offer(4, packet, 0, 4, Flow.TCP, i & 0xFF, decision);
                sink += decision + table.decide(6, v6, 0, 16, Flow.UDP, 53);
            }
            long allocated = threads.getCurrentThreadAllocatedBytes() - before;
            if (round == 2) {
                // Under one byte per decision: a per-packet allocation would be at least 16 bytes x 200,000. What
                // little remains comes from the JIT and the measurement itself on a loaded machine.
                assertTrue(allocated < 100_000, allocated + " bytes allocated over 200,000 decisions (sink " + sink + ")");
            }
        }
    }

    @Test
    void countersCountEachSideOnItsRuleAndTheLogSamplesOneInN() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("db-in", 10, "{namespaces: [db]}", "[{action: Deny, ports: [{protocol: TCP, port: 22}]}]",
                        "[]")), CrossClusterDefault.ALLOW, VIEW).withLog(new DecisionLog(4, 3));
        byte[] packet = bytes("10.1.0.5", "10.2.0.7");
        for (int i = 0; i < 10; i++) {
            long decision = table.decide(4, packet, 0, 4, Flow.TCP, 22);
            table.counters().hit(decision, 60);
            table.log().offer(4, packet, 0, 4, Flow.TCP, 22, decision);
        }
        assertEquals(10, table.counters().packets(0));
        assertEquals(600, table.counters().bytes(0));
        assertTrue(table.counters().lastHit(0) > 0);
        assertEquals(10, table.counters().packets(table.counters().egressDefaultSlot()));
        assertEquals(0, table.counters().packets(table.counters().ingressDefaultSlot()));
        List<DecisionLog.Entry> logged = table.log().recent();
        assertEquals(4, logged.size()); // decisions 0, 3, 6, 9
        assertEquals(address("10.2.0.7"), logged.getFirst().destination());
        assertEquals(22, logged.getFirst().port());
        assertFalse(Decision.allowed(logged.getFirst().decision()));
        // counters carry over when only the identities change
        DecisionTable next = table.withIdentities(VIEW.toBuilder().remove(address("10.2.0.8")).build());
        assertEquals(10, next.counters().packets(0));
    }

    @Test
    void explainNamesThePoliciesTheRuleAndTheReasonForEachSide() {
        DecisionTable table = DecisionTable.compile(policies(
                policy("db-in", 10, "{namespaces: [db]}",
                        "[{action: Deny, peers: [{clusters: [north]}, {namespaces: [shop]}], ports: [{protocol: TCP, port: 5432}]}]",
                        "[]")), CrossClusterDefault.SAME_CLUSTER_ONLY, VIEW);
        Explanation explanation = table.explain(new Flow(address("10.1.0.5"), address("10.2.0.7"), Flow.TCP, 5432));
        assertFalse(explanation.allowed());
        String text = explanation.text();
        assertTrue(text.contains("DENY"), text);
        assertTrue(text.contains("east/shop app=cart"), text);
        assertTrue(text.contains("west/db app=pg [backs db/pg]"), text);
        assertTrue(text.contains("db-in spec.ingress[0] (Deny)"), text);
        assertTrue(text.contains("peers[1] selects the source 10.1.0.5"), text);
        assertTrue(text.contains("egress  (policies applying to the source: none): allowed: no rule matched, the "
                + "default is same-cluster-only and the destination backs an exported service (no policy applies to 10.1.0.5)"),
                text);
        assertEquals("policy 1:" + table.policyVersion().substring(2) + " (1 rules, default same-cluster-only)",
                table.describe());
    }

    @Test
    void badInputIsRefusedNamingTheFieldAndValue() {
        List<Policy> twice = new java.util.ArrayList<>(policies(policy("same", 1, "{}", "[]", "[]")));
        twice.addAll(policies(policy("zzz-between", 1, "{}", "[]", "[]")));
        twice.addAll(policies(policy("same", 2, "{}", "[]", "[]"))); // not next to the first in evaluation order
        InvalidFieldException duplicate = assertThrows(InvalidFieldException.class,
                () -> DecisionTable.compile(twice, CrossClusterDefault.DENY, VIEW));
        assertEquals("metadata.name", duplicate.field());
        InvalidFieldException claimed = assertThrows(InvalidFieldException.class, () -> IdentityView.builder()
                .workload(address("10.1.0.5"), EAST, "shop", Map.of())
                .workload(address("10.1.0.5"), WEST, "shop", Map.of()));
        assertEquals("identity.address", claimed.field());
        assertEquals("10.1.0.5", claimed.value());
        InvalidFieldException wrongNamespace = assertThrows(InvalidFieldException.class, () -> IdentityView.builder()
                .workload(address("10.1.0.5"), EAST, "shop", Map.of())
                .backs(address("10.1.0.5"), EAST, new ServiceKey("db", "pg")));
        assertEquals("identity.service", wrongNamespace.field());
        InvalidFieldException label = assertThrows(InvalidFieldException.class, () -> IdentityView.builder()
                .workload(address("10.1.0.5"), EAST, "shop", Map.of("bad key!", "x")));
        assertTrue(label.getMessage().contains("bad key!"), label.getMessage());
        assertThrows(InvalidFieldException.class,
                () -> new Flow(address("10.1.0.5"), address("fd00::1"), Flow.TCP, 80));
        InvalidFieldException port = assertThrows(InvalidFieldException.class,
                () -> new Flow(address("10.1.0.5"), address("10.1.0.6"), Flow.ICMP, 80));
        assertEquals("flow.port", port.field());
    }

    @Test
    void flowsAreReadAsTheExplainCommandTakesThem() {
        assertEquals(new Flow(address("10.1.0.5"), address("10.2.0.7"), Flow.TCP, 5432),
                Flow.parse("explain", "10.1.0.5", "10.2.0.7:5432/tcp"));
        assertEquals(new Flow(address("10.1.0.5"), address("10.2.0.7"), Flow.TCP, 80),
                Flow.parse("explain", "10.1.0.5", "10.2.0.7:80"));
        assertEquals(new Flow(address("fd00:1::5"), address("fd00:2::7"), Flow.UDP, 53),
                Flow.parse("explain", "fd00:1::5", "[fd00:2::7]:53/UDP"));
        assertEquals(Flow.withoutPort(address("10.1.0.5"), address("10.2.0.7"), Flow.ICMP),
                Flow.parse("explain", "10.1.0.5", "10.2.0.7/icmp"));
        assertEquals(Flow.withoutPort(address("10.1.0.5"), address("10.2.0.7"), 47),
                Flow.parse("explain", "10.1.0.5", "10.2.0.7/47"));
        for (String bad : new String[] {"10.2.0.7/tcp", "10.2.0.7:99999/tcp", "10.2.0.7:80/icmp", "10.2.0.7:80/gre",
                "[fd00::7:53/udp", "nowhere:80/tcp"}) {
            InvalidFieldException e = assertThrows(InvalidFieldException.class,
                    () -> Flow.parse("explain", "10.1.0.5", bad), bad);
            assertTrue(e.field().startsWith("explain.to"), e.getMessage());
        }
        assertEquals("explain.from", assertThrows(InvalidFieldException.class,
                () -> Flow.parse("explain", "east/shop/cart", "10.2.0.7:80")).field());
    }

    @Test
    void theBuilderKeepsServicesAcrossLabelUpdatesAndAppliesNamespaceLabels() {
        IdentityView view = IdentityView.builder()
                .backs(address("10.1.0.5"), EAST, new ServiceKey("shop", "cart"))
                .workload(address("10.1.0.5"), EAST, "shop", Map.of("app", "cart", "v", "2"))
                .namespaceLabels(EAST, "shop", Map.of("team", "web"))
                .build();
        Identity cart = view.identityOf(address("10.1.0.5")).orElseThrow();
        assertEquals(Map.of("app", "cart", "v", "2"), cart.podLabels());
        assertEquals(Map.of("team", "web"), cart.namespaceLabels());
        assertEquals(List.of(new ServiceKey("shop", "cart")), List.copyOf(cart.services()));
        assertEquals(view, view.toBuilder().build());
        assertEquals(view.version(), view.toBuilder().build().version());
        assertFalse(view.version().equals(view.toBuilder().remove(address("10.1.0.5")).build().version()));
    }

    private static byte[] bytes(String source, String destination) {
        InetAddress from = address(source);
        InetAddress to = address(destination);
        byte[] both = new byte[from.getAddress().length * 2];
        System.arraycopy(from.getAddress(), 0, both, 0, from.getAddress().length);
        System.arraycopy(to.getAddress(), 0, both, from.getAddress().length, from.getAddress().length);
        return both;
    }
}
