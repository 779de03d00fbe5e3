package io.isthmus.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.dns.DnsCounters;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.peering.MeshView;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The admin HTTP server: probes, Prometheus metrics, the status API, and the export API that
 * {@code isthmus export} and {@code unexport} call.
 */
public final class AdminServer extends AllDirectives implements AutoCloseable {
    private static final java.time.Duration ASK_TIMEOUT = java.time.Duration.ofSeconds(5);

    private final Gateway gateway;
    private final Metrics metrics;
    private final ObjectMapper json = new ObjectMapper();
    private final StatusReport report = new StatusReport(json);
    // Milliseconds: the precision exports travel with, so every cluster compares the same export times.
    private final Clock clock = Clock.tick(Clock.systemUTC(), java.time.Duration.ofMillis(1));
    private ServerBinding binding;
    private final io.isthmus.gateway.ipam.IpamRoutes ipamRoutes;

    private AdminServer(Gateway gateway, Metrics metrics) {
        this.gateway = gateway;
        this.metrics = metrics;
        this.ipamRoutes = new io.isthmus.gateway.ipam.IpamRoutes(gateway.ipam(), gateway.addressPlan(), json);
    }

    public static AdminServer start(ActorSystem<?> system, Gateway gateway, Metrics metrics, AdminGuard guard) {
        AdminServer server = new AdminServer(gateway, metrics);
        server.registerGauges();
        var listen = gateway.config().admin();
        try {
            // gRPC (HTTP/2 with prior knowledge) for the IPAM service, the JSON routes for everything else.
            var grpc = io.isthmus.api.grpc.ipam.IpamHandlerFactory.create(
                    new io.isthmus.gateway.ipam.IpamGrpcService(gateway.ipam(), gateway.addressPlan()), system);
            var json = server.routes().handler(system);
            org.apache.pekko.japi.function.Function<org.apache.pekko.http.javadsl.model.HttpRequest,
                    CompletionStage<HttpResponse>> both = request ->
                    request.getUri().path().startsWith("/" + io.isthmus.api.grpc.ipam.Ipam.name + "/")
                            ? grpc.apply(request) : json.apply(request);
            var materializer = org.apache.pekko.stream.Materializer.matFromSystem(system);
            org.apache.pekko.japi.function.Function<org.apache.pekko.http.javadsl.model.HttpRequest,
                    CompletionStage<HttpResponse>> guarded = request -> guard.handle(request, materializer, r -> {
                        try {
                            return both.apply(r);
                        } catch (Exception e) {
                            return CompletableFuture.failedFuture(e);
                        }
                    });
            server.binding = Http.get(system).newServerAt(listen.host(), listen.port()).bind(guarded)
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new InvalidFieldException("isthmus.admin.port", listen, "cannot listen there: " + rootMessage(e));
        }
        return server;
    }

    public InetSocketAddress address() {
        return binding.localAddress();
    }

