package io.isthmus.gateway.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.IpamRoutes;
import io.isthmus.ipam.Ipam;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The admin HTTP server: probes, Prometheus metrics, the status API, the export API that {@code isthmus export} and
 * {@code unexport} call, the IPAM API (JSON and gRPC), the policy API, the CRL push and the read-only dashboard
 * ({@link DashboardRoutes}: {@code /dashboard} and its event stream {@code /api/v1/events}). It sees the gateway only through
 * {@link AdminApi}.
 */
public final class AdminServer extends AllDirectives implements AutoCloseable {
    private static final java.time.Duration ASK_TIMEOUT = java.time.Duration.ofSeconds(5);
    /** A change of many exports is one journal write, larger than one export's; give it longer. */
    private static final java.time.Duration BATCH_TIMEOUT = java.time.Duration.ofSeconds(30);
    /** Room for {@link io.isthmus.gateway.exports.ExportChanges#MAX_SERVICES} exports of a few hundred bytes each. */
    private static final long MAX_BATCH_BODY = 64L << 20;

    /**
     * Everything the admin routes read or change.
     *
     * @param exports     this replica's export registry
     * @param metricsText the Prometheus text of this replica's metrics
     * @param policies    the policy API ({@code /api/v1/policies})
     */
    public record AdminApi(RegistryClient exports, Ipam ipam, AddressPlan plan, StatusSources status,
                           Supplier<String> metricsText, io.isthmus.gateway.policy.PolicyRoutes policies,
                           io.isthmus.gateway.ipam.AllocationTimer allocations) {
    }

    private final AdminApi api;
    private final ObjectMapper json = new ObjectMapper();
    private final StatusReport report = new StatusReport(json);
    // Milliseconds: the precision exports travel with, so every cluster compares the same export times.
    private final Clock clock = Clock.tick(Clock.systemUTC(), java.time.Duration.ofMillis(1));
    private final IpamRoutes ipamRoutes;
    private final DashboardRoutes dashboard;
    private ServerBinding binding;
    private String scheme = "http";

    private AdminServer(AdminApi api) {
        this.api = api;
        this.ipamRoutes = new IpamRoutes(api.ipam(), api.plan(), json, api.allocations());
        this.dashboard = new DashboardRoutes(() -> report.status(api.status(), HostPort.format(address())));
    }

    public static AdminServer start(ActorSystem<?> system, HostPort listen, AdminGuard guard, AdminApi api) {
        return start(system, listen, guard, api, java.util.Optional.empty());
    }

    /** @param tls when present, the API is served over HTTPS with this context (it asks for client certificates) */
    public static AdminServer start(ActorSystem<?> system, HostPort listen, AdminGuard guard, AdminApi api,
                                    java.util.Optional<javax.net.ssl.SSLContext> tls) {
        AdminServer server = new AdminServer(api);
        try {
            // gRPC (HTTP/2 with prior knowledge) for the IPAM service, the JSON routes for everything else.
            var grpc = io.isthmus.api.grpc.ipam.IpamHandlerFactory.create(
                    new io.isthmus.gateway.ipam.IpamGrpcService(api.ipam(), api.plan(),
                            api.allocations()), system);
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
            var at = Http.get(system).newServerAt(listen.host(), listen.port());
            if (tls.isPresent()) {
                javax.net.ssl.SSLContext context = tls.get();
                at = at.enableHttps(org.apache.pekko.http.javadsl.ConnectionContext.httpsServer(() -> {
                    javax.net.ssl.SSLEngine engine = context.createSSLEngine();
                    engine.setUseClientMode(false);
                    engine.setWantClientAuth(true); // asked for, optional: tokens work over TLS too
                    return engine;
                }));
            }
            server.binding = at.bind(guarded).toCompletableFuture().get(30, TimeUnit.SECONDS);
            server.scheme = tls.isPresent() ? "https" : "http";
        } catch (Exception e) {
            throw new InvalidFieldException("isthmus.admin.port", listen, "cannot listen there: " + rootMessage(e));
        }
        return server;
    }

    public InetSocketAddress address() {
        return binding.localAddress();
    }

    /** The dashboard's event streams open now ({@code /api/v1/events}). */
    public int openEventStreams() {
        return dashboard.openStreams();
    }

    /** "https" when served over TLS, else "http". */
    public String scheme() {
        return scheme;
    }

