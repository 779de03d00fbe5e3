package io.isthmus.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceKey;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Thousands of generated flows against generated policy sets and identity views, the compiled table checked
 * against {@link NaiveOracle}: the verdict and, for each side, which rule (policy and index) or the default decided.
 * Values come from small pools so that selectors, CIDRs, port ranges and orders collide often.
 */
class PolicyTruthTableTest {
    private static final String[] CLUSTERS = {"east", "west", "north"};
    private static final String[] NAMESPACES = {"shop", "db", "web"};
    private static final String[] KEYS = {"app", "tier", "team"};
    private static final String[] VALUES = {"a", "b", "c"};
    private static final int[] PORTS = {0, 1, 53, 79, 80, 81, 443, 8080, 65535};
    private static final int[] ORDERS = {0, 10, 10, 1000, 10_000};

    private final Random random = new Random(20261207);

    @Test
    void compiledTablesAgreeWithTheNaiveOracleOnGeneratedFlows() {
        int sets = 400;
        int flowsPerSet = 60;
        int denied = 0;
        int byRule = 0;
        int byEncryption = 0;
        for (int set = 0; set < sets; set++) {
            Map<Cidr, Identity> entries = entries();
            IdentityView.Builder builder = IdentityView.builder();
            entries.forEach(builder::entry);
            IdentityView view = builder.build();
            List<Policy> policies = policies();
            CrossClusterDefault fallback = CrossClusterDefault.values()[random.nextInt(3)];
            DecisionTable table = DecisionTable.compile(policies, fallback, view);
            // the same identities reached through an identity update must decide alike
            DecisionTable updated = DecisionTable.compile(policies, fallback, IdentityView.EMPTY).withIdentities(view);
            // without a port index (over budget) ports are compared rule by rule: the same decisions
            DecisionTable unindexed = DecisionTable.compile("unindexed", policies, fallback, view, 0);
            NaiveOracle oracle = new NaiveOracle(policies, fallback, entries);
            List<InetAddress> addresses = addresses(entries, policies);
            for (InetAddress address : addresses) { // the prefixes an XDP LPM map would hold give the same classes
                assertEquals(table.classOf(address), longestPrefixClass(table, address), "set " + set + " " + address);
            }
            for (int f = 0; f < flowsPerSet; f++) {
                boolean v6 = random.nextInt(4) == 0;
                InetAddress source = pick(addresses, v6);
                InetAddress destination = pick(addresses, v6);
                Flow flow = flow(source, destination);
                NaiveOracle.Verdict expected = oracle.judge(source, destination, flow.protocol(), flow.port());
                long decision = table.decide(flow);
                String context = "set " + set + ", flow " + flow + ", default " + fallback + "\n" + policies
                        + "\n" + entries;
                assertEquals(expected.allowed(), Decision.allowed(decision), context);
                assertSide(expected.egress(), Decision.egressRule(decision), Decision.egressOutcome(decision),
                        table, "egress " + context);
                assertSide(expected.ingress(), Decision.ingressRule(decision), Decision.ingressOutcome(decision),
                        table, "ingress " + context);
                assertEquals(decision, updated.decide(flow), "after withIdentities: " + context);
                assertEquals(decision, unindexed.decide(flow), "without the port index: " + context);
                denied += expected.allowed() ? 0 : 1;
                byRule += expected.egress().policy() != null || expected.ingress().policy() != null ? 1 : 0;
                byEncryption += expected.egress().encryptionRequired() || expected.ingress().encryptionRequired() ? 1 : 0;
            }
        }
        int total = sets * flowsPerSet;
        // the generator must exercise both verdicts and both kinds of deciding, else the comparison proves little
        assertTrue(denied > total / 10 && denied < total * 9 / 10, denied + " of " + total + " denied");
        assertTrue(byRule > total / 5, byRule + " of " + total + " decided by a rule");
        assertTrue(byEncryption > total / 100, byEncryption + " of " + total + " refused for encryption");
    }

    private static int longestPrefixClass(DecisionTable table, InetAddress address) {
        Cidr best = null;
        for (Cidr prefix : table.prefixClasses().keySet()) {
            if (prefix.contains(address) && (best == null || prefix.prefix() > best.prefix())) {
                best = prefix;
            }
        }
        return table.prefixClasses().get(best);
    }

