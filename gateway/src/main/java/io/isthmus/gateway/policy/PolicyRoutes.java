package io.isthmus.gateway.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.Explanation;
import io.isthmus.policy.Flow;
import io.isthmus.policy.Policy;
import io.isthmus.policy.PolicyBook;
import io.isthmus.policy.PolicyCodec;
import io.isthmus.policy.PolicyEntry;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The policy API below {@code /api/v1/policies} ({@code isthmus policy} calls it; reading needs the viewer role,
 * changing the admin role):
 *
 * <pre>
 * GET    policies          the book: version, the policies in force (in evaluation order), each peer's version
 * POST   policies          apply one GlobalNetworkPolicy object, or {"items": [...]}: all or none; answers the
 *                          entries written (a policy whose content is unchanged keeps its revision)
 * GET    policies/NAME     one policy, with its revision and the cluster that wrote it
 * DELETE policies/NAME     delete it (everywhere, once its tombstone has travelled)
 * DELETE policies?name=A&name=B   delete several in one change (all or none)
 * GET    explain?from=A&to=B&protocol=P&port=N     which rule of the table in force decides that flow (viewer);
 *                          A, B an IP or CLUSTER/NS/POD, B also NS/SERVICE (one flow per address serving it)
 * </pre>
 */
public final class PolicyRoutes extends AllDirectives {
    private final PolicyStore store;
    private final CrossClusterDefault crossClusterDefault;
    private final Function<Flow, Explanation> explain;
    private final FlowEnds ends;
    private final ObjectMapper json;

    public PolicyRoutes(PolicyStore store, CrossClusterDefault crossClusterDefault, Function<Flow, Explanation> explain,
                        FlowEnds ends, ObjectMapper json) {
        this.store = store;
        this.crossClusterDefault = crossClusterDefault;
        this.explain = explain;
        this.ends = ends;
        this.json = json;
    }

    /** The routes below {@code /api/v1/policies}: the caller has matched that prefix. */
    public Route routes() {
        return concat(
                pathEnd(() -> concat(
                        get(() -> reply(StatusCodes.OK, book(store.book()))),
                        post(() -> entity(Unmarshaller.entityToString(), this::apply)),
                        delete(() -> parameterList("name", this::removeAll)))),
                path(PathMatchers.segment(), name -> concat(
                        get(() -> one(name)),
                        delete(() -> remove(name)))));
    }

    /**
     * {@code GET /api/v1/explain?from=IP|CLUSTER/NS/POD&to=IP|CLUSTER/NS/POD|NS/SERVICE&protocol=TCP|UDP|SCTP|ICMP|N&port=N}:
     * which rule decides the flow, or each flow when the destination is a service served at several addresses.
     */
    public Route explain() {
        return get(() -> parameterOptional("from", from -> parameterOptional("to", to ->
                parameterOptional("protocol", protocol -> parameterOptional("port", port -> {
                    FlowEnds.End source;
                    List<FlowEnds.End> destinations;
                    List<Flow> flows = new ArrayList<>();
                    try {
                        source = ends.source("from", from.orElse(""));
                        destinations = ends.destinations("to", to.orElse(""));
                        for (FlowEnds.End destination : destinations) {
                            flows.add(flow(source.address(), destination.address(), protocol, port));
                        }
                    } catch (InvalidFieldException e) {
                        return error(StatusCodes.BAD_REQUEST, e);
                    }
                    ObjectNode out = json.createObjectNode();
                    out.putObject("from").put("name", source.name()).put("address", IpLiteral.format(source.address()));
                    ArrayNode each = out.putArray("flows");
                    boolean allowed = true;
                    StringBuilder text = new StringBuilder();
                    for (int i = 0; i < flows.size(); i++) {
                        Explanation explanation = explain.apply(flows.get(i));
                        allowed &= explanation.allowed();
                        FlowEnds.End destination = destinations.get(i);
                        if (flows.size() > 1 || !destination.name().equals(IpLiteral.format(destination.address()))) {
                            text.append("to ").append(destination.name()).append(":\n");
                        }
                        text.append(explanation.text());
                        ObjectNode flow = each.addObject();
                        flow.putObject("to").put("name", destination.name())
                                .put("address", IpLiteral.format(destination.address()));
                        flow.put("allowed", explanation.allowed()).put("text", explanation.text());
                        side(flow.putObject("egress"), explanation.egress());
                        side(flow.putObject("ingress"), explanation.ingress());
                    }
                    out.put("allowed", allowed).put("text", text.toString());
                    if (flows.size() == 1) { // the one flow's sides at the top too
                        out.set("egress", each.get(0).get("egress"));
                        out.set("ingress", each.get(0).get("ingress"));
                    }
                    return reply(StatusCodes.OK, out);
                })))));
    }

