package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Rcode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three gateways, each its own JVM process on loopback, peered with each other: what a user of three clusters sees.
 * The tests run in order and share the processes (starting JVMs is the slow part on two cores). Admin auth is on,
 * as it is by default: each gateway gets a token made with `isthmus token create`, and the CLI finds them in a
 * credentials file by the --admin URL, as a user's ~/.config/isthmus/credentials would give them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ThreeClusterProcessesTest {
    private static final List<String> CLUSTERS = List.of("east", "west", "edge");
    private static final Duration SYNC = Duration.ofSeconds(20);

    private Path dir;
    private TestPki pki;

    private int base;
    private final List<String> tokens = new ArrayList<>();
    private Path credentials;
    private final List<GatewayProcess> gateways = new ArrayList<>(List.of());

    @BeforeAll
    void startThreeGateways(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        base = FreePorts.block(30);
        pki = new TestPki(dir.resolve("ca"));
        for (String cluster : CLUSTERS) {
            pki.issue(cluster, dir.resolve(cluster).resolve("data").resolve("tls"));
        }
        for (int i = 0; i < CLUSTERS.size(); i++) {
            gateways.add(start(i));
        }
        credentials = dir.resolve("credentials");
        Files.writeString(credentials, IntStream.range(0, CLUSTERS.size())
                .mapToObj(i -> "gateways." + CLUSTERS.get(i) + " { admin = \"" + adminUrl(i) + "\", token = \""
                        + tokens.get(i) + "\" }\n").collect(Collectors.joining()));
        for (GatewayProcess gateway : gateways) {
            gateway.awaitReady(Duration.ofSeconds(90));
        }
    }

    @AfterAll
    void stopGateways() {
        gateways.parallelStream().forEach(GatewayProcess::close);
    }

    private GatewayProcess start(int i) throws Exception {
        Path home = dir.resolve(CLUSTERS.get(i));
        Files.createDirectories(home);
        String peers = IntStream.range(0, CLUSTERS.size()).filter(j -> j != i)
                .mapToObj(j -> "\"127.0.0.1:" + (base + 10 * j + 1) + "\"").collect(Collectors.joining(", "));
        Path config = home.resolve("gateway.conf");
        Files.writeString(config, """
                isthmus {
                  cluster-id = "%s"
                  data-dir = "data"
                  admin.port = %d
                  peering { port = %d, peers = [%s], reconnect-max-backoff = 1s, import-ttl = 4s }
                  dns.port = %d
                  replicas.port = %d
                }
                """.formatted(CLUSTERS.get(i), admin(i), base + 10 * i + 1, peers, dns(i), base + 10 * i + 3));
        Cli token = Cli.run("token", "create", "--config", config.toString(), "--role", "admin", "--user", "test");
        assertEquals(0, token.exitCode(), token::toString);
        tokens.add(token.out().strip());
        return GatewayProcess.start(CLUSTERS.get(i), config, admin(i), home.resolve("gateway.log"),
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    }

    private int admin(int i) {
        return base + 10 * i;
    }

    private int dns(int i) {
        return base + 10 * i + 2;
    }

    private String adminUrl(int i) {
        return "http://127.0.0.1:" + admin(i);
    }

    /** The CLI as a user with the credentials file runs it. */
    private Cli cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--credentials", credentials.toString()));
        return Cli.run(all.toArray(String[]::new));
    }

    private AdminClient client(int i) {
        return new AdminClient(adminUrl(i), java.util.Optional.of(tokens.get(i)));
    }

    @Test
    @Order(1)
    void exportInOneClusterIsAnsweredByTheDnsOfTheOtherTwo() throws Exception {
        Cli export = cli("export", "--admin", adminUrl(0), "--namespace", "shop", "--name", "cart",
                "--port", "http:80/TCP", "--ip", "10.96.0.10");
        assertEquals(0, export.exitCode(), export::toString);

        for (int i = 0; i < CLUSTERS.size(); i++) {
            Dns.Answer answer = Dns.awaitA(dns(i), "cart.shop.svc.clusterset.local",
                    a -> a.addresses().equals(List.of("10.96.0.10")), SYNC);
            assertEquals(Rcode.NOERROR, answer.rcode());
        }
        // The same names through the real dig client: answer section, authoritative, NOERROR.
        for (int i = 1; i < CLUSTERS.size(); i++) {
            assertEquals("10.96.0.10", Dns.dig(dns(i), "cart.shop.svc.clusterset.local", "A", "+short").strip());
            String full = Dns.dig(dns(i), "CART.Shop.svc.clusterset.local", "A");
            assertTrue(full.contains("status: NOERROR"), full);
            assertTrue(full.matches("(?s).*flags:[^;]*\\baa\\b.*"), full);
        }
    }

    @Test
    @Order(2)
    void servicesExportedByTwoClustersAnswerWithBothAddresses() throws Exception {
        assertEquals(0, cli("export", "--admin", adminUrl(1), "--namespace", "shop", "--name", "catalog",
                "--port", "80/TCP", "--ip", "10.97.0.11").exitCode());
        assertEquals(0, cli("export", "--admin", adminUrl(2), "--namespace", "shop", "--name", "catalog",
                "--port", "80/TCP", "--ip", "10.98.0.11").exitCode());
        for (int i = 0; i < CLUSTERS.size(); i++) {
            Dns.awaitA(dns(i), "catalog.shop.svc.clusterset.local",
                    a -> a.addresses().equals(List.of("10.97.0.11", "10.98.0.11")), SYNC);
        }
    }

    @Test
    @Order(3)
    void unexportDisappearsEverywhere() throws Exception {
        Cli unexport = cli("unexport", "--admin", adminUrl(0), "--namespace", "shop", "--name", "cart");
        assertEquals(0, unexport.exitCode(), unexport::toString);
        for (int i = 0; i < CLUSTERS.size(); i++) {
            Dns.awaitA(dns(i), "cart.shop.svc.clusterset.local", a -> a.rcode() == Rcode.NXDOMAIN, SYNC);
        }
        Cli again = cli("unexport", "--admin", adminUrl(0), "--namespace", "shop", "--name", "cart");
        assertEquals(1, again.exitCode(), again::toString);
        assertTrue(again.err().contains("no export shop/cart in cluster east"), again::toString);
    }

    @Test
    @Order(4)
    void statusShowsEveryPeerUpWithExportsAndImports() throws Exception {
        Cli status = cli("status", "--admin", adminUrl(0));
        assertEquals(0, status.exitCode(), status::toString);
        assertTrue(status.out().startsWith("cluster east  ready"), status.out());
        assertTrue(status.out().contains("west"), status.out());
        assertTrue(status.out().contains("edge"), status.out());

        // Heartbeats echo each other once a second: soon every up link has a measured round trip and our
        // latest snapshot acknowledged.
        JsonNode root = null;
        long outboundUp = 0;
        long measuredAndAcked = 0;
        long deadline = System.nanoTime() + SYNC.toNanos();
        while (System.nanoTime() < deadline && (outboundUp != 2 || measuredAndAcked != 2)) {
            Cli json = cli("status", "--admin", adminUrl(0), "--json");
            root = new ObjectMapper().readTree(json.out());
            outboundUp = 0;
            measuredAndAcked = 0;
            for (JsonNode peer : root.path("peers")) {
                if (peer.path("direction").asText().equals("outbound") && peer.path("state").asText().equals("up")) {
                    outboundUp++;
                    if (peer.path("rttMillis").asDouble(-1) >= 0
                            && peer.path("sentVersion").asLong() == peer.path("ackedVersion").asLong()) {
                        measuredAndAcked++;
                    }
                }
            }
            Thread.sleep(200);
        }
        assertEquals("east", root.path("clusterId").asText());
        assertEquals(2, outboundUp, root.toPrettyString());
        assertEquals(2, measuredAndAcked, root.toPrettyString());
        assertEquals(1, root.path("imports").path("count").asLong(), root.toPrettyString());
        assertTrue(root.path("dns").path("udpPath").asText().startsWith("recvmmsg"), root.path("dns").toString());
        // The gateway's chain puts the zone first: answers come from the precomputed wire bytes, and status says so.
        assertTrue(root.path("dns").path("answerPath").path("fast").asBoolean(), root.path("dns").toString());
        assertTrue(root.path("dns").path("udpSyscalls").path("mode").asText().startsWith("recvmmsg"),
                root.path("dns").toString());
        // After the first full snapshot, changes travel as deltas.
        String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(adminUrl(1) + "/metrics")).header("Authorization", "Bearer " + tokens.get(1)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("isthmus_peering_messages_received_total{kind=\"export_delta\"}")
                && !l.endsWith(" 0")), metrics);
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("isthmus_dns_response_seconds_bucket{le=\"0.001\"}")),
                metrics);
        assertEquals(1, root.path("replicas").size());
    }

    @Test
    @Order(5)
    void gatewayKilledWithSigkillIsWithdrawnAfterTheTtlThenRecoversItsExportsFromTheJournalAndResyncs() throws Exception {
        assertEquals(0, cli("export", "--admin", adminUrl(1), "--namespace", "data", "--name", "postgres",
                "--type", "Headless", "--port", "5432/TCP", "--ip", "10.244.1.5", "--ip", "10.244.1.6").exitCode());
        Dns.awaitA(dns(0), "postgres.data.svc.clusterset.local", a -> a.addresses().size() == 2, SYNC);
        // Acknowledged means stored: killed at once after the CLI returns, west must still have this one.
        assertEquals(0, cli("export", "--admin", adminUrl(1), "--namespace", "data", "--name", "redis",
                "--port", "6379/TCP", "--ip", "10.97.0.79").exitCode());

        gateways.get(1).kill();
        // While west is gone the others keep serving what they know of it, for the import TTL (4 s here)...
        assertEquals(List.of("10.244.1.5", "10.244.1.6"),
                Dns.askA(dns(0), "postgres.data.svc.clusterset.local").addresses());
        // ...then stop: no answers pointing into a cluster that is gone.
        Dns.awaitA(dns(0), "postgres.data.svc.clusterset.local", a -> a.rcode() == Rcode.NXDOMAIN, SYNC);
        Dns.awaitA(dns(2), "catalog.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.98.0.11")), SYNC);

        gateways.set(1, start(1));
        gateways.get(1).awaitReady(Duration.ofSeconds(90));
        // Recovered from its own journal: west answers for its exports and lists them.
        Dns.awaitA(dns(1), "postgres.data.svc.clusterset.local",
                a -> a.addresses().equals(List.of("10.244.1.5", "10.244.1.6")), SYNC);
        Dns.awaitA(dns(1), "redis.data.svc.clusterset.local", a -> a.addresses().equals(List.of("10.97.0.79")), SYNC);
        // Back on reconnect, in the other clusters too.
        Dns.awaitA(dns(0), "redis.data.svc.clusterset.local", a -> a.addresses().equals(List.of("10.97.0.79")), SYNC);
        Dns.awaitA(dns(2), "catalog.shop.svc.clusterset.local",
                a -> a.addresses().equals(List.of("10.97.0.11", "10.98.0.11")), SYNC);
        JsonNode exports = new ObjectMapper().readTree(client(1).get("api/v1/exports").body());
        assertEquals(3, exports.size(), exports.toPrettyString());

        // Re-synced both ways: a change made after the restart reaches the others, and west has their exports again.
        assertEquals(0, cli("unexport", "--admin", adminUrl(1), "--namespace", "data", "--name", "postgres").exitCode());
        Dns.awaitA(dns(2), "postgres.data.svc.clusterset.local", a -> a.rcode() == Rcode.NXDOMAIN, SYNC);
        Dns.awaitA(dns(1), "catalog.shop.svc.clusterset.local",
                a -> a.addresses().equals(List.of("10.97.0.11", "10.98.0.11")), SYNC);
    }

    @Test
    @Order(6)
    void conflictingExportsAreReportedOnEveryExportInvolvedAndTheOldestWins() throws Exception {
        assertEquals(0, cli("export", "--admin", adminUrl(0), "--namespace", "shop", "--name", "search",
                "--port", "http:80/TCP", "--ip", "10.96.0.40").exitCode());
        Dns.awaitA(dns(2), "search.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.40")), SYNC);
        assertEquals(0, cli("export", "--admin", adminUrl(2), "--namespace", "shop", "--name", "search",
                "--type", "Headless", "--port", "http:80/TCP", "--ip", "10.244.3.7").exitCode());

        ObjectMapper json = new ObjectMapper();
        for (int i : new int[] {0, 2}) {
            long deadline = System.nanoTime() + SYNC.toNanos();
            JsonNode conflict = null;
            while (conflict == null && System.nanoTime() < deadline) {
                for (JsonNode export : json.readTree(client(i).get("api/v1/exports").body())) {
                    for (JsonNode condition : export.path("conditions")) {
                        if (export.path("name").asText().equals("search") && condition.path("type").asText().equals("Conflict")
                                && condition.path("status").asText().equals("True")) {
                            conflict = condition;
                        }
                    }
                }
                Thread.sleep(100);
            }
            assertTrue(conflict != null, "no Conflict condition on the export in " + CLUSTERS.get(i));
            assertTrue(conflict.path("message").asText().contains("ClusterSetIP in east (the oldest export, used)"),
                    conflict.toString());
        }
        // The oldest (east's ClusterSetIP) is what every cluster answers.
        Dns.awaitA(dns(1), "search.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.40")), SYNC);
        Cli status = cli("status", "--admin", adminUrl(1));
        assertTrue(status.out().contains("conflicts (MCS: the oldest export wins)"), status.out());
    }

    @Test
    @Order(7)
    void anExportOfferedToOneClusterIsSeenThereOnly() throws Exception {
        assertEquals(0, cli("export", "--admin", adminUrl(0), "--namespace", "ops", "--name", "metrics",
                "--port", "9090/TCP", "--ip", "10.96.0.90", "--to", "west").exitCode());
        Dns.awaitA(dns(1), "metrics.ops.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.90")), SYNC);
        Dns.awaitA(dns(0), "metrics.ops.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.90")), SYNC);
        // edge has had time to get east's newer snapshot (west did): the export is not in it.
        Dns.awaitA(dns(2), "metrics.ops.svc.clusterset.local", a -> a.rcode() == Rcode.NXDOMAIN, SYNC);
        JsonNode fromEast = new ObjectMapper().readTree(client(2).get("api/v1/status").body())
                .path("imports").path("clusters");
        long eastVersionAtEdge = 0;
        for (JsonNode from : fromEast) {
            if (from.path("cluster").asText().equals("east")) {
                eastVersionAtEdge = from.path("version").asLong();
            }
        }
        JsonNode eastStatus = new ObjectMapper().readTree(client(0).get("api/v1/status").body());
        assertEquals(eastStatus.path("exports").path("version").asLong(), eastVersionAtEdge,
                "edge holds east's latest snapshot, without the export not offered to it");

        Cli bad = cli("export", "--admin", adminUrl(0), "--namespace", "ops", "--name", "x", "--port", "80",
                "--ip", "10.96.0.91", "--to", "West_1");
        assertEquals(2, bad.exitCode(), bad::toString);
        assertTrue(bad.err().contains("invalid --to 'West_1'"), bad::toString);
    }

    @Test
    @Order(8)
    void revokingAClusterThroughOneGatewayCutsItOffEverywhereWithinSeconds() throws Exception {
        Dns.awaitA(dns(0), "catalog.shop.svc.clusterset.local", a -> a.addresses().size() == 2, SYNC);
        long start = System.nanoTime();
        // The CRL goes to east only; east relays it to west, and edge's links to both are cut.
        Cli revoke = cli("mesh", "revoke", "--ca", dir.resolve("ca").toString(), "--cluster", "edge",
                "--admin", adminUrl(0));
        assertEquals(0, revoke.exitCode(), revoke::toString);
        for (int i : new int[] {0, 1}) {
            long deadline = System.nanoTime() + SYNC.toNanos();
            boolean cut = false;
            while (!cut && System.nanoTime() < deadline) {
                JsonNode status = new ObjectMapper().readTree(client(i).get("api/v1/status").body());
                cut = true;
                for (JsonNode peer : status.path("peers")) {
                    if ("edge".equals(peer.path("cluster").asText()) && "up".equals(peer.path("state").asText())) {
                        cut = false;
                    }
                }
                Thread.sleep(100);
            }
            assertTrue(cut, "cluster " + CLUSTERS.get(i) + " still has an up link to the revoked edge");
        }
        System.out.printf("revocation of edge effective at east and west after %.1f s%n", (System.nanoTime() - start) / 1e9);
        // West got it by relay: its tls dir holds the new CRL.
        assertTrue(java.nio.file.Files.readString(dir.resolve("west/data/tls/ca.crl"))
                .equals(java.nio.file.Files.readString(dir.resolve("ca/ca.crl"))));
    }
}
