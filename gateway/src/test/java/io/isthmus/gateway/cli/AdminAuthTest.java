package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.ipam.AllocateRequest;
import io.isthmus.api.grpc.ipam.IpamClient;
import io.isthmus.api.grpc.ipam.ListPoolsRequest;
import io.isthmus.api.grpc.ipam.Owner;
import io.isthmus.api.grpc.ipam.PoolSpec;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin API as an attacker meets it: one gateway process with auth on (the default), tokens of each role made
 * with `isthmus token create`, and requests written byte by byte on a socket, so that Host, Origin and Content-Type
 * are exactly what a hostile caller or a browser page would send.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminAuthTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Every mutating JSON route, with a body that would succeed for a caller allowed to send it. */
    private record Route(String method, String path, String contentType, String body, String leastRole) {
    }

    private Path dir;
    private Path config;
    private GatewayProcess gateway;
    private int port;
    private final Map<String, String> tokens = new LinkedHashMap<>();
    private String crlPem;
    private List<Route> mutating;

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        int base = FreePorts.block(4);
        port = base;
        TestPki pki = new TestPki(dir.resolve("ca"));
        pki.issue("east", dir.resolve("data").resolve("tls"));
        pki.issue("rogue", dir.resolve("rogue-tls"));
        crlPem = pki.ca().revoke(ClusterId.of("rogue")).pem();
        config = dir.resolve("gateway.conf");
        Files.writeString(config, """
                isthmus {
                  cluster-id = east
                  data-dir = "data"
                  admin.port = %d
                  peering.port = %d
                  dns.port = %d
                  replicas.port = %d
                  plan {
                    members = [east]
                    supernets.pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}]
                  }
                }
                """.formatted(base, base + 1, base + 2, base + 3));
        for (String role : List.of("viewer", "operator", "admin")) {
            Cli made = Cli.run("token", "create", "--config", config.toString(), "--role", role, "--user", role + "-user");
            assertEquals(0, made.exitCode(), made::toString);
            tokens.put(role, made.out().strip());
        }
        gateway = GatewayProcess.start("east", config, port, dir.resolve("gateway.log"),
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        gateway.awaitReady(Duration.ofSeconds(90)); // /readyz answers without a token

        // Some state to protect: a segment, a pool, a lease and an export, made by the admin.
        ok("admin", "POST", "/api/v1/ipam/segments", "{\"kind\": \"pod\"}");
        ok("admin", "POST", "/api/v1/ipam/pools", "{\"name\": \"pods\", \"cidrs\": [\"10.128.0.0/24\"]}");
        ok("admin", "POST", "/api/v1/ipam/registrations", "{\"kind\": \"pod\", \"cidr\": \"10.250.0.0/16\"}");
        ok("admin", "POST", "/api/v1/ipam/pools/pods/allocations",
                "{\"owner\": {\"namespace\": \"shop\", \"name\": \"cart-1\", \"uid\": \"u1\"}}");
        ok("admin", "POST", "/api/v1/exports", exportBody("cart", "10.96.0.10"));

        mutating = List.of(
                new Route("POST", "/api/v1/exports", "application/json", exportBody("evil", "169.254.169.254"), "operator"),
                new Route("DELETE", "/api/v1/exports/shop/cart", null, "", "operator"),
                new Route("POST", "/api/v1/ipam/pools/pods/allocations", "application/json",
                        "{\"owner\": {\"namespace\": \"evil\", \"name\": \"x\", \"uid\": \"e\"}}", "operator"),
                new Route("POST", "/api/v1/ipam/pools/pods/releases", "application/json",
                        "{\"owner\": {\"namespace\": \"shop\", \"name\": \"cart-1\", \"uid\": \"u1\"}}", "operator"),
                new Route("POST", "/api/v1/ipam/pools", "application/json",
                        "{\"name\": \"evil\", \"cidrs\": [\"10.128.1.0/24\"]}", "admin"),
                new Route("POST", "/api/v1/ipam/pools/pods/reclaim", "application/json", "{}", "admin"),
                new Route("POST", "/api/v1/ipam/segments", "application/json", "{\"kind\": \"pod\"}", "admin"),
                new Route("POST", "/api/v1/ipam/registrations", "application/json",
                        "{\"kind\": \"pod\", \"cidr\": \"10.244.0.0/16\"}", "admin"),
                new Route("DELETE", "/api/v1/ipam/registrations?kind=pod&cidr=10.250.0.0/16", null, "", "admin"),
                new Route("POST", "/api/v1/mesh/crl", "application/pkix-crl", crlPem, "admin"));
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    @Order(1)
    void withoutATokenEveryMutatingRouteAnswers401AndChangesNothing() throws Exception {
        String before = state();
        for (Route route : mutating) {
            Reply reply = send(route.method(), route.path(), headers(null, route.contentType()), route.body());
            assertEquals(401, reply.status(), route + " -> " + reply);
            assertTrue(reply.headers().contains("www-authenticate: bearer"), reply.headers());
        }
        Reply forged = send("POST", "/api/v1/exports", headers("isth_000000000000_" + "A".repeat(43), "application/json"),
                exportBody("evil", "10.0.0.66"));
        assertEquals(401, forged.status(), "a made-up token is no token: " + forged);
        assertEquals(before, state());
    }

    @Test
    @Order(2)
    void aViewerReadsEverythingButEveryMutatingRouteAnswers403AndChangesNothing() throws Exception {
        String before = state();
        for (String read : List.of("/api/v1/status", "/api/v1/exports", "/api/v1/imports", "/api/v1/ipam/pools",
                "/api/v1/ipam/segments", "/api/v1/ipam/pools/pods/leases", "/metrics")) {
            assertEquals(200, send("GET", read, headers(tokens.get("viewer"), null), "").status(), read);
        }
        for (Route route : mutating) {
            Reply reply = send(route.method(), route.path(), headers(tokens.get("viewer"), route.contentType()), route.body());
            assertEquals(403, reply.status(), route + " -> " + reply);
            assertTrue(reply.body().contains("needs " + route.leastRole()), reply.body());
        }
        assertEquals(before, state());
    }

    @Test
    @Order(3)
    void anOperatorMayChangeExportsAndAllocationsButNotPoolsPlanOrRevocation() throws Exception {
        String before = state();
        for (Route route : mutating) {
            if (route.leastRole().equals("admin")) {
                Reply reply = send(route.method(), route.path(), headers(tokens.get("operator"), route.contentType()),
                        route.body());
                assertEquals(403, reply.status(), route + " -> " + reply);
            }
        }
        assertEquals(before, state());
        assertEquals(200, call("operator", "POST", "/api/v1/exports", exportBody("catalog", "10.96.0.11")).status());
        assertEquals(200, call("operator", "DELETE", "/api/v1/exports/shop/catalog", null).status());
        assertEquals(200, call("admin", "POST", "/api/v1/mesh/crl", crlPem, "application/pkix-crl").status(),
                "the admin may give the gateway a CRL");
        JsonNode revocation = JSON.readTree(call("viewer", "GET", "/api/v1/status", null).body()).path("revocation");
        assertEquals(2, revocation.path("crlNumber").asLong(), revocation.toString());
        assertEquals(false, revocation.path("crlStale").asBoolean(), revocation.toString());
    }

    @Test
    @Order(4)
    void probesAreOpenAndMetricsNeedAToken() throws Exception {
        assertEquals(200, send("GET", "/healthz", headers(null, null), "").status());
        assertEquals(200, send("GET", "/readyz", headers(null, null), "").status());
        assertEquals(401, send("GET", "/metrics", headers(null, null), "").status());
        assertEquals(401, send("GET", "/api/v1/status", headers(null, null), "").status());
    }

    @Test
    @Order(5)
    void aBrowserPageOnAnotherSiteCannotDriveTheApiEvenWithTheAdminsToken() throws Exception {
        String before = state();
        List<String> crossSite = new ArrayList<>(headers(tokens.get("admin"), "application/json"));
        crossSite.add("Origin: http://evil.example");
        Reply cross = send("POST", "/api/v1/exports", crossSite, exportBody("evil", "10.0.0.66"));
        assertEquals(403, cross.status(), cross.toString());
        assertTrue(cross.body().contains("cross-origin"), cross.body());

        // DNS rebinding: the page's own name resolves to 127.0.0.1, so the browser sends Host: evil.example.
        List<String> rebound = new ArrayList<>(List.of("Host: evil.example:" + port,
                "Authorization: Bearer " + tokens.get("admin"), "Content-Type: application/json"));
        Reply rebinding = send("POST", "/api/v1/exports", rebound, exportBody("evil", "10.0.0.66"));
        assertEquals(403, rebinding.status(), rebinding.toString());
        assertTrue(rebinding.body().contains("Host evil.example"), rebinding.body());

        // A form post (text/plain needs no CORS preflight) is refused for its content type.
        Reply form = send("POST", "/api/v1/exports", headers(tokens.get("admin"), "text/plain"), exportBody("evil", "10.0.0.66"));
        assertEquals(415, form.status(), form.toString());
        assertEquals(before, state());

        List<String> sameOrigin = new ArrayList<>(headers(tokens.get("viewer"), null));
        sameOrigin.add("Origin: http://127.0.0.1:" + port);
        assertEquals(200, send("GET", "/api/v1/status", sameOrigin, "").status(), "the API's own origin is fine");
    }

    @Test
    @Order(6)
    void theGrpcIpamServiceOnTheAdminPortChecksTheSameTokensAndRoles() throws Exception {
        ActorSystem system = ActorSystem.create("grpc-caller", com.typesafe.config.ConfigFactory.parseString(
                "pekko.loglevel = WARNING, pekko.http.client.log-unencrypted-network-bytes = off"));
        try {
            IpamClient client = IpamClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system)
                    .withTls(false), system);
            String before = state();
            ExecutionException anonymous = assertThrows(ExecutionException.class, () -> client.createPool()
                    .invoke(PoolSpec.newBuilder().setName("evil").addCidrs("10.128.2.0/24").build())
                    .toCompletableFuture().get(20, TimeUnit.SECONDS));
            assertTrue(anonymous.getCause().getMessage().contains("UNAUTHENTICATED"), anonymous.getCause().getMessage());
            assertEquals("pods", client.listPools().addHeader("authorization", "Bearer " + tokens.get("viewer"))
                    .invoke(ListPoolsRequest.getDefaultInstance())
                    .toCompletableFuture().get(20, TimeUnit.SECONDS).getPools(0).getSpec().getName());
            ExecutionException forbidden = assertThrows(ExecutionException.class, () -> client.allocate()
                    .addHeader("authorization", "Bearer " + tokens.get("viewer")).invoke(allocation("g1"))
                    .toCompletableFuture().get(20, TimeUnit.SECONDS));
            assertTrue(forbidden.getCause().getMessage().contains("PERMISSION_DENIED"), forbidden.getCause().getMessage());
            assertEquals(before, state());
            var lease = client.allocate().addHeader("authorization", "Bearer " + tokens.get("operator"))
                    .invoke(allocation("g2")).toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertTrue(lease.getAddresses(0).getAddress().startsWith("10.128.0."), lease.toString());
        } finally {
            system.terminate();
        }
    }

    @Test
    @Order(7)
    void theCliSaysWhatIsMissingAndWhatRoleIsNeeded() {
        Cli anonymous = Cli.run("status", "--admin", gateway.adminUrl(), "--credentials", dir.resolve("none").toString());
        assertEquals(2, anonymous.exitCode(), "a named credentials file that is missing is bad input: " + anonymous);
        assertTrue(anonymous.err().contains("--credentials") && anonymous.err().contains("no such file"), anonymous::toString);

        Cli noToken = Cli.run("status", "--admin", gateway.adminUrl(), "--token", "");
        assertEquals(1, noToken.exitCode(), noToken::toString);
        assertTrue(noToken.err().contains("wants a token"), noToken::toString);

        Cli viewerExports = Cli.run("export", "--admin", gateway.adminUrl(), "--token", tokens.get("viewer"),
                "--namespace", "shop", "--name", "evil", "--port", "80/TCP", "--ip", "10.96.0.66");
        assertEquals(1, viewerExports.exitCode(), viewerExports::toString);
        assertTrue(viewerExports.err().contains("role viewer may not POST /api/v1/exports: it needs operator"),
                viewerExports::toString);

        Cli viewerReads = Cli.run("status", "--admin", gateway.adminUrl(), "--token", tokens.get("viewer"));
        assertEquals(0, viewerReads.exitCode(), viewerReads::toString);
    }

    @Test
    @Order(8)
    void aRevokedTokenIsRefusedByTheRunningGatewayAtOnce() throws Exception {
        String id = tokens.get("operator").split("_")[1];
        assertEquals(200, call("operator", "GET", "/api/v1/status", null).status());
        Cli revoke = Cli.run("token", "revoke", "--config", config.toString(), id);
        assertEquals(0, revoke.exitCode(), revoke::toString);
        assertEquals(401, call("operator", "GET", "/api/v1/status", null).status());
        Cli list = Cli.run("token", "list", "--config", config.toString());
        assertTrue(!list.out().contains(id) && list.out().contains("viewer-user"), list::toString);
        assertTrue(!Files.readString(config.resolveSibling("data").resolve("admin-tokens.json"))
                .contains(secretOf(tokens.get("admin"))), "the token file holds hashes, never a secret");
    }

    @Test
    @Order(9)
    void everyRefusalIsCountedAndEveryMutatingCallAudited() throws Exception {
        String metrics = call("viewer", "GET", "/metrics", null).body();
        for (String reason : List.of("unauthenticated", "forbidden", "cross-origin", "bad-host", "content-type")) {
            assertTrue(counter(metrics, "isthmus_admin_requests_denied_total{reason=\"" + reason + "\"}") >= 1,
                    reason + " in\n" + metrics);
        }
        // Test 1 alone made 10 refusals without a token; test 2, 9 forbidden ones.
        assertTrue(counter(metrics, "isthmus_admin_requests_denied_total{reason=\"unauthenticated\"}") >= 10, metrics);
        assertTrue(counter(metrics, "isthmus_admin_requests_denied_total{reason=\"forbidden\"}") >= 9 + 5, metrics);
        assertTrue(counter(metrics, "isthmus_admin_mutations_total{role=\"operator\",status=\"2xx\"}") >= 3, metrics);

        String log = Files.readString(gateway.log());
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("user=operator-user")
                && l.contains("role=operator") && l.contains("POST /api/v1/exports -> 200")), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("user=viewer-user")
                && l.contains("POST /api/v1/ipam/pools -> 403 refused: forbidden")), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("user=-")
                && l.contains("DELETE /api/v1/exports/shop/cart -> 401 refused: unauthenticated")), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains(".Ipam/Allocate -> 200")
                && l.contains("role=operator")), "gRPC changes are audited too:\n" + log);
    }

    @Test
    @Order(10)
    void theDashboardAndItsEventStreamNeedAViewerAndTakeNoTokenFromTheUrl() throws Exception {
        assertEquals(401, send("GET", "/dashboard", headers(null, null), "").status());
        assertEquals(401, send("GET", "/dashboard/dashboard.js", headers(null, null), "").status());
        assertEquals(401, send("GET", "/api/v1/events", headers(null, null), "").status());
        // A token in the URL would end up in the browser's history and in proxies' logs: it is not a credential.
        assertEquals(401, send("GET", "/dashboard?token=" + tokens.get("viewer"), headers(null, null), "").status());
        assertEquals(401, send("GET", "/api/v1/events?token=" + tokens.get("viewer"), headers(null, null), "").status());

        Reply page = send("GET", "/dashboard", headers(tokens.get("viewer"), null), "");
        assertEquals(200, page.status(), page.toString());
        assertTrue(page.headers().contains("content-type: text/html"), page.headers());
        assertTrue(page.headers().contains("content-security-policy: default-src 'none'; script-src 'self'"), page.headers());
        assertTrue(page.body().contains("<script src=\"/dashboard/dashboard.js\""), page.body());
        assertEquals(200, send("GET", "/dashboard/dashboard.js", headers(tokens.get("viewer"), null), "").status());

        // A viewer's stream: the status at once, as an event; closing the connection ends the stream on the gateway.
        try (Socket socket = openEventStream(tokens.get("viewer"))) {
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            assertTrue(status.startsWith("HTTP/1.1 200"), status);
            List<String> event = new ArrayList<>();
            // Up to the blank line that ends the first event.
            for (String line = in.readLine(); line != null
                    && !(line.isEmpty() && event.stream().anyMatch(l -> l.startsWith("data:"))); line = in.readLine()) {
                if (line.startsWith("event:") || line.startsWith("data:") || line.toLowerCase(java.util.Locale.ROOT).startsWith("content-type:")) {
                    event.add(line);
                }
            }
            assertTrue(event.contains("event: status") || event.contains("event:status"), event.toString());
            assertTrue(event.stream().anyMatch(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-type: text/event-stream")), event.toString());
            String data = event.stream().filter(l -> l.startsWith("data:")).findFirst().orElseThrow().substring(5).strip();
            assertEquals("east", JSON.readTree(data).path("clusterId").asText(), data);
            assertEquals(1, counter(call("viewer", "GET", "/metrics", null).body(), "isthmus_admin_event_streams"));
        }
        assertEquals(0, awaitEventStreams(0), "the gateway stops a stream whose client went");

        // At most 16 at once: the 17th is refused until one goes.
        List<Socket> streams = new ArrayList<>();
        try {
            for (int i = 0; i < 16; i++) {
                Socket stream = openEventStream(tokens.get("viewer"));
                streams.add(stream);
                String status = new java.io.BufferedReader(new java.io.InputStreamReader(stream.getInputStream(),
                        StandardCharsets.US_ASCII)).readLine();
                assertTrue(status.startsWith("HTTP/1.1 200"), "stream " + i + ": " + status);
            }
            assertEquals(16, awaitEventStreams(16));
            Reply refused = send("GET", "/api/v1/events", headers(tokens.get("viewer"), null), "");
            assertEquals(503, refused.status(), refused.toString());
            assertTrue(refused.body().contains("16 event streams are open"), refused.body());
        } finally {
            for (Socket stream : streams) {
                stream.close();
            }
        }
        assertEquals(0, awaitEventStreams(0), "every stream ends with its connection");
    }

    private Socket openEventStream(String token) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 3000);
        socket.setSoTimeout(20_000);
        StringBuilder head = new StringBuilder("GET /api/v1/events HTTP/1.1\r\n");
        headers(token, null).forEach(h -> head.append(h).append("\r\n"));
        head.append("Accept: text/event-stream\r\n\r\n");
        socket.getOutputStream().write(head.toString().getBytes(StandardCharsets.US_ASCII));
        return socket;
    }

    /** isthmus_admin_event_streams once it is {@code expected}, or what it is after 15 s. */
    private double awaitEventStreams(int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        double open = counter(call("viewer", "GET", "/metrics", null).body(), "isthmus_admin_event_streams");
        while (open != expected && System.nanoTime() < deadline) {
            Thread.sleep(200);
            open = counter(call("viewer", "GET", "/metrics", null).body(), "isthmus_admin_event_streams");
        }
        return open;
    }

    // ---- helpers ----

    /** What the callers could have changed: exports, pools, leases and the plan, as the admin reads them. */
    private String state() throws IOException {
        StringBuilder all = new StringBuilder();
        for (String path : List.of("/api/v1/exports", "/api/v1/ipam/pools", "/api/v1/ipam/pools/pods/leases",
                "/api/v1/ipam/segments")) {
            Reply reply = call("admin", "GET", path, null);
            assertEquals(200, reply.status(), path + " -> " + reply);
            JsonNode json = JSON.readTree(reply.body());
            all.append(path).append(' ').append(json).append('\n');
        }
        return all.toString();
    }

    private static String exportBody(String name, String ip) {
        return "{\"namespace\": \"shop\", \"name\": \"" + name + "\", \"ports\": [\"80/TCP\"],"
                + " \"ips\": [\"" + ip + "\"]}";
    }

    /** The secret part of isth_ID_SECRET: after the second '_' (base64url secrets may hold '_' themselves). */
    private static String secretOf(String token) {
        return token.substring("isth_".length() + 12 + 1);
    }

    private static AllocateRequest allocation(String uid) {
        return AllocateRequest.newBuilder().setPool("pods")
                .setOwner(Owner.newBuilder().setNamespace("grpc").setName("client-" + uid).setUid(uid)).build();
    }

    private void ok(String role, String method, String path, String body) throws IOException {
        Reply reply = call(role, method, path, body);
        assertEquals(200, reply.status(), method + " " + path + " -> " + reply);
    }

    private Reply call(String role, String method, String path, String body) throws IOException {
        return call(role, method, path, body, "application/json");
    }

    private Reply call(String role, String method, String path, String body, String contentType) throws IOException {
        return send(method, path, headers(tokens.get(role), body == null ? null : contentType), body == null ? "" : body);
    }

    private List<String> headers(String token, String contentType) {
        List<String> headers = new ArrayList<>();
        headers.add("Host: 127.0.0.1:" + port);
        if (token != null) {
            headers.add("Authorization: Bearer " + token);
        }
        if (contentType != null) {
            headers.add("Content-Type: " + contentType);
        }
        return headers;
    }

    private record Reply(int status, String headers, String body) {
    }

    /** One HTTP/1.1 request exactly as given (no client library adds or fixes headers), answered until close. */
    private Reply send(String method, String path, List<String> headers, String body) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 3000);
            socket.setSoTimeout(20_000);
            byte[] payload = body.getBytes(StandardCharsets.UTF_8);
            StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1\r\n");
            headers.forEach(h -> head.append(h).append("\r\n"));
            if (payload.length > 0 || method.equals("POST")) {
                head.append("Content-Length: ").append(payload.length).append("\r\n");
            }
            head.append("Connection: close\r\n\r\n");
            OutputStream out = socket.getOutputStream();
            out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
            out.write(payload);
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            in.transferTo(all);
            String text = all.toString(StandardCharsets.UTF_8);
            int split = text.indexOf("\r\n\r\n");
            String responseHead = split < 0 ? text : text.substring(0, split);
            String[] statusLine = responseHead.split("\r\n", 2)[0].split(" ");
            return new Reply(Integer.parseInt(statusLine[1]), responseHead.toLowerCase(java.util.Locale.ROOT),
                    split < 0 ? "" : text.substring(split + 4));
        }
    }

    private static double counter(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
                .findFirst().orElse(0);
    }
}