    private static void assertSide(NaiveOracle.SideVerdict expected, int rule, int outcome, DecisionTable table,
                                   String context) {
        if (expected.encryptionRequired()) {
            assertEquals(-1, rule, context);
            assertEquals(Decision.ENCRYPTION_REQUIRED, outcome, context);
        } else if (expected.policy() == null) {
            assertEquals(-1, rule, context);
            assertEquals(expected.allowed(), Decision.allows(outcome), context);
        } else {
            assertTrue(rule >= 0, "expected " + expected + " but the default decided: " + context);
            RuleRef ref = table.rules().get(rule);
            assertEquals(expected.policy() + "#" + expected.index(), ref.policy() + "#" + ref.index(), context);
            assertEquals(expected.allowed(), outcome == Decision.RULE_ALLOW, context);
        }
    }

    // ---- generators ------------------------------------------------------------------------------------------

    private Map<Cidr, Identity> entries() {
        SortedMap<Cidr, Identity> entries = new TreeMap<>();
        for (int c = 0; c < CLUSTERS.length; c++) {
            if (random.nextInt(3) > 0) { // a cluster-only segment: 10.c.0.0/16 and fd00:c::/32
                entries.put(cidr("10." + c + ".0.0/16"), Identity.ofCluster(ClusterId.of(CLUSTERS[c])));
                if (random.nextBoolean()) {
                    entries.put(cidr("fd00:" + c + "::/32"), Identity.ofCluster(ClusterId.of(CLUSTERS[c])));
                }
            }
        }
        int hosts = 5 + random.nextInt(20);
        for (int h = 0; h < hosts; h++) {
            boolean v6 = random.nextInt(4) == 0;
            String address = v6 ? "fd00:" + random.nextInt(4) + "::" + random.nextInt(4) + ":" + random.nextInt(8)
                    : "10." + random.nextInt(4) + "." + random.nextInt(4) + "." + random.nextInt(8);
            entries.put(cidr(address + (v6 ? "/128" : "/32")), identity());
        }
        return entries;
    }

    private Identity identity() {
        ClusterId cluster = ClusterId.of(pick(CLUSTERS));
        if (random.nextInt(8) == 0) {
            return Identity.ofCluster(cluster);
        }
        String namespace = pick(NAMESPACES);
        TreeSet<ServiceKey> services = new TreeSet<>();
        if (random.nextInt(3) == 0) {
            services.add(new ServiceKey(namespace, "svc" + random.nextInt(2)));
        }
        return new Identity(cluster, namespace, labels(), labels(), services);
    }

    private TreeMap<String, String> labels() {
        TreeMap<String, String> labels = new TreeMap<>();
        for (String key : KEYS) {
            if (random.nextInt(3) > 0) {
                labels.put(key, pick(VALUES));
            }
        }
        return labels;
    }

    private List<Policy> policies() {
        List<Policy> policies = new ArrayList<>();
        int count = random.nextInt(7);
        for (int p = 0; p < count; p++) {
            policies.add(new Policy("p" + p + "-" + random.nextInt(3), ORDERS[random.nextInt(ORDERS.length)],
                    random.nextInt(4) == 0 ? Peers.ANY : peers(), rules(), rules(),
                    random.nextInt(6) == 0 ? Policy.Encryption.REQUIRED : Policy.Encryption.OPTIONAL));
        }
        // names must be distinct: keep the first of each name
        List<Policy> distinct = new ArrayList<>();
        for (Policy policy : policies) {
            if (distinct.stream().noneMatch(d -> d.name().equals(policy.name()))) {
                distinct.add(policy);
            }
        }
        return distinct;
    }

    private List<Rule> rules() {
        List<Rule> rules = new ArrayList<>();
        int count = random.nextInt(5);
        for (int r = 0; r < count; r++) {
            List<Peers> peers = new ArrayList<>();
            int peerCount = random.nextInt(3);
            for (int i = 0; i < peerCount; i++) {
                peers.add(peers());
            }
            List<PortRange> ports = new ArrayList<>();
            int portCount = random.nextInt(4) == 0 ? 0 : random.nextInt(3);
            for (int i = 0; i < portCount; i++) {
                int a = PORTS[random.nextInt(PORTS.length)];
                int b = PORTS[random.nextInt(PORTS.length)];
                ports.add(new PortRange(Protocol.values()[random.nextInt(3)], Math.min(a, b), Math.max(a, b)));
            }
            rules.add(new Rule(random.nextBoolean() ? Rule.Action.ALLOW : Rule.Action.DENY, peers, ports));
        }
        return rules;
    }

