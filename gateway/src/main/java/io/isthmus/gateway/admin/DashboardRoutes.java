package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The read-only dashboard: its page, script and style sheet (classpath resources under {@code dashboard/}, nothing
 * fetched from elsewhere) and {@code /api/v1/events}, a Server-Sent Events stream of the status JSON. Each stream reads
 * the status once per {@link #POLL} and sends it only when it changed; it stops when its client goes (Pekko HTTP
 * cancels the response's source when the connection closes), and at most {@link #MAX_STREAMS} run at once.
 * Both need the viewer role, as every GET does ({@link AdminGuard#requiredRole}).
 */
final class DashboardRoutes extends AllDirectives {
    private static final Logger log = LoggerFactory.getLogger(DashboardRoutes.class);
    static final Duration POLL = Duration.ofSeconds(1);
    /** Sent when nothing changed for this long, so that idle timeouts on the way keep the stream open. */
    static final Duration HEARTBEAT = Duration.ofSeconds(15);
    static final int MAX_STREAMS = 16;

    /**
     * The page runs only its own script and style and talks only to this origin; it may not be framed (the data is
     * the operator's, and a frame could be dressed up to mislead) and sends no Referer anywhere.
     */
    private static final List<HttpHeader> PAGE_HEADERS = List.of(
            RawHeader.create("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "
                    + "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
            RawHeader.create("X-Content-Type-Options", "nosniff"),
            RawHeader.create("X-Frame-Options", "DENY"),
            RawHeader.create("Referrer-Policy", "no-referrer"),
            RawHeader.create("Cache-Control", "no-cache"));

    private enum Tick { INSTANCE }

    private final Supplier<JsonNode> status;
    private final AtomicInteger openStreams = new AtomicInteger();
    private final byte[] page = resource("index.html");
    private final byte[] script = resource("dashboard.js");
    private final byte[] style = resource("dashboard.css");
    private final byte[] icon = resource("favicon.svg");

    /** @param status the status JSON, as {@code /api/v1/status} answers it */
    DashboardRoutes(Supplier<JsonNode> status) {
        this.status = status;
    }

    /** Event streams running now. */
    int openStreams() {
        return openStreams.get();
    }

    /** {@code /dashboard} and its {@code dashboard.js}, {@code dashboard.css} and {@code favicon.svg}. */
    Route pages() {
        return pathPrefix("dashboard", () -> concat(
                pathEnd(() -> get(() -> file(page, ContentTypes.TEXT_HTML_UTF8))),
                path(PathMatchers.segment("dashboard.js"), () -> get(() -> file(script,
                        ContentTypes.create(MediaTypes.APPLICATION_JAVASCRIPT, HttpCharsets.UTF_8)))),
                path(PathMatchers.segment("dashboard.css"), () -> get(() -> file(style,
                        ContentTypes.create(MediaTypes.TEXT_CSS, HttpCharsets.UTF_8)))),
                path(PathMatchers.segment("favicon.svg"), () -> get(() -> file(icon,
                        ContentTypes.create(MediaTypes.IMAGE_SVG_XML))))));
    }

    /** {@code /api/v1/events}: the caller has matched {@code /api/v1}. */
    Route events() {
        return path("events", () -> get(() -> {
            if (openStreams.get() >= MAX_STREAMS) {
                return complete(HttpResponse.create().withStatus(StatusCodes.SERVICE_UNAVAILABLE)
                        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, "{\"error\": \"" + MAX_STREAMS
                                + " event streams are open already; close a dashboard or try again later\"}\n")));
            }
            return completeOK(statusEvents(), EventStreamMarshalling.toEventStream());
        }));
    }

    /** The status as an event whenever it differs from the last one sent; the first at once. */
    private Source<ServerSentEvent, NotUsed> statusEvents() {
        return Source.tick(Duration.ZERO, POLL, Tick.INSTANCE)
                .map(tick -> currentStatus())
                .statefulMap(() -> "", (last, now) -> Pair.create(now, now.equals(last) ? "" : now), last -> Optional.empty())
                .filter(text -> !text.isEmpty())
                .map(text -> text.startsWith("{\"error\"") ? ServerSentEvent.create(text, "unavailable")
                        : ServerSentEvent.create(text, "status"))
                .keepAlive(HEARTBEAT, ServerSentEvent::heartbeat)
                .watchTermination((notUsed, done) -> {
                    openStreams.incrementAndGet();
                    done.whenComplete((ok, failure) -> openStreams.decrementAndGet());
                    return NotUsed.getInstance();
                });
    }

    /** One line of JSON; a part that fails to report becomes an {@code unavailable} event, the stream goes on. */
    private String currentStatus() {
        try {
            return status.get().toString();
        } catch (RuntimeException e) {
            log.warn("status for the dashboard's event stream failed", e);
            return "{\"error\": " + com.fasterxml.jackson.databind.node.TextNode.valueOf(
                    "the status could not be read: " + e).toString() + "}";
        }
    }

    private Route file(byte[] content, ContentType type) {
        return complete(HttpResponse.create().withEntity(HttpEntities.create(type, content)).addHeaders(PAGE_HEADERS));
    }

    private static byte[] resource(String name) {
        try (InputStream in = DashboardRoutes.class.getResourceAsStream("/dashboard/" + name)) {
            if (in == null) {
                throw new IllegalStateException("dashboard/" + name + " is missing from the classpath");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read dashboard/" + name, e);
        }
    }
}