    private static void side(ObjectNode node, Explanation.Side side) {
        ArrayNode applying = node.putArray("applying");
        side.applying().forEach(applying::add);
        side.rule().ifPresent(rule -> node.put("rule", rule.path()));
        node.put("why", side.why());
    }

    /** The flow between two addresses on the query's protocol and port; refused naming the parameter. */
    static Flow flow(InetAddress source, InetAddress destination, Optional<String> protocol, Optional<String> port) {
        String proto = protocol.orElse("TCP").toUpperCase(java.util.Locale.ROOT);
        int number = switch (proto) {
            case "TCP" -> Flow.TCP;
            case "UDP" -> Flow.UDP;
            case "SCTP" -> Flow.SCTP;
            case "ICMP" -> source instanceof java.net.Inet4Address ? Flow.ICMP : Flow.ICMPV6;
            default -> {
                try {
                    yield Integer.parseInt(proto);
                } catch (NumberFormatException e) {
                    throw new InvalidFieldException("protocol", protocol.orElse(""), "must be TCP, UDP, SCTP, ICMP or a number");
                }
            }
        };
        if (!Flow.hasPorts(number)) {
            if (port.isPresent()) {
                throw new InvalidFieldException("port", port.get(), "protocol " + proto + " has no ports");
            }
            return Flow.withoutPort(source, destination, number);
        }
        int parsed;
        try {
            parsed = Integer.parseInt(port.orElseThrow(() -> new InvalidFieldException("port", "", "is required for " + proto)));
        } catch (NumberFormatException e) {
            throw new InvalidFieldException("port", port.get(), "must be a number 1..65535");
        }
        if (parsed < 1 || parsed > 65535) {
            throw new InvalidFieldException("port", parsed, "must be 1..65535");
        }
        return new Flow(source, destination, number, parsed);
    }

    private Route apply(String body) {
        List<Policy> policies;
        try {
            policies = parse(body);
        } catch (InvalidFieldException e) {
            return error(StatusCodes.BAD_REQUEST, e);
        }
        List<PolicyEntry> written;
        try {
            written = store.apply(policies);
        } catch (InvalidFieldException e) {
            return error(StatusCodes.CONFLICT, e);
        } catch (UncheckedIOException e) {
            return reply(StatusCodes.SERVICE_UNAVAILABLE, json.createObjectNode().put("error", e.getMessage()));
        }
        ObjectNode out = json.createObjectNode().put("version", store.book().version());
        ArrayNode entries = out.putArray("written");
        written.forEach(entry -> entries.add(entry(entry)));
        ArrayNode unchanged = out.putArray("unchanged");
        policies.stream().map(Policy::name).filter(n -> written.stream().noneMatch(w -> w.name().equals(n)))
                .forEach(unchanged::add);
        return reply(StatusCodes.OK, out);
    }

