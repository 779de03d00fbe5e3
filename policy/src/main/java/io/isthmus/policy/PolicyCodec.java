package io.isthmus.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.DnsLabel;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceKey;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Policies as people write them and as gateways exchange them: the {@code GlobalNetworkPolicy} object of the CRD
 * ({@code apiVersion}, {@code kind}, {@code metadata.name}, {@code spec}), in YAML (several documents separated by
 * {@code ---}) or JSON. Reading is strict: an unknown field, a wrong type or a bad value is refused naming its path
 * ({@code spec.ingress[1].ports[0].endPort}) and the value. {@link #canonicalJson} writes one policy the same way
 * everywhere (fixed field order, empty fields left out), so equal policies are equal bytes.
 */
public final class PolicyCodec {
    public static final String API_VERSION = "isthmus.io/v1alpha1";
    public static final String KIND = "GlobalNetworkPolicy";
    public static final int MAX_ITEMS = 64;
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final ObjectMapper YAML = YAMLMapper.builder().build();

    private PolicyCodec() {
    }

    /** Every policy in {@code text} (YAML or JSON; YAML may hold several documents). */
    public static List<Policy> read(String text) {
        List<Policy> policies = new ArrayList<>();
        try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(text)) {
            int index = 0;
            while (documents.hasNextValue()) {
                JsonNode document = documents.nextValue();
                if (document == null || document.isNull() || document.isMissingNode()) {
                    index++;
                    continue; // an empty document (a trailing ---)
                }
                policies.add(policy(document, index++));
            }
        } catch (JsonProcessingException e) {
            throw new InvalidFieldException("policy document", firstLine(text), "is not YAML or JSON: "
                    + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidFieldException("policy document", firstLine(text), "cannot be read: " + e.getMessage());
        }
        Set<String> names = new TreeSet<>();
        for (Policy policy : policies) {
            if (!names.add(policy.name())) {
                throw new InvalidFieldException("metadata.name", policy.name(), "is given twice");
            }
        }
        return policies;
    }

    /** Exactly one policy. */
    public static Policy readOne(String text) {
        List<Policy> policies = read(text);
        if (policies.size() != 1) {
            throw new InvalidFieldException("policy document", policies.size() + " policies", "must hold exactly one");
        }
        return policies.getFirst();
    }

    private static Policy policy(JsonNode document, int index) {
        String at = index == 0 ? "" : "document " + (index + 1) + ": ";
        try {
            object(document, "", Set.of("apiVersion", "kind", "metadata", "spec", "status"));
            if (document.has("apiVersion") && !API_VERSION.equals(document.get("apiVersion").asText())) {
                throw new InvalidFieldException("apiVersion", document.get("apiVersion").asText(), "must be " + API_VERSION);
            }
            if (document.has("kind") && !KIND.equals(document.get("kind").asText())) {
                throw new InvalidFieldException("kind", document.get("kind").asText(), "must be " + KIND);
            }
            JsonNode metadata = document.path("metadata");
            if (!metadata.isObject()) {
                throw new InvalidFieldException("metadata.name", "", "is required");
            }
            String name = text(metadata.get("name"), "metadata.name");
            JsonNode spec = document.path("spec");
            if (!spec.isObject()) {
                throw new InvalidFieldException("spec", spec.isMissingNode() ? "" : spec.toString(), "is required");
            }
            object(spec, "spec", Set.of("order", "appliesTo", "ingress", "egress", "encryption"));
            int order = spec.has("order") ? integer(spec.get("order"), "spec.order") : Policy.DEFAULT_ORDER;
            if (!spec.has("appliesTo")) {
                throw new InvalidFieldException("spec.appliesTo", "", "is required ({} selects every workload)");
            }
            Peers appliesTo = peers(spec.get("appliesTo"), "spec.appliesTo");
            Policy.Encryption encryption = spec.has("encryption")
                    ? Policy.Encryption.parse("spec.encryption", text(spec.get("encryption"), "spec.encryption"))
                    : Policy.Encryption.OPTIONAL;
            return new Policy(name, order, appliesTo, rules(spec.get("ingress"), "spec.ingress"),
                    rules(spec.get("egress"), "spec.egress"), encryption);
        } catch (InvalidFieldException e) {
            throw index == 0 ? e : e.as(at + e.field());
        }
    }

    private static List<Rule> rules(JsonNode node, String field) {
        List<Rule> rules = new ArrayList<>();
        List<JsonNode> items = array(node, field, Policy.MAX_RULES);
        for (int i = 0; i < items.size(); i++) {
            String at = field + "[" + i + "]";
            JsonNode rule = items.get(i);
            object(rule, at, Set.of("action", "peers", "ports"));
            String action = text(rule.get("action"), at + ".action");
            Rule.Action parsed = switch (action.toLowerCase(Locale.ROOT)) {
                case "allow" -> Rule.Action.ALLOW;
                case "deny" -> Rule.Action.DENY;
                default -> throw new InvalidFieldException(at + ".action", action, "must be Allow or Deny");
            };
            List<Peers> peers = new ArrayList<>();
            List<JsonNode> peerItems = array(rule.get("peers"), at + ".peers", MAX_ITEMS);
            for (int p = 0; p < peerItems.size(); p++) {
                peers.add(peers(peerItems.get(p), at + ".peers[" + p + "]"));
            }
            List<PortRange> ports = new ArrayList<>();
            List<JsonNode> portItems = array(rule.get("ports"), at + ".ports", MAX_ITEMS);
            for (int p = 0; p < portItems.size(); p++) {
                ports.add(port(portItems.get(p), at + ".ports[" + p + "]"));
            }
            rules.add(new Rule(parsed, peers, ports));
        }
        return rules;
    }

    private static PortRange port(JsonNode node, String field) {
        object(node, field, Set.of("protocol", "port", "endPort"));
        Protocol protocol = node.has("protocol") ? Protocol.parse(field + ".protocol", text(node.get("protocol"),
                field + ".protocol")) : Protocol.TCP;
        if (!node.has("port")) {
            if (node.has("endPort")) {
                throw new InvalidFieldException(field + ".endPort", node.get("endPort").asText(), "needs a port");
            }
            return PortRange.all(protocol);
        }
        int port = integer(node.get("port"), field + ".port");
        if (port < 1 || port > 65535) {
            throw new InvalidFieldException(field + ".port", port, "must be 1..65535");
        }
        int endPort = node.has("endPort") ? integer(node.get("endPort"), field + ".endPort") : port;
        if (endPort < port || endPort > 65535) {
            throw new InvalidFieldException(field + ".endPort", endPort, "must be " + port + "..65535 (not below port)");
        }
        return new PortRange(protocol, port, endPort);
    }

    private static Peers peers(JsonNode node, String field) {
        object(node, field, Set.of("clusters", "namespaces", "namespaceSelector", "podSelector", "services", "cidrs"));
        SortedSet<ClusterId> clusters = new TreeSet<>();
        for (JsonNode item : array(node.get("clusters"), field + ".clusters", MAX_ITEMS)) {
            String value = text(item, field + ".clusters");
            clusters.add(new ClusterId(DnsLabel.require(field + ".clusters", value)));
        }
        SortedSet<String> namespaces = new TreeSet<>();
        for (JsonNode item : array(node.get("namespaces"), field + ".namespaces", MAX_ITEMS)) {
            namespaces.add(DnsLabel.require(field + ".namespaces", text(item, field + ".namespaces")));
        }
        SortedSet<ServiceKey> services = new TreeSet<>();
        for (JsonNode item : array(node.get("services"), field + ".services", MAX_ITEMS)) {
            String value = text(item, field + ".services");
            int slash = value.indexOf('/');
            if (slash < 0) {
                throw new InvalidFieldException(field + ".services", value, "must be NAMESPACE/NAME of an exported service");
            }
            services.add(new ServiceKey(DnsLabel.require(field + ".services", value.substring(0, slash)),
                    DnsLabel.require(field + ".services", value.substring(slash + 1))));
        }
        List<Cidr> cidrs = new ArrayList<>();
        for (JsonNode item : array(node.get("cidrs"), field + ".cidrs", MAX_ITEMS)) {
            String value = text(item, field + ".cidrs");
            Cidr cidr = Cidr.parse(field + ".cidrs", value);
            if (!cidr.toString().equals(value.trim().toLowerCase(Locale.ROOT))) {
                throw new InvalidFieldException(field + ".cidrs", value, "has host bits set: write " + cidr);
            }
            cidrs.add(cidr);
        }
        return new Peers(clusters, namespaces, selector(node.get("namespaceSelector"), field + ".namespaceSelector"),
                selector(node.get("podSelector"), field + ".podSelector"), services, cidrs).validated(field);
    }

    private static LabelSelector selector(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            return LabelSelector.ANY;
        }
        object(node, field, Set.of("matchLabels", "matchExpressions"));
        SortedMap<String, String> labels = new TreeMap<>();
        JsonNode matchLabels = node.get("matchLabels");
        if (matchLabels != null && !matchLabels.isNull()) {
            object(matchLabels, field + ".matchLabels", null);
            for (Iterator<Map.Entry<String, JsonNode>> it = matchLabels.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                String key = LabelSelector.requireKey(field + ".matchLabels", entry.getKey());
                labels.put(key, LabelSelector.requireValue(field + ".matchLabels." + key,
                        text(entry.getValue(), field + ".matchLabels." + key)));
            }
        }
        List<LabelSelector.Requirement> requirements = new ArrayList<>();
        List<JsonNode> expressions = array(node.get("matchExpressions"), field + ".matchExpressions", MAX_ITEMS);
        for (int i = 0; i < expressions.size(); i++) {
            String at = field + ".matchExpressions[" + i + "]";
            JsonNode expression = expressions.get(i);
            object(expression, at, Set.of("key", "operator", "values"));
            String key = LabelSelector.requireKey(at + ".key", text(expression.get("key"), at + ".key"));
            String operatorText = text(expression.get("operator"), at + ".operator");
            LabelSelector.Operator operator = switch (operatorText) {
                case "In" -> LabelSelector.Operator.IN;
                case "NotIn" -> LabelSelector.Operator.NOT_IN;
                case "Exists" -> LabelSelector.Operator.EXISTS;
                case "DoesNotExist" -> LabelSelector.Operator.DOES_NOT_EXIST;
                default -> throw new InvalidFieldException(at + ".operator", operatorText,
                        "must be In, NotIn, Exists or DoesNotExist");
            };
            SortedSet<String> values = new TreeSet<>();
            for (JsonNode value : array(expression.get("values"), at + ".values", MAX_ITEMS)) {
                values.add(LabelSelector.requireValue(at + ".values", text(value, at + ".values")));
            }
            boolean needsValues = operator == LabelSelector.Operator.IN || operator == LabelSelector.Operator.NOT_IN;
            if (needsValues == values.isEmpty()) {
                throw new InvalidFieldException(at + ".values", values, needsValues ? operatorText + " needs values"
                        : operatorText + " takes no values");
            }
            requirements.add(new LabelSelector.Requirement(key, operator, values));
        }
        return new LabelSelector(labels, requirements);
    }

    // --- writing ---

    /** The policy as a GlobalNetworkPolicy object, in one fixed form: equal policies give equal text. */
    public static String canonicalJson(Policy policy) {
        try {
            return JSON.writeValueAsString(tree(policy));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a policy tree always serializes", e);
        }
    }

    /** The GlobalNetworkPolicy object of {@code policy} (for the admin API and the CRD). */
    public static ObjectNode tree(Policy policy) {
        ObjectNode root = JSON.createObjectNode();
        root.put("apiVersion", API_VERSION);
        root.put("kind", KIND);
        root.putObject("metadata").put("name", policy.name());
        ObjectNode spec = root.putObject("spec");
        spec.put("order", policy.order());
        spec.set("appliesTo", peersTree(policy.appliesTo()));
        rulesTree(spec, "ingress", policy.ingress());
        rulesTree(spec, "egress", policy.egress());
        if (policy.encryption() == Policy.Encryption.REQUIRED) { // Optional is the default: left out, like empty fields
            spec.put("encryption", policy.encryption().label());
        }
        return root;
    }

    private static void rulesTree(ObjectNode spec, String name, List<Rule> rules) {
        if (rules.isEmpty()) {
            return;
        }
        ArrayNode array = spec.putArray(name);
        for (Rule rule : rules) {
            ObjectNode node = array.addObject();
            node.put("action", rule.action() == Rule.Action.ALLOW ? "Allow" : "Deny");
            if (!rule.peers().isEmpty()) {
                ArrayNode peers = node.putArray("peers");
                rule.peers().forEach(p -> peers.add(peersTree(p)));
            }
            if (!rule.ports().isEmpty()) {
                ArrayNode ports = node.putArray("ports");
                for (PortRange range : rule.ports()) {
                    ObjectNode port = ports.addObject().put("protocol", range.protocol().name());
                    if (range.first() != 0 || range.last() != 65535) {
                        port.put("port", range.first());
                        if (range.last() != range.first()) {
                            port.put("endPort", range.last());
                        }
                    }
                }
            }
        }
    }

    private static ObjectNode peersTree(Peers peers) {
        ObjectNode node = JSON.createObjectNode();
        strings(node, "clusters", peers.clusters().stream().map(ClusterId::value).toList());
        strings(node, "namespaces", List.copyOf(peers.namespaces()));
        selectorTree(node, "namespaceSelector", peers.namespaceSelector());
        selectorTree(node, "podSelector", peers.podSelector());
        strings(node, "services", peers.services().stream().map(ServiceKey::toString).toList());
        strings(node, "cidrs", peers.cidrs().stream().map(Cidr::toString).toList());
        return node;
    }

    private static void selectorTree(ObjectNode parent, String name, LabelSelector selector) {
        if (selector.isEmpty()) {
            return;
        }
        ObjectNode node = parent.putObject(name);
        if (!selector.matchLabels().isEmpty()) {
            ObjectNode labels = node.putObject("matchLabels");
            selector.matchLabels().forEach(labels::put);
        }
        if (!selector.matchExpressions().isEmpty()) {
            ArrayNode expressions = node.putArray("matchExpressions");
            for (LabelSelector.Requirement requirement : selector.matchExpressions()) {
                ObjectNode expression = expressions.addObject().put("key", requirement.key())
                        .put("operator", switch (requirement.operator()) {
                            case IN -> "In";
                            case NOT_IN -> "NotIn";
                            case EXISTS -> "Exists";
                            case DOES_NOT_EXIST -> "DoesNotExist";
                        });
                if (!requirement.values().isEmpty()) {
                    ArrayNode values = expression.putArray("values");
                    requirement.values().forEach(values::add);
                }
            }
        }
    }

    private static void strings(ObjectNode node, String name, List<String> values) {
        if (!values.isEmpty()) {
            ArrayNode array = node.putArray(name);
            values.forEach(array::add);
        }
    }

    // --- strict reading helpers ---

    /** {@code node} must be an object whose fields are all in {@code allowed} (null: any names). */
    private static void object(JsonNode node, String field, Set<String> allowed) {
        if (node == null || !node.isObject()) {
            throw new InvalidFieldException(field.isEmpty() ? "policy document" : field,
                    node == null ? "" : node.toString(), "must be an object");
        }
        if (allowed == null) {
            return;
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!allowed.contains(name)) {
                throw new InvalidFieldException(field.isEmpty() ? name : field + "." + name, node.get(name).toString(),
                        "is not a field here; the fields are " + new TreeSet<>(allowed));
            }
        }
    }

    private static List<JsonNode> array(JsonNode node, String field, int max) {
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new InvalidFieldException(field, node.toString(), "must be a list");
        }
        if (node.size() > max) {
            throw new InvalidFieldException(field, node.size() + " items", "at most " + max);
        }
        List<JsonNode> items = new ArrayList<>();
        node.forEach(items::add);
        return items;
    }

    private static String text(JsonNode node, String field) {
        if (node == null || node.isNull()) {
            throw new InvalidFieldException(field, "", "is required");
        }
        if (!node.isTextual()) {
            throw new InvalidFieldException(field, node.toString(), "must be a string");
        }
        return node.asText();
    }

    private static int integer(JsonNode node, String field) {
        if (node == null || !node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new InvalidFieldException(field, node == null ? "" : node.toString(), "must be a whole number");
        }
        return node.asInt();
    }

    private static String firstLine(String text) {
        String line = text.strip().lines().findFirst().orElse("");
        return line.length() > 60 ? line.substring(0, 60) + "..." : line;
    }
}