    Route routes() {
        return concat(
                path("healthz", () -> get(() -> complete("ok\n"))),
                path("readyz", () -> get(this::readiness)),
                path("metrics", () -> get(() -> complete(HttpResponse.create().withEntity(HttpEntities.create(
                        ContentTypes.create(MediaTypes.TEXT_PLAIN, org.apache.pekko.http.javadsl.model.HttpCharsets.UTF_8),
                        api.metricsText().get()))))),
                dashboard.pages(),
                pathPrefix("api", () -> pathPrefix("v1", () -> concat(
                        dashboard.events(),
                        path("status", () -> get(() -> completeJson(StatusCodes.OK, report.status(api.status(), HostPort.format(address()))))),
                        path("imports", () -> get(() -> completeJson(StatusCodes.OK, report.imports(api.status().mesh().get())))),
                        pathPrefix("ipam", () -> ipamRoutes.routes()),
                        pathPrefix("policies", () -> api.policies().routes()),
                        path("explain", () -> api.policies().explain()),
                        path(PathMatchers.segment("mesh").slash("crl"), () -> post(() ->
                                entity(Unmarshaller.entityToByteString(), this::acceptCrl))),
                        pathPrefix("exports", () -> concat(
                                pathEnd(() -> concat(
                                        get(() -> completeJson(StatusCodes.OK, report.exports(api.status().mesh().get()))),
                                        post(() -> entity(Unmarshaller.entityToString(), this::export)))),
                                path("batch", () -> post(() -> withSizeLimit(MAX_BATCH_BODY,
                                        () -> entity(Unmarshaller.entityToString(), this::exportBatch)))),
                                path(PathMatchers.segment().slash(PathMatchers.segment()),
                                        (namespace, name) -> delete(() -> unexport(namespace, name)))))))));
    }

    private Route acceptCrl(org.apache.pekko.util.ByteString body) {
        try {
            var crl = api.status().revocations().acceptCrl(body.toArray());
            return completeJson(StatusCodes.OK, json.createObjectNode().put("crlNumber", crl.number().toString())
                    .put("revoked", crl.revokedSerials().size()));
        } catch (io.isthmus.gateway.pki.PkiException e) {
            return completeError(StatusCodes.BAD_REQUEST, "crl", "", e.getMessage());
        }
    }

    private Route readiness() {
        List<String> reasons = api.status().notReady().get();
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
        CompletionStage<ExportRegistry.Changed> reply = api.exports()
                .ask(replyTo -> new ExportRegistry.Export(export, replyTo), ASK_TIMEOUT);
        return onComplete(reply, result -> result.fold(
                failure -> completeError(StatusCodes.SERVICE_UNAVAILABLE, "", "",
                        "the export was not stored: " + rootMessage(failure)),
                changed -> {
                    ObjectNode out = report.export(changed.export(), api.status().self());
                    out.put("version", changed.version());
                    return completeJson(StatusCodes.OK, out);
                }));
    }

    /**
     * {@code POST /api/v1/exports/batch}: {@code {"exports":[<export>...],"unexports":["ns/name"...]}} as one stored
     * change, all or none ({@link ExportBatchRequest}).
     */
    private Route exportBatch(String body) {
        ExportBatchRequest batch;
        try {
            batch = ExportBatchRequest.parse(json.readTree(body), clock.instant());
        } catch (JsonProcessingException e) {
            return completeError(StatusCodes.BAD_REQUEST, "body", "", "not valid JSON: " + e.getOriginalMessage());
        } catch (InvalidFieldException e) {
            return completeError(StatusCodes.BAD_REQUEST, e.field(), e.value(), e.getMessage());
        }
        CompletionStage<ExportRegistry.ChangesReply> reply = api.exports().ask(
                replyTo -> new ExportRegistry.ApplyChanges(batch.exports(), batch.unexports(), replyTo), BATCH_TIMEOUT);
        return onComplete(reply, result -> result.fold(
                failure -> completeError(StatusCodes.SERVICE_UNAVAILABLE, "", "",
                        "the change was not stored (none of it): " + rootMessage(failure)),
                outcome -> switch (outcome) {
                    case ExportRegistry.ChangesApplied applied -> completeJson(StatusCodes.OK, json.createObjectNode()
                            .put("cluster", api.status().self().value())
                            .put("exported", applied.exported()).put("unchanged", applied.unchanged())
                            .put("withdrawn", applied.withdrawn()).put("absent", applied.absent())
                            .put("version", applied.version()));
                    case ExportRegistry.ChangesRefused refused ->
                            completeError(StatusCodes.BAD_REQUEST, refused.field(), refused.value(),
                                    "invalid " + refused.field() + " '" + refused.value() + "': " + refused.reason());
                }));
    }

    private Route unexport(String namespace, String name) {
        ServiceKey key;
        try {
            key = new ServiceKey(namespace, name);
        } catch (InvalidFieldException e) {
            return completeError(StatusCodes.BAD_REQUEST, e.field(), e.value(), e.getMessage());
        }
        CompletionStage<ExportRegistry.Unexported> reply = api.exports()
                .ask(replyTo -> new ExportRegistry.Unexport(key, replyTo), ASK_TIMEOUT);
        return onComplete(reply, result -> result.fold(
                failure -> completeError(StatusCodes.SERVICE_UNAVAILABLE, "", "",
                        "the unexport was not stored: " + rootMessage(failure)),
                unexported -> unexported.found()
                        ? completeJson(StatusCodes.OK, json.createObjectNode()
                        .put("namespace", namespace).put("name", name).put("version", unexported.version()))
                        : completeError(StatusCodes.NOT_FOUND, "service", key.toString(),
                        "no export " + key + " in cluster " + api.status().self())));
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
