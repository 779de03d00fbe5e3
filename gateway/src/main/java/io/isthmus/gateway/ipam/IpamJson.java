package io.isthmus.gateway.ipam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ipam.AddressRange;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.FamilyUsage;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseResult;
import io.isthmus.api.ipam.Route;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.BiFunction;

/**
 * The JSON forms of the IPAM API ({@code /api/v1/ipam}), shared by the admin server, which parses requests and
 * renders answers, and the CLI, which builds requests. Field names in errors are the JSON paths a client wrote
 * ({@code pool.cidrs[1]}, {@code owner.kind}), so an error points at the exact value to fix.
 */
public final class IpamJson {
    private final ObjectMapper json;

    public IpamJson(ObjectMapper json) {
        this.json = json;
    }

    // ---- requests ---------------------------------------------------------------------------------------------

    /** {@code {"name", "cidrs": [..], "exclude": [..], "reserved": [..], "gateways": [..], "routes": [..]}}. */
    public PoolSpec poolSpec(JsonNode body) {
        requireObject("pool", body);
        return poolSpec(text(body, "name", "pool.name"), strings(body, "cidrs", "pool.cidrs"),
                strings(body, "exclude", "pool.exclude"), strings(body, "reserved", "pool.reserved"),
                strings(body, "gateways", "pool.gateways"), strings(body, "routes", "pool.routes"));
    }

    /** A pool from its text forms, checked the same way whatever the request came as (JSON, gRPC). */
    public static PoolSpec poolSpec(String name, List<String> cidrs, List<String> exclude, List<String> reserved,
                                    List<String> gateways, List<String> routes) {
        return new PoolSpec(name, parseAll(cidrs, "pool.cidrs", Cidr::parse),
                parseAll(exclude, "pool.exclude", AddressRange::parse),
                parseAll(reserved, "pool.reserved", IpLiteral::parse),
                parseAll(gateways, "pool.gateways", IpLiteral::parse),
                parseAll(routes, "pool.routes", Route::parse));
    }

    /** An allocation request from its text forms. */
    public static AllocationRequest allocation(Owner owner, List<String> ips, List<String> within) {
        return new AllocationRequest(owner, parseAll(ips, "ips", IpLiteral::parse), parseAll(within, "within", Cidr::parse));
    }

    /** An owner from its text forms; an empty kind is a plain Pod. */
    public static Owner owner(ClusterId cluster, String namespace, String kind, String name, String uid) {
        return new Owner(cluster, namespace, OwnerKind.parse("owner.kind", kind.isEmpty() ? OwnerKind.POD.wireName() : kind),
                name, uid);
    }

    /** {@code {"owner": {...}, "ips": [..], "within": [..]}}. */
    public AllocationRequest allocation(JsonNode body, ClusterId cluster) {
        requireObject("allocation", body);
        return allocation(owner(body.get("owner"), cluster), strings(body, "ips", "ips"), strings(body, "within", "within"));
    }

    /** {@code {"owner": {...}, "mode": "keep-fixed" | "forget"}}. */
    public ReleaseRequest release(JsonNode body, ClusterId cluster) {
        requireObject("release", body);
        String mode = body.hasNonNull("mode") ? body.get("mode").asText() : "keep-fixed";
        ReleaseMode parsed = switch (mode.toLowerCase(Locale.ROOT)) {
            case "keep-fixed" -> ReleaseMode.KEEP_FIXED;
            case "forget" -> ReleaseMode.FORGET;
            default -> throw new InvalidFieldException("mode", mode, "must be keep-fixed or forget");
        };
        return new ReleaseRequest(owner(body.get("owner"), cluster), parsed);
    }

    public record ReleaseRequest(Owner owner, ReleaseMode mode) {
    }

    /** {@code {"namespace", "kind", "name", "uid"}}; the cluster is always this gateway's. */
    public Owner owner(JsonNode node, ClusterId cluster) {
        if (node == null || !node.isObject()) {
            throw new InvalidFieldException("owner", node == null ? "" : node.toString(),
                    "must be an object {namespace, kind, name, uid}");
        }
        return owner(cluster, text(node, "namespace", "owner.namespace"),
                node.hasNonNull("kind") ? node.get("kind").asText() : "", text(node, "name", "owner.name"),
                node.hasNonNull("uid") ? node.get("uid").asText() : "");
    }

    // ---- answers ----------------------------------------------------------------------------------------------

    public ObjectNode pool(PoolStatus status) {
        PoolSpec spec = status.spec();
        ObjectNode out = json.createObjectNode().put("name", spec.name());
        strings(out.putArray("cidrs"), spec.cidrs());
        strings(out.putArray("exclude"), spec.exclude());
        addresses(out.putArray("reserved"), spec.reserved());
        addresses(out.putArray("gateways"), spec.gateways());
        strings(out.putArray("routes"), spec.routes());
        ArrayNode usage = out.putArray("usage");
        for (FamilyUsage family : status.usage()) {
            usage.addObject().put("cidr", family.cidr().toString())
                    .put("capacity", family.capacity().toString()).put("used", family.used());
        }
        out.put("active", status.active()).put("parked", status.parked()).put("reservations", status.reserved())
                .put("reclaimed", status.reclaimed());
        return out;
    }