    private Peers peers() {
        TreeSet<ClusterId> clusters = new TreeSet<>();
        TreeSet<String> namespaces = new TreeSet<>();
        TreeSet<ServiceKey> services = new TreeSet<>();
        List<Cidr> cidrs = new ArrayList<>();
        LabelSelector namespaceSelector = LabelSelector.ANY;
        LabelSelector podSelector = LabelSelector.ANY;
        if (random.nextInt(3) == 0) {
            clusters.add(ClusterId.of(pick(CLUSTERS)));
            if (random.nextBoolean()) {
                clusters.add(ClusterId.of(pick(CLUSTERS)));
            }
        }
        if (random.nextInt(4) == 0) {
            cidrs.add(randomCidr());
            if (random.nextBoolean()) {
                cidrs.add(randomCidr());
            }
            return new Peers(clusters, namespaces, namespaceSelector, podSelector, services, cidrs);
        }
        if (random.nextInt(3) == 0) {
            namespaces.add(pick(NAMESPACES));
        }
        if (random.nextInt(4) == 0) {
            namespaceSelector = selector();
        }
        if (random.nextInt(2) == 0) {
            podSelector = selector();
        }
        if (random.nextInt(5) == 0) {
            String namespace = pick(NAMESPACES);
            services.add(new ServiceKey(namespace, "svc" + random.nextInt(2)));
        }
        return new Peers(clusters, namespaces, namespaceSelector, podSelector, services, cidrs);
    }

    private LabelSelector selector() {
        TreeMap<String, String> matchLabels = new TreeMap<>();
        if (random.nextBoolean()) {
            matchLabels.put(pick(KEYS), pick(VALUES));
        }
        List<LabelSelector.Requirement> requirements = new ArrayList<>();
        if (matchLabels.isEmpty() || random.nextBoolean()) {
            LabelSelector.Operator operator = LabelSelector.Operator.values()[random.nextInt(4)];
            TreeSet<String> values = new TreeSet<>();
            if (operator == LabelSelector.Operator.IN || operator == LabelSelector.Operator.NOT_IN) {
                values.add(pick(VALUES));
                if (random.nextBoolean()) {
                    values.add(pick(VALUES));
                }
            }
            requirements.add(new LabelSelector.Requirement(pick(KEYS), operator, values));
        }
        return new LabelSelector(matchLabels, requirements);
    }

    private Cidr randomCidr() {
        if (random.nextInt(4) == 0) {
            int[] prefixes = {0, 16, 32, 96, 112, 126, 128};
            String address = "fd00:" + random.nextInt(4) + "::" + random.nextInt(4) + ":" + random.nextInt(8);
            return Cidr.of(address(address), prefixes[random.nextInt(prefixes.length)]);
        }
        int[] prefixes = {0, 8, 15, 16, 24, 29, 30, 32};
        String address = "10." + random.nextInt(5) + "." + random.nextInt(4) + "." + random.nextInt(8);
        return Cidr.of(address(address), prefixes[random.nextInt(prefixes.length)]);
    }

    /** The view's hosts, addresses inside its segments and the policies' CIDRs, and addresses outside all. */
    private List<InetAddress> addresses(Map<Cidr, Identity> entries, List<Policy> policies) {
        List<InetAddress> addresses = new ArrayList<>();
        entries.keySet().forEach(c -> addresses.add(c.network()));
        for (int i = 0; i < 12; i++) {
            addresses.add(address("10." + random.nextInt(5) + "." + random.nextInt(4) + "." + random.nextInt(8)));
            addresses.add(address("fd00:" + random.nextInt(5) + "::" + random.nextInt(4) + ":" + random.nextInt(8)));
        }
        addresses.add(address("192.0.2.1"));
        addresses.add(address("2001:db8::1"));
        for (Policy policy : policies) {
            for (Rule rule : policy.egress()) {
                rule.peers().forEach(p -> p.cidrs().forEach(c -> addresses.add(c.network())));
            }
        }
        return addresses;
    }

    private Flow flow(InetAddress source, InetAddress destination) {
        int kind = random.nextInt(10);
        if (kind == 0) {
            return Flow.withoutPort(source, destination, source.getAddress().length == 4 ? Flow.ICMP : Flow.ICMPV6);
        }
        if (kind == 1) { // a non-first fragment: the protocol is known, the port is not
            return Flow.withoutPort(source, destination, random.nextBoolean() ? Flow.TCP : Flow.UDP);
        }
        int[] protocols = {Flow.TCP, Flow.TCP, Flow.UDP, Flow.SCTP};
        return new Flow(source, destination, protocols[random.nextInt(protocols.length)],
                PORTS[random.nextInt(PORTS.length)]);
    }

    private InetAddress pick(List<InetAddress> addresses, boolean v6) {
        while (true) {
            InetAddress a = addresses.get(random.nextInt(addresses.size()));
            if ((a.getAddress().length == 16) == v6) {
                return a;
            }
        }
    }

    private String pick(String[] values) {
        return values[random.nextInt(values.length)];
    }

    static Cidr cidr(String text) {
        return Cidr.parse("test", text);
    }

    static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }
}