    /** One object, or {"items": [...]}; every policy checked before any is applied. */
    List<Policy> parse(String body) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw new InvalidFieldException("body", "", "not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidFieldException("body", root == null ? "" : root.toString(),
                    "must be a GlobalNetworkPolicy object or {\"items\": [...]}");
        }
        if (!root.has("items")) {
            return List.of(PolicyCodec.readOne(root.toString()));
        }
        List<Policy> policies = new ArrayList<>();
        JsonNode items = root.get("items");
        if (!items.isArray()) {
            throw new InvalidFieldException("items", items.toString(), "must be a list");
        }
        for (int i = 0; i < items.size(); i++) {
            try {
                Policy policy = PolicyCodec.readOne(items.get(i).toString());
                if (policies.stream().anyMatch(p -> p.name().equals(policy.name()))) {
                    throw new InvalidFieldException("metadata.name", policy.name(), "is given twice");
                }
                policies.add(policy);
            } catch (InvalidFieldException e) {
                throw e.as("items[" + i + "]." + e.field());
            }
        }
        return policies;
    }

    private Route one(String name) {
        PolicyEntry entry = store.book().entries().get(name);
        if (entry == null || entry.deleted()) {
            return reply(StatusCodes.NOT_FOUND, json.createObjectNode().put("error", "no policy " + name)
                    .put("field", "name").put("value", name));
        }
        return reply(StatusCodes.OK, entry(entry));
    }

    private Route remove(String name) {
        Optional<PolicyEntry> tombstone;
        try {
            tombstone = store.delete(name);
        } catch (UncheckedIOException e) {
            return reply(StatusCodes.SERVICE_UNAVAILABLE, json.createObjectNode().put("error", e.getMessage()));
        }
        if (tombstone.isEmpty()) {
            return reply(StatusCodes.NOT_FOUND, json.createObjectNode().put("error", "no policy " + name)
                    .put("field", "name").put("value", name));
        }
        return reply(StatusCodes.OK, json.createObjectNode().put("name", name)
                .put("revision", tombstone.get().revision()).put("version", store.book().version()));
    }

    private Route removeAll(List<String> names) {
        if (names.isEmpty()) {
            return error(StatusCodes.BAD_REQUEST, new InvalidFieldException("name", "",
                    "name the policies to delete: DELETE /api/v1/policies?name=A&name=B"));
        }
        List<PolicyEntry> tombstones;
        try {
            tombstones = store.delete(names);
        } catch (InvalidFieldException e) {
            return error(StatusCodes.NOT_FOUND, e);
        } catch (UncheckedIOException e) {
            return reply(StatusCodes.SERVICE_UNAVAILABLE, json.createObjectNode().put("error", e.getMessage()));
        }
        ObjectNode out = json.createObjectNode().put("version", store.book().version());
        ArrayNode deleted = out.putArray("deleted");
        tombstones.forEach(t -> deleted.addObject().put("name", t.name()).put("revision", t.revision()));
        return reply(StatusCodes.OK, out);
    }

    /** The book as the API and the status show it. */
    public ObjectNode book(PolicyBook book) {
        ObjectNode out = json.createObjectNode().put("version", book.version())
                .put("crossClusterDefault", crossClusterDefault.label());
        ArrayNode policies = out.putArray("policies");
        for (Policy policy : book.policies()) {
            policies.add(entry(book.entries().get(policy.name())));
        }
        ObjectNode peers = out.putObject("peers");
        store.peerVersions().forEach((peer, version) -> peers.put(peer.value(), version));
        return out;
    }

    private ObjectNode entry(PolicyEntry entry) {
        ObjectNode node = entry.policy().map(PolicyCodec::tree).orElseGet(() -> {
            ObjectNode deleted = json.createObjectNode();
            deleted.putObject("metadata").put("name", entry.name());
            return deleted;
        });
        ObjectNode status = node.putObject("status").put("revision", entry.revision())
                .put("origin", entry.origin().value());
        if (entry.deleted()) {
            status.put("deleted", true);
        }
        return node;
    }

    private Route error(StatusCode status, InvalidFieldException e) {
        return reply(status, json.createObjectNode().put("error", e.getMessage()).put("field", e.field())
                .put("value", e.value()));
    }

    private Route reply(StatusCode status, JsonNode body) {
        return complete(HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toPrettyString() + "\n")));
    }
}
