package io.isthmus.loadtest.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * The policy benchmark's rule set: {@code count} rules, all of which the benchmark's flow (TCP from the client
 * cluster's pods to the server cluster's pods on {@code port}, and its answers) is evaluated against, and only the
 * last one or two of which decide it. One definition for every arm: the policies posted to the gateways
 * ({@link #policiesJson}), the decision benchmark (the same JSON, compiled in-process) and the nftables anchor
 * ({@link #nftSets}, {@link #nftRules}).
 *
 * <p>Rules are numbered 0..count-1 in evaluation order and go into policies {@code bench-000, bench-001, ...}
 * (order 1, 2, ...) of at most {@value #RULES_PER_POLICY} rules, alternately ingress and egress. Every policy
 * applies to both clusters, so both sides of every packet, both ways, consider every rule of their side:
 * <ul>
 *   <li>a <b>port rule</b> (even numbers, and the odd ones past {@code portShare}): Deny TCP from/to either cluster
 *       on a port range that neither the flow's port nor the client's ephemeral ports (32768-60999) fall in; its
 *       peers select both pods, so the evaluation reaches the rule and checks its ports;</li>
 *   <li>a <b>CIDR rule</b>: Deny TCP {@code port} from/to a /28 of 172.16.0.0/12; its peers never select the pods,
 *       so the evaluation skips it in the bitsets;</li>
 *   <li>the last rule: Allow (ingress) TCP {@code port} from the client cluster; the one before it (when count &ge;
 *       2): Allow (egress) TCP {@code port} to the server cluster. These decide the flow; its answers (to the client's
 *       ephemeral ports) are decided by no rule and take the cross-cluster default, which must be allow.</li>
 * </ul>
 */
record BenchRules(int count, String client, String server, String clientCidr, String serverCidr, int port,
                  int portSharePercent) {
    static final int RULES_PER_POLICY = 200;
    private static final ObjectMapper JSON = new ObjectMapper();

    BenchRules {
        if (count < 1) {
            throw new IllegalArgumentException("--rules must be at least 1, got " + count);
        }
        if (port < 1 || port > 65535 || (port >= 32768 && port <= 60999)) {
            throw new IllegalArgumentException("--port must be 1..65535 outside 32768-60999, got " + port);
        }
        if (portSharePercent < 0 || portSharePercent > 100) {
            throw new IllegalArgumentException("--port-share must be 0..100 (percent), got " + portSharePercent);
        }
    }

    /** What rule {@code index} is. */
    sealed interface Kind {
    }

    /** Deny TCP ports first..last from/to either cluster. */
    record PortDeny(boolean ingress, int first, int last) implements Kind {
    }

    /** Deny TCP {@code port} from/to {@code cidr}. */
    record CidrDeny(boolean ingress, String cidr) implements Kind {
    }

    /** Allow TCP {@code port}: ingress from the client cluster, or egress to the server cluster. */
    record Allow(boolean ingress) implements Kind {
    }

    Kind kind(int index) {
        boolean ingress = index % 2 == 0;
        if (index == count - 1) {
            return new Allow(true);
        }
        if (index == count - 2) {
            return new Allow(false);
        }
        // Deterministic spread: about portShare% port rules, the rest CIDR rules.
        boolean portRule = (index * 37L % 100) < portSharePercent;
        if (portRule) {
            int first = portRangeStart(index);
            return new PortDeny(ingress, first, first + index % 7);
        }
        long block = 0xAC100000L + 16L * index; // 172.16.0.0 + 16 per rule: distinct /28s inside 172.16.0.0/12
        return new CidrDeny(ingress, (block >> 24 & 255) + "." + (block >> 16 & 255) + "." + (block >> 8 & 255) + "."
                + (block & 255) + "/28");
    }

    /** A start in 1..4900 or 5300..30000, so that no range of up to 7 ports holds {@code port} or an ephemeral port. */
    private int portRangeStart(int index) {
        int spread = (int) (index * 7919L % 29_600);
        int start = spread < 4900 ? 1 + spread : 5300 + (spread - 4900);
        if (start <= port && port <= start + 6) {
            start = port + 7;
        }
        return start;
    }

    /** {@code {"items": [...]}}: every policy, for one {@code POST /api/v1/policies}. */
    String policiesJson() {
        ObjectNode body = JSON.createObjectNode();
        ArrayNode items = body.putArray("items");
        for (ObjectNode policy : policies()) {
            items.add(policy);
        }
        return body.toString();
    }

    /** Every policy as a document of its own, separated by {@code ---} (what {@code PolicyCodec.read} takes). */
    String policyDocuments() {
        StringBuilder out = new StringBuilder();
        for (ObjectNode policy : policies()) {
            out.append(policy).append("\n---\n");
        }
        return out.toString();
    }

    /** The Allow rules as the gateway's metrics label them: {@code policy="bench-049",rule="spec.ingress[99]"}. */
    List<String> allowLabels() {
        List<String> labels = new ArrayList<>();
        for (ObjectNode policy : policies()) {
            for (String side : List.of("ingress", "egress")) {
                ArrayNode rules = (ArrayNode) policy.path("spec").path(side);
                for (int i = 0; i < rules.size(); i++) {
                    if (rules.get(i).path("action").asText().equals("Allow")) {
                        labels.add("policy=\"" + policy.path("metadata").path("name").asText() + "\",rule=\"spec."
                                + side + "[" + i + "]\"");
                    }
                }
            }
        }
        return labels;
    }

    /** The names of the policies the rule set takes. */
    List<String> policyNames() {
        List<String> names = new ArrayList<>();
        for (int p = 0; p * RULES_PER_POLICY < count; p++) {
            names.add(name(p));
        }
        return names;
    }

    private static String name(int p) {
        return String.format("bench-%03d", p);
    }

    List<ObjectNode> policies() {
        List<ObjectNode> policies = new ArrayList<>();
        for (int p = 0; p * RULES_PER_POLICY < count; p++) {
            ObjectNode policy = JSON.createObjectNode();
            policy.put("apiVersion", "isthmus.io/v1alpha1").put("kind", "GlobalNetworkPolicy");
            policy.putObject("metadata").put("name", name(p));
            ObjectNode spec = policy.putObject("spec");
            spec.put("order", p + 1);
            spec.putObject("appliesTo").putArray("clusters").add(client).add(server);
            ArrayNode ingress = spec.putArray("ingress");
            ArrayNode egress = spec.putArray("egress");
            for (int i = p * RULES_PER_POLICY; i < Math.min(count, (p + 1) * RULES_PER_POLICY); i++) {
                ObjectNode rule = JSON.createObjectNode();
                boolean toIngress = switch (kind(i)) {
                    case PortDeny deny -> {
                        rule.put("action", "Deny");
                        rule.putArray("peers").addObject().putArray("clusters").add(client).add(server);
                        rule.putArray("ports").addObject().put("protocol", "TCP").put("port", deny.first())
                                .put("endPort", deny.last());
                        yield deny.ingress();
                    }
                    case CidrDeny deny -> {
                        rule.put("action", "Deny");
                        rule.putArray("peers").addObject().putArray("cidrs").add(deny.cidr());
                        rule.putArray("ports").addObject().put("protocol", "TCP").put("port", port);
                        yield deny.ingress();
                    }
                    case Allow allow -> {
                        rule.put("action", "Allow");
                        rule.putArray("peers").addObject().putArray("clusters").add(allow.ingress() ? client : server);
                        rule.putArray("ports").addObject().put("protocol", "TCP").put("port", port);
                        yield allow.ingress();
                    }
                };
                (toIngress ? ingress : egress).add(rule);
            }
            policies.add(policy);
        }
        return policies;
    }

    /**
     * The same rules as nftables does them with sets, for the receiving gateway's forward hook: one interval set of
     * the denied /28s (checked as source and as destination), one of the denied port ranges (for packets between the
     * two pod networks), then the Allow. Nothing else in the chain; its policy is accept, like the allow default.
     */
    String nftSets(String table) {
        StringBuilder cidrs = new StringBuilder();
        StringBuilder ports = new StringBuilder();
        for (int i = 0; i < count; i++) {
            switch (kind(i)) {
                case PortDeny deny -> ports.append(ports.isEmpty() ? "" : ", ").append(deny.first()).append('-')
                        .append(deny.last());
                case CidrDeny deny -> cidrs.append(cidrs.isEmpty() ? "" : ", ").append(deny.cidr());
                case Allow allow -> {
                }
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("table inet ").append(table).append(" {\n");
        if (!cidrs.isEmpty()) {
            out.append("  set denied_cidrs { type ipv4_addr; flags interval; auto-merge; elements = { ")
                    .append(cidrs).append(" } }\n");
        }
        if (!ports.isEmpty()) {
            out.append("  set denied_ports { type inet_service; flags interval; auto-merge; elements = { ")
                    .append(ports).append(" } }\n");
        }
        out.append("  chain forward {\n    type filter hook forward priority 0; policy accept;\n");
        String pods = "{ " + clientCidr + ", " + serverCidr + " }";
        if (!cidrs.isEmpty()) {
            out.append("    ip saddr @denied_cidrs tcp dport ").append(port).append(" drop\n");
            out.append("    ip daddr @denied_cidrs tcp dport ").append(port).append(" drop\n");
        }
        if (!ports.isEmpty()) {
            out.append("    ip saddr ").append(pods).append(" ip daddr ").append(pods)
                    .append(" tcp dport @denied_ports drop\n");
        }
        out.append("    ip saddr ").append(clientCidr).append(" ip daddr ").append(serverCidr).append(" tcp dport ")
                .append(port).append(" counter accept\n");
        out.append("  }\n}\n");
        return out.toString();
    }

    /** The same rules as one nftables rule each, in order (what a translation rule by rule, iptables-style, gives). */
    String nftRules(String table) {
        String pods = "{ " + clientCidr + ", " + serverCidr + " }";
        StringBuilder out = new StringBuilder();
        out.append("table inet ").append(table).append(" {\n  chain forward {\n")
                .append("    type filter hook forward priority 0; policy accept;\n");
        for (int i = 0; i < count; i++) {
            switch (kind(i)) {
                case PortDeny deny -> out.append("    ip saddr ").append(pods).append(" ip daddr ").append(pods)
                        .append(" tcp dport ").append(deny.first()).append('-').append(deny.last()).append(" drop\n");
                case CidrDeny deny -> out.append("    ip ").append(deny.ingress() ? "saddr " : "daddr ")
                        .append(deny.cidr()).append(" tcp dport ").append(port).append(" drop\n");
                case Allow allow -> out.append("    ip saddr ").append(clientCidr).append(" ip daddr ")
                        .append(serverCidr).append(" tcp dport ").append(port).append(" counter accept\n");
            }
        }
        out.append("  }\n}\n");
        return out.toString();
    }
}