    public ObjectNode lease(Lease lease) {
        ObjectNode out = json.createObjectNode().put("pool", lease.pool());
        out.set("owner", owner(lease.owner()));
        leased(out.putArray("addresses"), lease.addresses());
        out.put("state", lease.state().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        out.put("since", lease.since().toString());
        if (!lease.attachment().isEmpty()) {
            out.put("container", lease.attachment()); // the CNI container whose DEL alone releases it
        }
        return out;
    }

    public ObjectNode deleted(io.isthmus.api.ipam.PoolDeletion deletion) {
        return json.createObjectNode().put("pool", deletion.pool()).put("deleted", true)
                .put("drained", deletion.drained()).put("active", deletion.active()).put("parked", deletion.parked())
                .put("reserved", deletion.reserved());
    }

    public ObjectNode released(ReleaseResult result) {
        ObjectNode out = json.createObjectNode().put("pool", result.pool());
        out.set("owner", owner(result.owner()));
        addresses(out.putArray("addresses"), result.addresses());
        out.put("outcome", result.outcome().name().toLowerCase(Locale.ROOT).replace('_', '-'));
        return out;
    }

    public ObjectNode reclaim(ReclaimRecord record) {
        ObjectNode out = json.createObjectNode().put("pool", record.pool());
        out.set("owner", owner(record.owner()));
        addresses(out.putArray("addresses"), record.addresses());
        return out.put("at", record.at().toString()).put("reason", record.reason());
    }

    public ObjectNode owner(Owner owner) {
        return json.createObjectNode().put("cluster", owner.cluster().value()).put("namespace", owner.namespace())
                .put("kind", owner.kind().wireName()).put("name", owner.name()).put("uid", owner.uid());
    }

    private static void leased(ArrayNode out, List<LeasedAddress> addresses) {
        for (LeasedAddress address : addresses) {
            ObjectNode entry = out.addObject().put("address", address.address().getHostAddress())
                    .put("cidr", address.withPrefix()).put("network", address.network().toString());
            address.gateway().ifPresent(gateway -> entry.put("gateway", gateway.getHostAddress()));
        }
    }

    private static void addresses(ArrayNode out, List<InetAddress> addresses) {
        addresses.forEach(address -> out.add(address.getHostAddress()));
    }

    private static void strings(ArrayNode out, List<?> values) {
        values.forEach(value -> out.add(value.toString()));
    }

    // ---- parsing helpers --------------------------------------------------------------------------------------

    private static void requireObject(String what, JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new InvalidFieldException("body", body == null ? "" : body.toString(), "must be a JSON object (" + what + ")");
        }
    }

    /** A required string member. */
    public String text(JsonNode node, String key, String field) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            throw new InvalidFieldException(field, "", "is required");
        }
        if (!value.isTextual()) {
            throw new InvalidFieldException(field, value.toString(), "must be a string");
        }
        return value.asText();
    }

    /** An optional string member; empty when absent. */
    public String optionalText(JsonNode node, String key) {
        JsonNode value = node.get(key);
        if (value == null || value.isNull()) {
            return "";
        }
        if (!value.isTextual()) {
            throw new InvalidFieldException(key, value.toString(), "must be a string");
        }
        return value.asText();
    }

    /** The plan: every segment (held, pending, registered) with its cluster, and the overlaps found. */
    public ObjectNode plan(io.isthmus.ipam.plan.Plan plan) {
        ObjectNode out = json.createObjectNode().put("cluster", plan.self().value());
        plan.members().forEach(member -> out.withArray("members").add(member.value()));
        ArrayNode segments = out.putArray("segments");
        plan.segments().forEach(s -> segments.addObject().put("cluster", s.holder().value())
                .put("kind", s.kind().label()).put("cidr", s.cidr()).put("state", "held"));
        plan.pending().forEach(c -> segments.addObject().put("cluster", c.claimant().value())
                .put("kind", c.kind().label()).put("cidr", c.cidr()).put("state", "pending"));
        plan.registered().forEach(r -> segments.addObject().put("cluster", r.cluster().value())
                .put("kind", r.kind().label()).put("cidr", r.cidr()).put("state", "registered"));
        ArrayNode overlaps = out.putArray("overlaps");
        plan.overlaps().forEach(o -> overlaps.addObject().put("message", o.describe())
                .put("first", o.first().value()).put("second", o.second().value()));
        return out;
    }

    private static List<String> strings(JsonNode node, String key, String field) {
        JsonNode value = node.get(key);
        List<String> out = new ArrayList<>();
        if (value == null || value.isNull()) {
            return out;
        }
        if (!value.isArray()) {
            throw new InvalidFieldException(field, value.toString(), "must be a list of strings");
        }
        for (int i = 0; i < value.size(); i++) {
            JsonNode item = value.get(i);
            if (!item.isTextual()) {
                throw new InvalidFieldException(field + "[" + i + "]", item.toString(), "must be a string");
            }
            out.add(item.asText());
        }
        return out;
    }

    private static <T> List<T> parseAll(List<String> values, String field, BiFunction<String, String, T> parse) {
        List<T> out = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            out.add(parse.apply(field + "[" + i + "]", values.get(i)));
        }
        return out;
    }
}
