package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.gateway.pki.AdminIdentity;
import io.isthmus.gateway.pki.AdminTrust;
import io.isthmus.gateway.pki.IssuedAdminCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The admin API over TLS with client certificates, against one real gateway process: certificates of each role made
 * with `isthmus mesh issue --role R --user NAME`, a gateway's peering certificate, a revoked one, one revoked while
 * the gateway runs (pushed with `isthmus mesh revoke --user` over TLS), tokens over TLS, and the CLI.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminTlsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private Path caDir;
    private Path caCertificate;
    private Path config;
    private GatewayProcess gateway;
    private int port;
    private int peeringPort;
    private String url;
    private String viewerToken;
    /** user -> the files `mesh issue` wrote */
    private final Map<String, IssuedAdminCertificate.Files> certificates = new HashMap<>();
    private final Map<String, HttpClient> clients = new HashMap<>();

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        caDir = dir.resolve("ca");
        TestPki pki = new TestPki(caDir);
        caCertificate = caDir.resolve("ca.crt");
        for (String[] user : new String[][] {{"vera", "viewer"}, {"otto", "operator"}, {"ada", "admin"},
                {"bob", "operator"}, {"mallory", "admin"}}) {
            Cli issued = Cli.run("mesh", "issue", "--ca", caDir.toString(), "--role", user[1], "--user", user[0],
                    "--out", dir.resolve("users").toString(), "--days", "2");
            assertEquals(0, issued.exitCode(), issued::toString);
            assertTrue(issued.out().contains("issued an admin certificate for user " + user[0] + ", role " + user[1]),
                    issued::toString);
            Path users = dir.resolve("users");
            certificates.put(user[0], new IssuedAdminCertificate.Files(users.resolve(user[0] + ".admin.crt"),
                    users.resolve(user[0] + ".admin.key"), users.resolve("ca.crt")));
        }
        Cli revoked = Cli.run("mesh", "revoke", "--ca", caDir.toString(), "--user", "mallory");
        assertEquals(0, revoked.exitCode(), revoked::toString);
        // east's tls dir gets the CRL in force now (mallory revoked); west's certificate plays a cluster's.
        pki.issue("east", dir.resolve("data").resolve("tls"));
        pki.issue("west", dir.resolve("west-tls"));

        int base = FreePorts.block(4);
        port = base;
        peeringPort = base + 1;
        url = "https://127.0.0.1:" + port;
        config = dir.resolve("gateway.conf");
        Files.writeString(config, """
                isthmus {
                  cluster-id = east
                  data-dir = "data"
                  admin.port = %d
                  admin.tls.enabled = true
                  peering.port = %d
                  dns.port = %d
                  replicas.port = %d
                  plan {
                    members = [east]
                    supernets.pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}]
                  }
                }
                """.formatted(base, base + 1, base + 2, base + 3));
        Cli token = Cli.run("token", "create", "--config", config.toString(), "--role", "viewer", "--user", "token-viewer");
        assertEquals(0, token.exitCode(), token::toString);
        viewerToken = token.out().strip();

        gateway = GatewayProcess.start("east", config, port, dir.resolve("gateway.log"),
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        awaitReady(Duration.ofSeconds(90));
        assertEquals(200, request("ada", "POST", "/api/v1/ipam/segments", "{\"kind\": \"pod\"}").statusCode());
        assertEquals(200, request("ada", "POST", "/api/v1/ipam/pools",
                "{\"name\": \"pods\", \"cidrs\": [\"10.128.0.0/24\"]}").statusCode());
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    @Order(1)
    void withoutACertificateOrATokenTheApiAnswers401ButTheProbesAreOpen() throws Exception {
        String before = state();
        assertEquals(401, request(null, "GET", "/api/v1/status", null).statusCode());
        HttpResponse<String> export = request(null, "POST", "/api/v1/exports", exportBody("evil", "10.96.0.66"));
        assertEquals(401, export.statusCode(), export.body());
        assertTrue(export.body().contains("or a client certificate"), export.body());
        assertEquals(200, request(null, "GET", "/healthz", null).statusCode());
        assertEquals(before, state());
    }

    @Test
    @Order(2)
    void aViewerCertificateReadsButEveryMutatingRouteAnswers403AndChangesNothing() throws Exception {
        String before = state();
        for (String read : List.of("/api/v1/status", "/api/v1/exports", "/api/v1/ipam/pools", "/metrics")) {
            assertEquals(200, request("vera", "GET", read, null).statusCode(), read);
        }
        for (String[] route : new String[][] {
                {"POST", "/api/v1/exports", exportBody("evil", "10.96.0.66"), "operator"},
                {"POST", "/api/v1/ipam/pools/pods/allocations",
                        "{\"owner\": {\"namespace\": \"evil\", \"name\": \"x\", \"uid\": \"e\"}}", "operator"},
                {"POST", "/api/v1/ipam/pools", "{\"name\": \"evil\", \"cidrs\": [\"10.128.1.0/24\"]}", "admin"},
                {"POST", "/api/v1/ipam/registrations", "{\"kind\": \"pod\", \"cidr\": \"10.244.0.0/16\"}", "admin"}}) {
            HttpResponse<String> reply = request("vera", route[0], route[1], route[2]);
            assertEquals(403, reply.statusCode(), route[1] + " -> " + reply.body());
            assertTrue(reply.body().contains("role viewer may not " + route[0] + " " + route[1] + ": it needs " + route[3]),
                    reply.body());
        }
        assertEquals(before, state());
    }

    @Test
    @Order(3)
    void operatorAndAdminCertificatesMayDoWhatTheirRolesAllow() throws Exception {
        String before = state();
        HttpResponse<String> pool = request("otto", "POST", "/api/v1/ipam/pools",
                "{\"name\": \"evil\", \"cidrs\": [\"10.128.1.0/24\"]}");
        assertEquals(403, pool.statusCode(), pool.body());
        assertEquals(before, state());

        HttpResponse<String> export = request("otto", "POST", "/api/v1/exports", exportBody("cart", "10.96.0.10"));
        assertEquals(200, export.statusCode(), export.body());
        assertTrue(JSON.readTree(request("vera", "GET", "/api/v1/exports", null).body()).toString().contains("cart"));
        HttpResponse<String> adminPool = request("ada", "POST", "/api/v1/ipam/pools",
                "{\"name\": \"more\", \"cidrs\": [\"10.128.2.0/24\"]}");
        assertEquals(200, adminPool.statusCode(), adminPool.body());
        assertNotEquals(before, state());
    }

    @Test
    @Order(4)
    void aClustersPeeringCertificateIsRefusedAsAnAdminEvenWithATokenBesideIt() throws Exception {
        String before = state();
        HttpClient west = client(Optional.of(new IssuedAdminCertificate.Files(dir.resolve("west-tls/west.crt"),
                dir.resolve("west-tls/west.key"), caCertificate)));
        for (String method : List.of("GET", "POST")) {
            HttpResponse<String> reply = send(west, method, method.equals("GET") ? "/api/v1/status" : "/api/v1/exports",
                    method.equals("GET") ? null : exportBody("evil", "10.96.0.66"), Optional.of(viewerToken));
            assertEquals(401, reply.statusCode(), reply.body());
            assertTrue(reply.body().contains("client certificate refused") && reply.body().contains("CN=west")
                    && reply.body().contains("serverAuth"), reply.body());
        }
        assertEquals(before, state());
    }

    @Test
    @Order(5)
    void aRevokedAdminCertificateIsRefused() throws Exception {
        HttpResponse<String> reply = request("mallory", "GET", "/api/v1/status", null);
        assertEquals(401, reply.statusCode(), reply.body());
        assertTrue(reply.body().contains("[revoked]"), reply.body());
    }

    @Test
    @Order(6)
    void aCertificateRevokedWhileTheGatewayRunsIsRefusedAtItsNextRequest() throws Exception {
        assertEquals(200, request("bob", "GET", "/api/v1/status", null).statusCode());
        IssuedAdminCertificate.Files ada = certificates.get("ada");
        Cli revoke = Cli.run("mesh", "revoke", "--ca", caDir.toString(), "--user", "bob", "--admin", url,
                "--cacert", caCertificate.toString(), "--cert", ada.certificate().toString(), "--key", ada.privateKey().toString());
        assertEquals(0, revoke.exitCode(), revoke::toString);
        assertTrue(revoke.out().contains(url + ": took it"), revoke::toString);
        HttpResponse<String> after = request("bob", "GET", "/api/v1/status", null); // the same pooled client
        assertEquals(401, after.statusCode(), after.body());
        assertTrue(after.body().contains("[revoked]"), after.body());
        assertEquals(200, request("otto", "GET", "/api/v1/status", null).statusCode(), "other users are not affected");
    }

    @Test
    @Order(7)
    void tokensStillWorkOverTls() throws Exception {
        HttpClient anonymous = client(Optional.empty());
        assertEquals(200, send(anonymous, "GET", "/api/v1/status", null, Optional.of(viewerToken)).statusCode());
        assertEquals(403, send(anonymous, "POST", "/api/v1/exports", exportBody("evil", "10.96.0.66"),
                Optional.of(viewerToken)).statusCode());
    }

    @Test
    @Order(8)
    void theCliPresentsACertificateAndTrustsOnlyTheClustersetCa() throws Exception {
        IssuedAdminCertificate.Files vera = certificates.get("vera");
        IssuedAdminCertificate.Files otto = certificates.get("otto");
        Cli status = Cli.run("status", "--admin", url, "--cacert", caCertificate.toString(),
                "--cert", vera.certificate().toString(), "--key", vera.privateKey().toString());
        assertEquals(0, status.exitCode(), status::toString);
        assertTrue(status.out().contains("revocation CRL"), status::toString);

        Cli viewerExports = Cli.run("export", "--admin", url, "--cacert", caCertificate.toString(),
                "--cert", vera.certificate().toString(), "--key", vera.privateKey().toString(),
                "--namespace", "shop", "--name", "evil", "--port", "80/TCP", "--ip", "10.96.0.66");
        assertEquals(1, viewerExports.exitCode(), viewerExports::toString);
        assertTrue(viewerExports.err().contains("role viewer may not POST /api/v1/exports: it needs operator"),
                viewerExports::toString);

        Cli operatorExports = Cli.run("export", "--admin", url, "--cacert", caCertificate.toString(),
                "--cert", otto.certificate().toString(), "--key", otto.privateKey().toString(),
                "--namespace", "shop", "--name", "catalog", "--port", "80/TCP", "--ip", "10.96.0.11");
        assertEquals(0, operatorExports.exitCode(), operatorExports::toString);

        // The credentials file names the same, relative to itself.
        Path credentials = dir.resolve("users").resolve("credentials");
        Files.writeString(credentials, """
                current = east
                gateways { east { admin = "%s", certificate-authority = "ca.crt",
                                  client-certificate = "otto.admin.crt", client-key = "otto.admin.key" } }
                """.formatted(url));
        Files.setPosixFilePermissions(credentials, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Cli fromFile = Cli.run("ipam", "pools", "--credentials", credentials.toString());
        assertEquals(0, fromFile.exitCode(), fromFile::toString);
        assertTrue(fromFile.out().contains("pods"), fromFile::toString);

        Cli withoutCa = Cli.run("status", "--admin", url, "--token", viewerToken);
        assertEquals(2, withoutCa.exitCode(), withoutCa::toString);
        assertTrue(withoutCa.err().contains("--cacert"), withoutCa::toString);

        TestPki other = new TestPki(dir.resolve("other-ca"));
        Cli wrongCa = Cli.run("status", "--admin", url, "--cacert", other.ca().directory().resolve("ca.crt").toString(),
                "--token", viewerToken);
        assertEquals(1, wrongCa.exitCode(), wrongCa::toString);
        assertTrue(wrongCa.err().contains("cannot talk to the gateway's admin API"), wrongCa::toString);

        Cli refused = Cli.run("status", "--admin", url, "--cacert", caCertificate.toString(),
                "--cert", certificates.get("mallory").certificate().toString(),
                "--key", certificates.get("mallory").privateKey().toString());
        assertEquals(1, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("refused the client certificate") && refused.err().contains("revoked"),
                refused::toString);

        Cli issueBoth = Cli.run("mesh", "issue", "--ca", caDir.toString(), "--cluster", "north", "--user", "x",
                "--out", dir.resolve("x").toString());
        assertEquals(2, issueBoth.exitCode(), issueBoth::toString);
        Cli badRole = Cli.run("mesh", "issue", "--ca", caDir.toString(), "--role", "root", "--user", "x",
                "--out", dir.resolve("x").toString());
        assertEquals(2, badRole.exitCode(), badRole::toString);
        assertTrue(badRole.err().contains("--role") && badRole.err().contains("root"), badRole::toString);

        Cli list = Cli.run("mesh", "list", "--ca", caDir.toString());
        assertEquals(0, list.exitCode(), list::toString);
        assertTrue(list.out().contains("ADMIN USER") && list.out().lines().anyMatch(l -> l.startsWith("bob")
                && l.contains("operator") && l.strip().endsWith("yes")), list::toString);
    }

    @Test
    @Order(9)
    void anAdminCertificateCannotPeer() throws Exception {
        IssuedAdminCertificate.Files ada = certificates.get("ada");
        SSLContext context = AdminTrust.clientContext(caCertificate, Optional.empty(), Optional.of(ada.certificate()), Optional.of(ada.privateKey()));
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), peeringPort)) {
            socket.setSoTimeout(10_000);
            socket.startHandshake();
            // TLS 1.3: the server judges the client certificate after the client finished; the refusal is the next read.
            assertThrows(IOException.class, () -> {
                socket.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                if (socket.getInputStream().read() < 0) {
                    throw new IOException("closed");
                }
            });
        }
        String metrics = request("vera", "GET", "/metrics", null).body();
        assertTrue(counter(metrics, "isthmus_peering_tls_rejected_total{rule=\"extended-key-usage\"}") >= 1, metrics);
        String log = Files.readString(gateway.log());
        assertTrue(log.contains("peering: certificate 'CN=ada,O=isthmus admin'"), log);
    }

    @Test
    @Order(10)
    void theGrpcIpamServiceOverTlsTakesTheSameCertificatesAndRoles() throws Exception {
        org.apache.pekko.actor.ActorSystem system = org.apache.pekko.actor.ActorSystem.create("grpc-caller",
                com.typesafe.config.ConfigFactory.parseString("pekko.loglevel = WARNING"));
        try {
            java.util.function.Function<String, io.isthmus.api.grpc.ipam.IpamClient> as = user -> {
                IssuedAdminCertificate.Files files = certificates.get(user);
                SSLContext context = AdminTrust.clientContext(caCertificate, Optional.empty(), Optional.of(files.certificate()),
                        Optional.of(files.privateKey()));
                return io.isthmus.api.grpc.ipam.IpamClient.create(org.apache.pekko.grpc.GrpcClientSettings
                        .connectToServiceAt("127.0.0.1", port, system).withSslContext(context), system);
            };
            String before = state();
            var forbidden = assertThrows(java.util.concurrent.ExecutionException.class, () -> as.apply("vera").createPool()
                    .invoke(io.isthmus.api.grpc.ipam.PoolSpec.newBuilder().setName("evil").addCidrs("10.128.3.0/24").build())
                    .toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(forbidden.getCause().getMessage().contains("PERMISSION_DENIED"), forbidden.getCause().getMessage());
            var revoked = assertThrows(java.util.concurrent.ExecutionException.class, () -> as.apply("mallory").listPools()
                    .invoke(io.isthmus.api.grpc.ipam.ListPoolsRequest.getDefaultInstance())
                    .toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(revoked.getCause().getMessage().contains("UNAUTHENTICATED"), revoked.getCause().getMessage());
            assertEquals(before, state());
            assertTrue(as.apply("vera").listPools().invoke(io.isthmus.api.grpc.ipam.ListPoolsRequest.getDefaultInstance())
                    .toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS).getPoolsCount() >= 1);
        } finally {
            system.terminate();
        }
    }

    @Test
    @Order(11)
    void certificateCallersAreAuditedByUserAndCountedLikeTokenCallers() throws Exception {
        String metrics = request("vera", "GET", "/metrics", null).body();
        // test 1: 2 without credentials; 4: 2 with a peering certificate; 5, 6: 2 revoked; 8: 1 revoked by the CLI
        assertTrue(counter(metrics, "isthmus_admin_requests_denied_total{reason=\"unauthenticated\"}") >= 7, metrics);
        assertTrue(counter(metrics, "isthmus_admin_requests_denied_total{reason=\"forbidden\"}") >= 6, metrics);
        assertTrue(counter(metrics, "isthmus_admin_mutations_total{role=\"operator\",status=\"2xx\"}") >= 2, metrics);
        String log = Files.readString(gateway.log());
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("user=otto role=operator")
                && l.contains("credential=certificate 0x") && l.contains("POST /api/v1/exports -> 200")), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("user=vera role=viewer")
                && l.contains("POST /api/v1/ipam/pools -> 403 refused: forbidden")), log);
        assertTrue(log.lines().anyMatch(l -> l.contains("isthmus.audit") && l.contains("client certificate refused")
                && l.contains("CN=mallory") && l.contains("[revoked]")), log);
    }

    @Test
    @Order(12)
    void theCliRefusesAGatewayWhoseCertificateTheCasCrlRevokes() throws Exception {
        IssuedAdminCertificate.Files vera = certificates.get("vera");
        Path before = Files.copy(caDir.resolve("ca.crl"), dir.resolve("before-east-revoked.crl"));
        Cli revoke = Cli.run("mesh", "revoke", "--ca", caDir.toString(), "--cluster", "east");
        assertEquals(0, revoke.exitCode(), revoke::toString);
        // The ca.crl beside the CA certificate is read by default: east's certificate is revoked there now.
        Cli refused = Cli.run("status", "--admin", url, "--cacert", caCertificate.toString(),
                "--cert", vera.certificate().toString(), "--key", vera.privateKey().toString());
        assertEquals(1, refused.exitCode(), refused::toString);
        assertTrue(refused.err().contains("cannot talk to the gateway's admin API"), refused::toString);
        // An older CRL given explicitly does not revoke it; a CRL of another CA is refused naming the file.
        Cli older = Cli.run("status", "--admin", url, "--cacert", caCertificate.toString(), "--crl", before.toString(),
                "--cert", vera.certificate().toString(), "--key", vera.privateKey().toString());
        assertEquals(0, older.exitCode(), older::toString);
        TestPki other = new TestPki(dir.resolve("third-ca"));
        Path foreign = other.ca().directory().resolve("ca.crl");
        Cli wrong = Cli.run("status", "--admin", url, "--cacert", caCertificate.toString(), "--crl", foreign.toString(),
                "--cert", vera.certificate().toString(), "--key", vera.privateKey().toString());
        assertEquals(1, wrong.exitCode(), wrong::toString);
        assertTrue(wrong.err().contains(foreign.toString()) && wrong.err().contains("not signed by the clusterset CA"),
                wrong::toString);
    }

    // ---- helpers ----

    private void awaitReady(Duration timeout) throws Exception {
        HttpClient anonymous = client(Optional.empty());
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (!gateway.process().isAlive()) {
                throw new AssertionError("the gateway exited: " + gateway.tail(30));
            }
            try {
                if (send(anonymous, "GET", "/readyz", null, Optional.empty()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(300);
        }
        throw new AssertionError("not ready in " + timeout + ": " + gateway.tail(30));
    }

    private String state() throws Exception {
        StringBuilder all = new StringBuilder();
        for (String path : List.of("/api/v1/exports", "/api/v1/ipam/pools", "/api/v1/ipam/segments")) {
            HttpResponse<String> reply = request("ada", "GET", path, null);
            assertEquals(200, reply.statusCode(), path + " -> " + reply.body());
            JsonNode json = JSON.readTree(reply.body());
            all.append(path).append(' ').append(json).append('\n');
        }
        return all.toString();
    }

    /** As {@code user}'s certificate (null: none), one client per user so connections are reused. */
    private HttpResponse<String> request(String user, String method, String path, String body) throws Exception {
        HttpClient client = clients.computeIfAbsent(user == null ? "" : user,
                u -> client(u.isEmpty() ? Optional.empty() : Optional.of(certificates.get(u))));
        return send(client, method, path, body, Optional.empty());
    }

    private HttpClient client(Optional<IssuedAdminCertificate.Files> certificate) {
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(3))
                .sslContext(AdminTrust.clientContext(caCertificate, Optional.empty(), certificate.map(IssuedAdminCertificate.Files::certificate),
                        certificate.map(IssuedAdminCertificate.Files::privateKey)))
                .build();
    }

    private HttpResponse<String> send(HttpClient client, String method, String path, String body, Optional<String> token)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(20));
        if (body == null) {
            request.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            request.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
        }
        token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String exportBody(String name, String ip) {
        return "{\"namespace\": \"shop\", \"name\": \"" + name + "\", \"ports\": [\"80/TCP\"],"
                + " \"ips\": [\"" + ip + "\"]}";
    }

    private static double counter(String metrics, String series) {
        return metrics.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
                .findFirst().orElse(0);
    }
}
