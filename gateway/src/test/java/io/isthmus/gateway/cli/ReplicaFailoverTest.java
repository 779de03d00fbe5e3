package io.isthmus.gateway.cli;

import io.isthmus.testing.PostgresServer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Rcode;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster east runs three gateway replicas (one Pekko cluster, one PostgreSQL journal; three, so that the split-brain
 * resolver's majority survives the loss of any one), cluster west one; every replica keeps its own links. Killing an east replica with SIGKILL must leave links, imports and DNS answers
 * intact on the other, lose nothing acknowledged, and let updates flow at once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplicaFailoverTest {
    private static final Duration SYNC = Duration.ofSeconds(30);

    private PostgresServer postgres;
    private Path dir;
    private int base;
    private final List<GatewayProcess> gateways = new ArrayList<>();
    private GatewayProcess eastA;
    private GatewayProcess eastB;
    private GatewayProcess eastC;
    private GatewayProcess west;

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        postgres = PostgresServer.start();
        base = FreePorts.block(40);
        TestPki pki = new TestPki(dir.resolve("ca"));
        pki.issue("east", dir.resolve("east-a/data/tls")).issue("east", dir.resolve("east-b/data/tls"))
                .issue("east", dir.resolve("east-c/data/tls")).issue("west", dir.resolve("west/data/tls"));
        eastA = start("east-a", 0, eastConfig(0, "pekko://isthmus@127.0.0.1:" + replicaPort(0)));
        eastA.awaitReady(Duration.ofSeconds(90));
        eastB = start("east-b", 1, eastConfig(1, "pekko://isthmus@127.0.0.1:" + replicaPort(0)));
        eastC = start("east-c", 3, eastConfig(3, "pekko://isthmus@127.0.0.1:" + replicaPort(0)));
        west = start("west", 2, """
                isthmus {
                  cluster-id = west
                  data-dir = "data"
                  admin.port = %d
                  peering { port = %d, peers = ["127.0.0.1:%d", "127.0.0.1:%d", "127.0.0.1:%d"], reconnect-max-backoff = 1s, import-ttl = 5s }
                  dns.port = %d
                  replicas.port = %d
                }
                """.formatted(admin(2), peering(2), peering(0), peering(1), peering(3), dns(2), replicaPort(2)));
        eastB.awaitReady(Duration.ofSeconds(90));
        eastC.awaitReady(Duration.ofSeconds(90));
        west.awaitReady(Duration.ofSeconds(90));
    }

    private String eastConfig(int i, String seed) {
        return """
                isthmus {
                  cluster-id = east
                  data-dir = "data"
                  admin.port = %d
                  peering { port = %d, peers = ["127.0.0.1:%d"], reconnect-max-backoff = 1s, import-ttl = 5s }
                  dns.port = %d
                  replicas { port = %d, seed-nodes = ["%s"] }
                  journal { kind = postgres, postgres { url = "%s", user = postgres } }
                }
                """.formatted(admin(i), peering(i), peering(2), dns(i), replicaPort(i), seed, postgres.url());
    }

    private GatewayProcess start(String name, int i, String config) throws Exception {
        Path home = dir.resolve(name);
        Files.createDirectories(home);
        Files.writeString(home.resolve("gateway.conf"), config);
        GatewayProcess process = GatewayProcess.start(name, home.resolve("gateway.conf"), admin(i),
                home.resolve("gateway.log"), List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        gateways.add(process);
        return process;
    }

    @AfterAll
    void stop() throws Exception {
        gateways.parallelStream().forEach(GatewayProcess::close);
        postgres.close();
    }

    private int admin(int i) {
        return base + 10 * i;
    }

    private int peering(int i) {
        return base + 10 * i + 1;
    }

    private int dns(int i) {
        return base + 10 * i + 2;
    }

    private int replicaPort(int i) {
        return base + 10 * i + 3;
    }

    private String adminUrl(int i) {
        return "http://127.0.0.1:" + admin(i);
    }

    private long replicasUp(int i) throws Exception {
        JsonNode status = new ObjectMapper().readTree(new AdminClient(adminUrl(i)).get("api/v1/status").body());
        long up = 0;
        for (JsonNode replica : status.path("replicas")) {
            if ("Up".equals(replica.path("status").asText())) {
                up++;
            }
        }
        return up;
    }

    @Test
    void killingAReplicaKeepsLinksImportsAndAnswersAndUpdatesKeepFlowing() throws Exception {
        long deadline = System.nanoTime() + SYNC.toNanos();
        while (replicasUp(0) != 3 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(3, replicasUp(0), "east-a, east-b and east-c form one Pekko cluster");

        // An export made through either replica is one cluster's export, seen by both replicas and by west.
        assertEquals(0, Cli.run("export", "--admin", adminUrl(1), "--namespace", "shop", "--name", "cart",
                "--port", "80/TCP", "--ip", "10.96.0.10").exitCode());
        assertEquals(0, Cli.run("export", "--admin", adminUrl(2), "--namespace", "data", "--name", "db",
                "--port", "5432/TCP", "--ip", "10.97.0.5").exitCode());
        for (int i : new int[] {0, 1, 2, 3}) {
            Dns.awaitA(dns(i), "cart.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.10")), SYNC);
            Dns.awaitA(dns(i), "db.data.svc.clusterset.local", a -> a.addresses().equals(List.of("10.97.0.5")), SYNC);
        }

        eastA.kill();
        long killedAt = System.nanoTime();
        // Intact: east-b still answers for west's service, west still answers for east's, with no gap.
        assertEquals(List.of("10.97.0.5"), Dns.askA(dns(1), "db.data.svc.clusterset.local").addresses());
        assertEquals(List.of("10.96.0.10"), Dns.askA(dns(2), "cart.shop.svc.clusterset.local").addresses());

        // Updates flow at once over east-b's own link: a new export in west reaches east-b's DNS.
        long exportedAt = System.nanoTime();
        assertEquals(0, Cli.run("export", "--admin", adminUrl(2), "--namespace", "data", "--name", "cache",
                "--port", "6379/TCP", "--ip", "10.97.0.6").exitCode());
        Dns.awaitA(dns(1), "cache.data.svc.clusterset.local", a -> a.addresses().equals(List.of("10.97.0.6")), SYNC);
        Dns.awaitA(dns(3), "cache.data.svc.clusterset.local", a -> a.addresses().equals(List.of("10.97.0.6")), SYNC);
        double propagation = (System.nanoTime() - exportedAt) / 1e9;

        // Writes in east resume once the registry's shard has moved to east-b (after the failure detector and the
        // split-brain resolver have downed east-a): nothing acknowledged before is lost.
        long writeDeadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Cli write;
        do {
            write = Cli.run("export", "--admin", adminUrl(1), "--namespace", "shop", "--name", "orders",
                    "--port", "80/TCP", "--ip", "10.96.0.11");
        } while (write.exitCode() != 0 && System.nanoTime() < writeDeadline);
        Cli lastWrite = write;
        assertEquals(0, write.exitCode(), () -> lastWrite + "\neast-b log:\n" + eastB.tail(80));
        double writeFailover = (System.nanoTime() - killedAt) / 1e9;
        Dns.awaitA(dns(2), "orders.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.11")), SYNC);
        Dns.awaitA(dns(3), "orders.shop.svc.clusterset.local", a -> a.addresses().equals(List.of("10.96.0.11")), SYNC);
        JsonNode exports = new ObjectMapper().readTree(new AdminClient(adminUrl(1)).get("api/v1/exports").body());
        assertEquals(2, exports.size(), "cart (acknowledged before the kill) and orders: " + exports.toPrettyString());
        assertTrue(Dns.askA(dns(2), "cart.shop.svc.clusterset.local").rcode() == Rcode.NOERROR);
        System.out.printf("replica failover: answers intact at once; a west export reached east-b %.2f s after "
                + "it was made; east writes resumed %.1f s after the kill%n", propagation, writeFailover);
    }
}
