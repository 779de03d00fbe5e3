package io.isthmus.gateway.ipam;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.ipam.Ipam;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The IPAM part of the admin API, under {@code /api/v1/ipam}: pools, allocations, releases, leases and reclaims.
 * Every refusal is a JSON {@code {"error", "code", "field", "value"}} with the HTTP status of its {@link IpamError}.
 * <pre>
 * GET  pools                         every pool with its usage
 * POST pools                         create a pool (body: IpamJson#poolSpec)
 * GET  pools/NAME                    one pool
 * DELETE pools/NAME[?force=true]     delete a pool: refused (409 pool-in-use) while it holds leases, unless force,
 *                                    which releases them all: {"pool", "deleted", "drained", "active", "parked", "reserved"}
 * GET  pools/NAME/replica            the replica that runs the pool: {"pool", "replica"}
 * POST pools/NAME/allocations        allocate for an owner (reserve and commit in one durable step)
 * POST pools/NAME/releases           release what an owner holds
 * GET  pools/NAME/leases             every lease
 * GET  pools/NAME/reclaims           the latest reclaims
 * POST pools/NAME/reclaim            run the reclaimer now
 * GET  addresses/IP                  who holds IP: {"address", "pool", "held", "lease"} (in the pool containing it)
 * GET  segments                      the clusterset address plan as this cluster knows it
 * POST segments                      claim a segment: {"kind": "pod", "cidr": optional}; answers once a majority agreed
 * POST registrations                 register a CIDR already in use: {"kind", "cidr"}
 * DELETE registrations?kind=K&cidr=C withdraw one of this cluster's registrations
 * </pre>
 */
public final class IpamRoutes extends AllDirectives {
    private final Ipam ipam;
    private final AddressPlan plan;
    private final ObjectMapper json;
    private final IpamJson forms;
    private final AllocationTimer timer;

    public IpamRoutes(Ipam ipam, AddressPlan plan, ObjectMapper json) {
        this(ipam, plan, json, AllocationTimer.unrecorded());
    }

    public IpamRoutes(Ipam ipam, AddressPlan plan, ObjectMapper json, AllocationTimer timer) {
        this.timer = timer;
        this.ipam = ipam;
        this.plan = plan;
        this.json = json;
        this.forms = new IpamJson(json);
    }

    /** The routes below {@code /api/v1/ipam}: the caller has matched that prefix. */
    public Route routes() {
        return concat(
                path("segments", () -> concat(
                        get(() -> answer(() -> plan.current().thenApply(forms::plan))),
                        post(() -> withBody(body -> plan.claim(forms.text(body, "kind", "kind"), forms.optionalText(body, "cidr"))
                                .thenCompose(granted -> plan.current()).thenApply(forms::plan))))),
                pathPrefix("addresses", () -> path(PathMatchers.segment(), ip -> get(() -> answer(() -> {
                    java.net.InetAddress address = io.isthmus.api.IpLiteral.parse("address", ip);
                    return ipam.holderOf(address).thenApply(lease -> {
                        ObjectNode found = json.createObjectNode()
                                .put("address", io.isthmus.api.ipam.LeasedAddress.text(address))
                                .put("held", lease.isPresent());
                        lease.ifPresentOrElse(l -> found.put("pool", l.pool()).set("lease", forms.lease(l)),
                                () -> found.putNull("lease"));
                        return found;
                    });
                })))),
                path("registrations", () -> concat(
                        post(() -> withBody(body ->
                                plan.register(forms.text(body, "kind", "kind"), forms.text(body, "cidr", "cidr"))
                                        .thenCompose(done -> plan.current()).thenApply(forms::plan))),
                        delete(() -> parameterOptional("kind", kind -> parameterOptional("cidr", cidr -> answer(() ->
                                plan.unregister(required("kind", kind), required("cidr", cidr))
                                        .thenCompose(done -> plan.current()).thenApply(forms::plan))))))),
                pools());
    }

    private Route pools() {
        return pathPrefix("pools", () -> concat(
                pathEnd(() -> concat(
                        get(() -> answer(() -> ipam.pools().thenCompose(specs -> {
                            List<CompletableFuture<ObjectNode>> each = specs.stream()
                                    .map(spec -> ipam.pool(spec.name()).thenApply(forms::pool).toCompletableFuture())
                                    .toList();
                            return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
                                    .thenApply(done -> array(each.stream().map(CompletableFuture::join).toList()));
                        }))),
                        post(() -> withBody(body -> ipam.createPool(forms.poolSpec(body))
                                .thenCompose(spec -> ipam.pool(spec.name())).thenApply(forms::pool))))),
                pathPrefix(PathMatchers.segment(), pool -> concat(
                        pathEnd(() -> concat(
                                get(() -> answer(() -> ipam.pool(pool).thenApply(forms::pool))),
                                delete(() -> parameterOptional("force", force -> answer(() ->
                                        ipam.deletePool(pool, flag("force", force)).thenApply(forms::deleted)))))),
                        path("replica", () -> get(() -> answer(() -> ipam.servedBy(pool).thenApply(replica ->
                                json.createObjectNode().put("pool", pool).put("replica", replica))))),
                        path("allocations", () -> post(() -> withBody(body ->
                                timer.time(AllocationTimer.Path.ADMIN, () ->
                                        ipam.allocate(pool, forms.allocation(body, ipam.cluster())))
                                        .thenApply(forms::lease)))),
                        path("releases", () -> post(() -> withBody(body -> {
                            IpamJson.ReleaseRequest release = forms.release(body, ipam.cluster());
                            return ipam.release(pool, release.owner(), release.mode()).thenApply(forms::released);
                        }))),
                        path("leases", () -> get(() -> answer(() -> ipam.leases(pool)
                                .thenApply(leases -> array(leases.stream().map(forms::lease).toList()))))),
                        path("reclaims", () -> get(() -> answer(() -> ipam.reclaims(pool)
                                .thenApply(list -> array(list.stream().map(forms::reclaim).toList()))))),
                        path("reclaim", () -> post(() -> answer(() -> ipam.reclaimNow(pool)
                                .thenApply(list -> array(list.stream().map(forms::reclaim).toList())))))))));
    }

    private Route withBody(Function<JsonNode, CompletionStage<? extends JsonNode>> handle) {
        return entity(Unmarshaller.entityToString(), text -> answer(() -> {
            JsonNode body;
            try {
                body = json.readTree(text);
            } catch (JsonProcessingException e) {
                throw new InvalidFieldException("body", "", "not valid JSON: " + e.getOriginalMessage());
            }
            return handle.apply(body);
        }));
    }

    /** An optional boolean query parameter: absent is false; anything but true/false is refused, naming it. */
    private static boolean flag(String name, java.util.Optional<String> value) {
        return switch (value.orElse("false")) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new InvalidFieldException(name, value.get(), "expected true or false");
        };
    }

    private static String required(String name, java.util.Optional<String> value) {
        return value.filter(v -> !v.isBlank()).orElseThrow(() -> new InvalidFieldException(name, "",
                "is required (a query parameter: ?kind=pod&cidr=10.244.0.0/16)"));
    }

    /** Runs {@code work}; a refusal thrown at once or failing the stage becomes the JSON error. */
    private Route answer(Supplier<CompletionStage<? extends JsonNode>> work) {
        CompletionStage<? extends JsonNode> stage;
        try {
            stage = work.get();
        } catch (RuntimeException e) {
            return error(e);
        }
        return onComplete(stage, result -> result.fold(this::error, body -> json(StatusCodes.OK, body)));
    }

    private Route error(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        IpamException refusal = switch (cause) {
            case IpamException ipamException -> ipamException;
            case InvalidFieldException invalid -> IpamException.invalid(invalid);
            default -> new IpamException(IpamError.UNAVAILABLE, "IPAM failed: " + cause);
        };
        ObjectNode body = json.createObjectNode().put("error", refusal.getMessage())
                .put("code", refusal.error().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        if (!refusal.field().isEmpty()) {
            body.put("field", refusal.field()).put("value", refusal.value());
        }
        return json(StatusCodes.get(refusal.error().httpStatus()), body);
    }

    private ArrayNode array(List<? extends JsonNode> items) {
        ArrayNode out = json.createArrayNode();
        out.addAll(items);
        return out;
    }

    private Route json(StatusCode status, JsonNode body) {
        return complete(HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toPrettyString() + "\n")));
    }
}
