package io.isthmus.gateway.admin;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.pki.AdminIdentity;
import io.isthmus.gateway.pki.AdminTrust;
import io.isthmus.gateway.pki.CertificateRejectedException;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * Stands in front of every admin request, JSON and gRPC alike: checks where it came from (Host, Origin,
 * content type: a browser page must not be able to drive the API), who sent it (a client certificate of the
 * clusterset CA over TLS, else a bearer token) and whether their role may do it; writes one audit line per mutating
 * call and per refused certificate. Refusals are counted by reason.
 * <p>
 * A presented client certificate decides alone: a good admin certificate is its user and role, any other (a
 * gateway's peering certificate, revoked, expired) is a 401 even if a token comes with it, so a credential that was
 * taken away is never silently replaced by another.
 */
public final class AdminGuard {
    private static final Logger AUDIT = LoggerFactory.getLogger("isthmus.audit");
    private static final String GRPC_PREFIX = "/" + io.isthmus.api.grpc.ipam.Ipam.name + "/";
    private static final org.apache.pekko.http.javadsl.model.ContentType GRPC_CONTENT_TYPE =
            ContentTypes.create(org.apache.pekko.http.javadsl.model.MediaTypes.applicationBinary("grpc", false));

    private final AdminAuthSettings settings;
    private final AdminTokens tokens;
    private final Optional<AdminTrust> certificates;
    private final Metrics.Counter denied;
    private final Metrics.Counter mutations;

    /** A guard that knows tokens only (an admin API served over plain HTTP). */
    public AdminGuard(AdminAuthSettings settings, AdminTokens tokens, Metrics metrics) {
        this(settings, tokens, Optional.empty(), metrics);
    }

    /** @param certificates how to read a caller's client certificate, when the API is served over TLS */
    public AdminGuard(AdminAuthSettings settings, AdminTokens tokens, Optional<AdminTrust> certificates, Metrics metrics) {
        this.settings = settings;
        this.tokens = tokens;
        this.certificates = certificates;
        this.denied = metrics.counter("isthmus_admin_requests_denied_total",
                "Admin API requests refused, by reason: unauthenticated (401), forbidden (403: the role may not), "
                        + "bad-host, cross-origin, content-type.", "reason");
        this.mutations = metrics.counter("isthmus_admin_mutations_total",
                "Mutating admin API calls that passed the checks, by the caller's role and the answer's status class.",
                "role", "status");
    }

    public AdminAuthSettings settings() {
        return settings;
    }

    /** What {@code method path} needs: empty for the open probes. */
    static Optional<AdminRole> requiredRole(String method, String path, boolean metricsOpen) {
        if (path.equals("/healthz") || path.equals("/readyz")) {
            return Optional.empty();
        }
        if (path.equals("/metrics")) {
            return metricsOpen ? Optional.empty() : Optional.of(AdminRole.VIEWER);
        }
        if (path.startsWith(GRPC_PREFIX)) {
            return Optional.of(switch (path.substring(GRPC_PREFIX.length())) {
                case "ListPools", "ListLeases", "GetAddressPlan" -> AdminRole.VIEWER;
                case "Allocate", "Release" -> AdminRole.OPERATOR;
                default -> AdminRole.ADMIN; // CreatePool, Reclaim, ClaimSegment, and whatever is added later
            });
        }
        if (method.equals("GET") || method.equals("HEAD")) {
            return Optional.of(AdminRole.VIEWER);
        }
        if (path.equals("/api/v1/exports") || path.startsWith("/api/v1/exports/")
                || path.matches("/api/v1/ipam/pools/[^/]+/(allocations|releases)")) {
            return Optional.of(AdminRole.OPERATOR);
        }
        return Optional.of(AdminRole.ADMIN); // pools, reclaim, plan segments, registrations, CRL
    }

    /** Checks {@code request}, then hands it to {@code next} or answers the refusal itself. */
    public CompletionStage<HttpResponse> handle(HttpRequest request, Materializer materializer,
                                                Function<HttpRequest, CompletionStage<HttpResponse>> next) {
        String method = request.method().value();
        String path = request.getUri().path();
        boolean grpc = path.startsWith(GRPC_PREFIX);
        boolean mutating = !grpc && !(method.equals("GET") || method.equals("HEAD"));

        Optional<String> badOrigin = originProblem(request);
        if (badOrigin.isPresent()) {
            return refuse(StatusCodes.FORBIDDEN, badOrigin.get().startsWith("Host") ? "bad-host" : "cross-origin",
                    badOrigin.get(), request, materializer, Optional.empty());
        }
        if (mutating && !request.entity().isKnownEmpty()) {
            String expected = path.equals("/api/v1/mesh/crl") ? "application/pkix-crl" : "application/json";
            String given = request.entity().getContentType().mediaType().toString();
            if (!given.equals(expected)) {
                return refuse(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "content-type",
                        "Content-Type must be " + expected + ", not " + given, request, materializer, Optional.empty());
            }
        }
        Optional<AdminRole> required = requiredRole(method, path, settings.metricsOpen());
        Optional<AdminCaller> caller = Optional.empty();
        if (settings.enabled() && required.isPresent()) {
            Optional<X509Certificate> presented = clientCertificate(request);
            if (presented.isPresent()) {
                try {
                    caller = Optional.of(certificateCaller(presented.get()));
                } catch (CertificateRejectedException | InvalidFieldException e) {
                    String why = "client certificate refused: " + e.getMessage();
                    AUDIT.warn("admin call: {} from {}: {} {}", why, remote(request), method, path);
                    return refuse(StatusCodes.UNAUTHORIZED, "unauthenticated", why, request, materializer, Optional.empty());
                }
            } else {
                caller = bearer(request).flatMap(tokens::authenticate);
            }
            if (caller.isEmpty()) {
                return refuse(StatusCodes.UNAUTHORIZED, "unauthenticated",
                        "authentication required: give a token (isthmus ... --token, or a credentials file; "
                                + "`isthmus token create` makes one)" + (certificates.isPresent()
                                ? " or a client certificate (`isthmus mesh issue --role ROLE --user NAME`)" : ""), request, materializer, Optional.empty());
            }
            if (!caller.get().role().includes(required.get())) {
                return refuse(StatusCodes.FORBIDDEN, "forbidden", "role " + caller.get().role().label()
                        + " may not " + method + " " + path + ": it needs " + required.get().label(), request, materializer, caller);
            }
        }
        CompletionStage<HttpResponse> answer = next.apply(request);
        if (!mutating && !(grpc && required.map(r -> r != AdminRole.VIEWER).orElse(false))) {
            return answer;
        }
        Optional<AdminCaller> who = caller;
        return answer.whenComplete((response, failure) -> {
            int status = failure != null ? 500 : response.status().intValue();
            mutations.inc(who.map(c -> c.role().label()).orElse("none"), (status / 100) + "xx");
            audit(request, who, status, "");
        });
    }

    /** The leaf the caller presented in the TLS handshake, if the API runs over TLS and it presented one. */
    private Optional<X509Certificate> clientCertificate(HttpRequest request) {
        if (certificates.isEmpty()) {
            return Optional.empty();
        }
        return request.getAttribute(AttributeKeys.sslSession).flatMap(info -> {
            try {
                var chain = info.getSession().getPeerCertificates();
                return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? Optional.of(leaf) : Optional.empty();
            } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
                return Optional.empty();
            }
        });
    }

    /** Checked with the CRL in force on every request, so a revocation applies to connections already open. */
    private AdminCaller certificateCaller(X509Certificate leaf) throws CertificateRejectedException {
        AdminIdentity identity = certificates.orElseThrow().check(leaf);
        AdminRole role = AdminRole.parse("role of certificate serial 0x" + leaf.getSerialNumber().toString(16),
                identity.role());
        return new AdminCaller(identity.user(), role, "certificate 0x" + leaf.getSerialNumber().toString(16));
    }

    private static String remote(HttpRequest request) {
        return request.getAttribute(AttributeKeys.remoteAddress)
                .flatMap(a -> a.getAddress().map(java.net.InetAddress::getHostAddress)).orElse("?");
    }

    private CompletionStage<HttpResponse> refuse(StatusCode status, String reason, String message,
                                                 HttpRequest request, Materializer materializer,
                                                 Optional<AdminCaller> caller) {
        denied.inc(reason);
        if (!request.method().equals(HttpMethods.GET) && !request.method().equals(HttpMethods.HEAD)) {
            audit(request, caller, status.intValue(), reason);
        }
        request.discardEntityBytes(materializer);
        if (request.getUri().path().startsWith(GRPC_PREFIX)) {
            return CompletableFuture.completedFuture(grpcRefusal(status, message));
        }
        HttpResponse response = HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(
                ContentTypes.APPLICATION_JSON, "{\"error\": " + quote(message) + ", \"reason\": \"" + reason + "\"}\n"));
        if (status.equals(StatusCodes.UNAUTHORIZED)) {
            response = response.addHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"isthmus\""));
        }
        return CompletableFuture.completedFuture(response);
    }

    /**
     * A gRPC client reads the outcome from grpc-status, not the HTTP status: answer "trailers only" (HTTP 200, no
     * body) with UNAUTHENTICATED (16) or PERMISSION_DENIED (7), as gRPC's own servers do.
     */
    private static HttpResponse grpcRefusal(StatusCode status, String message) {
        String code = status.equals(StatusCodes.UNAUTHORIZED) ? "16" : "7";
        return HttpResponse.create().withStatus(StatusCodes.OK)
                .addHeader(RawHeader.create("grpc-status", code))
                .addHeader(RawHeader.create("grpc-message",
                        java.net.URLEncoder.encode(message, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20")))
                .withEntity(HttpEntities.create(GRPC_CONTENT_TYPE, new byte[0]));
    }

    /**
     * The Host must be this machine as an address (or localhost) or a configured name, so that a page on another
     * site cannot reach the API through DNS rebinding; an Origin, when a browser sends one, must be the API itself.
     */
    private Optional<String> originProblem(HttpRequest request) {
        Optional<String> host = header(request, "host").or(() -> authority(request));
        if (host.isEmpty()) {
            return Optional.of("Host header missing");
        }
        String hostName = hostPart(host.get());
        if (!(isAddressLiteral(hostName) || hostName.equals("localhost") || settings.allowedHosts().contains(hostName))) {
            return Optional.of("Host " + host.get() + " is not an address of this gateway nor in "
                    + "isthmus.admin.auth.allowed-hosts");
        }
        Optional<String> origin = header(request, "origin");
        if (origin.isPresent()) {
            String o = origin.get().toLowerCase(Locale.ROOT);
            if (!(o.equals("http://" + host.get().toLowerCase(Locale.ROOT))
                    || o.equals("https://" + host.get().toLowerCase(Locale.ROOT)))) {
                return Optional.of("cross-origin request from " + origin.get() + " refused");
            }
        }
        return Optional.empty();
    }

    /** HTTP/2 (the gRPC service) carries the host as :authority, which becomes the request URI's authority. */
    private static Optional<String> authority(HttpRequest request) {
        var uri = request.getUri();
        String address = uri.getHost().address();
        if (address.isEmpty()) {
            return Optional.empty();
        }
        String literal = address.contains(":") ? "[" + address + "]" : address;
        return Optional.of(uri.port() > 0 ? literal + ":" + uri.port() : literal);
    }

    private static String hostPart(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end < 0 ? h : h.substring(1, end);
        }
        int colon = h.lastIndexOf(':');
        return colon < 0 ? h : h.substring(0, colon);
    }

    private static boolean isAddressLiteral(String host) {
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (host.contains(":") && host.matches("[0-9a-f:.]+"));
    }

    private static Optional<String> bearer(HttpRequest request) {
        return header(request, "authorization")
                .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(v -> v.substring(7).strip());
    }

    private static Optional<String> header(HttpRequest request, String name) {
        return request.getHeader(name).map(HttpHeader::value);
    }

    private void audit(HttpRequest request, Optional<AdminCaller> caller, int status, String refusal) {
        String remote = remote(request);
        AUDIT.info("admin call: user={} role={} credential={} remote={} {} {} -> {}{}",
                caller.map(AdminCaller::user).orElse(settings.enabled() ? "-" : "(auth off)"),
                caller.map(c -> c.role().label()).orElse("-"), caller.map(AdminCaller::credential).orElse("-"),
                remote, request.method().value(), request.getUri().path(), status,
                refusal.isEmpty() ? "" : " refused: " + refusal);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
