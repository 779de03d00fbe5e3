package io.isthmus.gateway.pki;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.isthmus.api.ClusterId;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * The HTTPS endpoint a joining cluster redeems its token at ({@code POST /v1/join}), run by the CA holder with
 * {@code isthmus mesh serve-joins} while clusters join: the CA key stays in the CA holder's process. Each request is
 * authenticated by its token's proof ({@link JoinTokens#redeem}); the server's certificate is the CA's own short-lived
 * join-service certificate, which the joining side checks against the CA hash pinned in its token. One request at a
 * time, bodies up to 64 KiB.
 */
public final class JoinService implements AutoCloseable {
    public static final String PATH = "/v1/join";
    static final int MAX_BODY = 64 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The service's key and certificate, and the CA certificate it chains to. */
    public record Identity(PrivateKey key, X509Certificate certificate, X509Certificate ca) {
        SSLContext serverContext() {
            try {
                KeyStore store = KeyStore.getInstance("PKCS12");
                store.load(null, null);
                char[] password = new char[0];
                store.setKeyEntry("join", key, password, new Certificate[] {certificate, ca});
                KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                keys.init(store, password);
                SSLContext context = SSLContext.getInstance("TLSv1.3");
                context.init(keys.getKeyManagers(), null, null);
                return context;
            } catch (GeneralSecurityException | IOException e) {
                throw new PkiException("cannot build the join service's TLS context", e);
            }
        }
    }

    /** One answered request, for the operator's log: the cluster (when known) and the outcome. */
    public record Outcome(String cluster, boolean joined, String detail) {
    }

    private final HttpsServer server;
    private final ExecutorService executor;

    private JoinService(HttpsServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Listens on {@code address} (port 0 picks one) until {@link #close()}. */
    public static JoinService start(InetSocketAddress address, Identity identity, JoinTokens tokens, Consumer<Outcome> log) {
        Objects.requireNonNull(tokens, "tokens");
        HttpsServer server;
        try {
            server = HttpsServer.create(address, 16);
        } catch (IOException e) {
            throw new PkiException("cannot listen on " + address + " for joins: " + e.getMessage()
                    + " (is the port taken? choose another with --listen)", e);
        }
        server.setHttpsConfigurator(new HttpsConfigurator(identity.serverContext()));
        server.createContext(PATH, exchange -> answer(exchange, tokens, log));
        ExecutorService executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("join-service").factory());
        server.setExecutor(executor);
        server.start();
        return new JoinService(server, executor);
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    private static void answer(HttpExchange exchange, JoinTokens tokens, Consumer<Outcome> log) throws IOException {
        // logged only once the answer is out: whoever counts joins from the log may stop the service right away
        Outcome outcome = answer(exchange, tokens);
        if (outcome != null) {
            log.accept(outcome);
        }
    }

    private static Outcome answer(HttpExchange exchange, JoinTokens tokens) throws IOException {
        try (exchange) {
            if (!"POST".equals(exchange.getRequestMethod())) {
                reply(exchange, 405, error("use POST " + PATH));
                return null;
            }
            JoinTokens.Request request;
            try {
                request = parse(exchange.getRequestBody());
            } catch (IllegalArgumentException | IOException e) {
                reply(exchange, 400, error("malformed join request: " + e.getMessage()));
                return new Outcome("?", false, "malformed request: " + e.getMessage());
            }
            try {
                JoinTokens.Grant grant = tokens.redeem(request);
                ObjectNode body = JSON.createObjectNode()
                        .put("cluster", grant.cluster().value())
                        .put("certificate", grant.certificatePem())
                        .put("ca", grant.caCertificatePem())
                        .put("crl", grant.crlPem());
                var peers = body.putArray("peers");
                grant.peers().forEach(peers::add);
                reply(exchange, 200, body);
                return new Outcome(grant.cluster().value(), true, "token " + request.id());
            } catch (JoinRefusedException e) {
                reply(exchange, 403, error(e.getMessage()));
                return new Outcome(request.cluster().value(), false, e.getMessage());
            } catch (PkiException e) {
                reply(exchange, 500, error("the CA could not issue the certificate: " + e.getMessage()));
                return new Outcome(request.cluster().value(), false, e.getMessage());
            }
        }
    }

    private static JoinTokens.Request parse(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) {
            throw new IllegalArgumentException("the body is over " + MAX_BODY + " bytes");
        }
        JsonNode node = JSON.readTree(body);
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("the body is not a JSON object");
        }
        return new JoinTokens.Request(field(node, "id"), ClusterId.of(field(node, "cluster")),
                Base64.getDecoder().decode(field(node, "csr")), Base64.getDecoder().decode(field(node, "proof")));
    }

    private static String field(JsonNode node, String name) {
        JsonNode value = node.get(name);
        if (value == null || !value.isTextual()) {
            throw new IllegalArgumentException("field " + name + " is missing or not a string");
        }
        return value.asText();
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    private static void reply(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        // up to a second for an answer still being written to reach its client
        server.stop(1);
        executor.shutdownNow();
    }
}