    Route routes() {
        return concat(
                path("healthz", () -> get(() -> complete("ok\n"))),
                path("readyz", () -> get(this::readiness)),
                path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(HttpEntities.create(
                        ContentTypes.create(MediaTypes.TEXT_PLAIN, org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8),
                        metrics.render()))))),
                pathPrefix("api", () -> pathPrefix("v1", () -> concat(
                        path("status", () -> get(() -> completeJson(StatusCodes.OK, report.status(gateway)))),
                        path("imports", () -> get(() -> completeJson(StatusCodes.OK, report.imports(gateway.mesh())))),
                        pathPrefix("ipam", () -> ipamRoutes.routes()),
                        path(PathMatchers.segment("mesh").slash("crl"), () -> post(() ->
                                entity(Unmarshaller.entityToByteString(), this::acceptCrl))),
                        pathPrefix("exports", () -> concat(
                                pathEnd(() -> concat(
                                        get(() -> completeJson(StatusCodes.OK, report.exports(gateway.mesh()))),
                                        post(() -> entity(Unmarshaller.entityToString(), this::export)))),
                                path(PathMatchers.segment().slash(PathMatchers.segment()),
                                        (namespace, name) -> delete(() -> unexport(namespace, name)))))))));
    }

    private Route acceptCrl(org.apache.pekko.util.ByteString body) {
        try {
            var crl = gateway.tls().acceptCrl(body.toArray());
            return completeJson(StatusCodes.OK, json.createObjectNode().put("crlNumber", crl.number().toString())
                    .put("revoked", crl.revokedSerials().size()));
        } catch (io.isthmus.gateway.pki.PkiException e) {
            return completeError(StatusCodes.BAD_REQUEST, "crl", "", e.getMessage());
        }
    }

    private Route readiness() {
        List<String> reasons = gateway.notReadyReasons();
        if (reasons.isEmpty()) {
            return complete("ready\n");
        }
        return complete(StatusCodes.SERVICE_UNAVAILABLE, "not ready: " + String.join("; ", reasons) + "\n");
    }

    private Route export(String body) {
        ServiceExport export;
        try {
            export = ExportRequest.parse(json.readTree(body), clock.instant());
        } catch (JsonProcessingException e) {
            return completeError(StatusCodes.BAD_REQUEST, "body", "", "not valid JSON: " + e.getOriginalMessage());
        } catch (InvalidFieldException e) {
            return completeError(StatusCodes.BAD_REQUEST, e.field(), e.value(), e.getMessage());
        }
        CompletionStage<ExportRegistry.Changed> reply = gateway.exports()
                .ask(replyTo -> new ExportRegistry.Export(export, replyTo), ASK_TIMEOUT);
        return onComplete(reply, result -> result.fold(
                failure -> completeError(StatusCodes.SERVICE_UNAVAILABLE, "", "",
                        "the export was not stored: " + rootMessage(failure)),
                changed -> {
                    ObjectNode out = report.export(changed.export(), gateway.config().clusterId());
                    out.put("version", changed.version());
                    return completeJson(StatusCodes.OK, out);
                }));
    }

    private Route unexport(String namespace, String name) {
        ServiceKey key;
        try {
            key = new ServiceKey(namespace, name);
        } catch (InvalidFieldException e) {
            return completeError(StatusCodes.BAD_REQUEST, "--" + e.field(), e.value(), e.getMessage());
        }
        CompletionStage<ExportRegistry.Unexported> reply = gateway.exports()
                .ask(replyTo -> new ExportRegistry.Unexport(key, replyTo), ASK_TIMEOUT);
        return onComplete(reply, result -> result.fold(
                failure -> completeError(StatusCodes.SERVICE_UNAVAILABLE, "", "",
                        "the unexport was not stored: " + rootMessage(failure)),
                unexported -> unexported.found()
                        ? completeJson(StatusCodes.OK, json.createObjectNode()
                        .put("namespace", namespace).put("name", name).put("version", unexported.version()))
                        : completeError(StatusCodes.NOT_FOUND, "service", key.toString(),
                        "no export " + key + " in cluster " + gateway.config().clusterId())));
    }

    private Route completeJson(StatusCode status, JsonNode body) {
        return complete(HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, body.toPrettyString() + "\n")));
    }

    private Route completeError(StatusCode status, String field, String value, String message) {
        ObjectNode body = json.createObjectNode().put("error", message);
        if (!field.isEmpty()) {
            body.put("field", field).put("value", value);
        }
        return completeJson(status, body);
    }

    private void registerGauges() {
        metrics.gauge("isthmus_exports", "Services this cluster exports.", List.of(),
                () -> Map.of(List.of(), (double) gateway.mesh().own().size()));
        metrics.gauge("isthmus_imported_exports", "Exports received from each peer cluster.", List.of("cluster"),
                () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    gateway.mesh().imports().forEach((cluster, remote) ->
                            out.put(List.of(cluster.value()), (double) remote.exports().size()));
                    return out;
                });
        metrics.gauge("isthmus_directory_services", "Services the DNS server answers for.", List.of(),
                () -> Map.of(List.of(), (double) gateway.mesh().directory().services().size()));
        metrics.gauge("isthmus_peering_link_up", "1 when a peer link is up, else 0.", List.of("link", "cluster"),
                () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    for (MeshView.Link link : gateway.mesh().links().values()) {
                        out.put(List.of(link.id(), link.remote() == null ? "" : link.remote().value()),
                                link.state() == LinkState.UP ? 1.0 : 0.0);
                    }
                    return out;
                });
        metrics.gauge("isthmus_imports_withdrawn", "1 for each peer cluster whose exports are not served: all of "
                        + "its links have been down past the import TTL.", List.of("cluster"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    gateway.mesh().imports().forEach((cluster, remote) ->
                            out.put(List.of(cluster.value()), remote.withdrawn() ? 1.0 : 0.0));
                    return out;
                });
        metrics.gauge("isthmus_jvm_heap_used_bytes", "Heap in use, after the last collection or now.", List.of(),
                () -> Map.of(List.of(), (double) java.lang.management.ManagementFactory.getMemoryMXBean()
                        .getHeapMemoryUsage().getUsed()));
        metrics.gauge("isthmus_peering_rtt_seconds", "Round-trip time of each peer link, from echoed heartbeats.",
                List.of("link", "cluster"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    for (MeshView.Link link : gateway.mesh().links().values()) {
                        if (link.rtt() != null) {
                            out.put(List.of(link.id(), link.remote() == null ? "" : link.remote().value()),
                                    link.rtt().toNanos() / 1e9);
                        }
                    }
                    return out;
                });
        metrics.gauge("isthmus_ready", "1 when the replica is ready.", List.of(),
                () -> Map.of(List.of(), gateway.notReadyReasons().isEmpty() ? 1.0 : 0.0));
        metrics.counterFunction("isthmus_dns_responses_total", "DNS responses sent, by response code.",
                List.of("rcode"), () -> dnsSamples(DnsCounters.Snapshot::byRcode));
        metrics.counterFunction("isthmus_dns_queries_total", "DNS questions received, by query type.",
                List.of("qtype"), () -> dnsSamples(DnsCounters.Snapshot::byQtype));
        metrics.counterFunction("isthmus_dns_forwarded_total", "Queries sent to upstream resolvers, by outcome.",
                List.of("outcome"), () -> dnsSamples(DnsCounters.Snapshot::forwardedByOutcome));
        metrics.counterFunction("isthmus_dns_forward_cache_lookups_total",
                "Forwarded names looked up in the cache, by result (hit ratio = hit / (hit + miss)).",
                List.of("result"), () -> gateway.dns() == null ? Map.of() : Map.of(
                        List.of("hit"), (double) gateway.dns().counters().snapshot().cacheHits(),
                        List.of("miss"), (double) gateway.dns().counters().snapshot().cacheMisses()));
        metrics.gauge("isthmus_dns_forward_cache_hit_ratio", "Forward cache hits over lookups since start.", List.of(),
                () -> gateway.dns() == null ? Map.of()
                        : Map.of(List.of(), gateway.dns().counters().snapshot().cacheHitRatio()));
        metrics.counterFunction("isthmus_dns_refused_by_allow_list_total",
                "Forwarded names refused because the client is not on the allow-list.", List.of(),
                () -> gateway.dns() == null ? Map.of()
                        : Map.of(List.of(), (double) gateway.dns().counters().snapshot().refusedByAllowList()));
        metrics.counterFunction("isthmus_dns_internal_errors_total",
                "Queries a handler failed on (answered SERVFAIL): bugs, worth an alert.", List.of(),
                () -> gateway.dns() == null ? Map.of()
                        : Map.of(List.of(), (double) gateway.dns().counters().snapshot().internalErrors()));
        metrics.histogramFunction("isthmus_dns_response_seconds", "Time from a query's receipt to its response.",
                () -> {
                    DnsCounters.LatencyHistogram latency = gateway.dns() == null
                            ? new DnsCounters.LatencyHistogram(DnsCounters.LATENCY_BOUNDS_MICROS,
                            java.util.Collections.nCopies(DnsCounters.LATENCY_BOUNDS_MICROS.size() + 1, 0L), 0)
                            : gateway.dns().counters().snapshot().latency();
                    return new Metrics.HistogramSample(
                            latency.boundsMicros().stream().map(micros -> micros / 1e6).toList(),
                            latency.cumulativeCounts(), latency.sumMicros() / 1e6);
                });
    }

    private Map<List<String>, Double> dnsSamples(java.util.function.Function<DnsCounters.Snapshot, Map<String, Long>> pick) {
        Map<List<String>, Double> out = new HashMap<>();
        if (gateway.dns() != null) {
            pick.apply(gateway.dns().counters().snapshot()).forEach((k, v) -> out.put(List.of(k), (double) v));
        }
        return out;
    }

    private static String rootMessage(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    }

    @Override
    public void close() {
        if (binding != null) {
            binding.unbind().toCompletableFuture().orTimeout(5, TimeUnit.SECONDS)
                    .exceptionally(t -> null).join();
        }
    }
}
