package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.testing.PostgresServer;
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
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two clusters, east and west, each running two gateway replicas (one Pekko cluster and one PostgreSQL journal per
 * cluster; separate JVMs). Exports made through any replica reach every replica of both clusters. Under continuous
 * export churn, east loses its lower-addressed replica and west its higher-addressed one to SIGKILL: the survivor
 * of each keeps serving (the split-brain resolver's lease in PostgreSQL decides a 1-1 split), writes resume at
 * once on it, and every acknowledged change is present on every surviving replica of both clusters at the end.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicaFailoverTest {
    private static final Duration SYNC = Duration.ofSeconds(30);
    private static final int EAST_A = 0;
    private static final int EAST_B = 1;
    private static final int WEST_A = 2;
    private static final int WEST_B = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    private PostgresServer postgres;
    private Path dir;
    private int base;
    private final List<GatewayProcess> gateways = new ArrayList<>();
    private final GatewayProcess[] replicas = new GatewayProcess[4];

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        postgres = PostgresServer.start();
        base = FreePorts.block(40);
        TestPki pki = new TestPki(dir.resolve("ca"));
        pki.issue("east", dir.resolve("east-a/data/tls")).issue("east", dir.resolve("east-b/data/tls"))
                .issue("west", dir.resolve("west-a/data/tls")).issue("west", dir.resolve("west-b/data/tls"));
        // The first replica of each cluster forms it; the second joins it. Replica ports grow with the index, so
        // the "-a" replicas have the lower addresses.
        // Generous timeouts: four JVMs starting on a busy 2-core machine.
        replicas[EAST_A] = start("east-a", EAST_A, "east", EAST_A, WEST_A, WEST_B);
        replicas[WEST_A] = start("west-a", WEST_A, "west", WEST_A, EAST_A, EAST_B);
        replicas[EAST_A].awaitReady(Duration.ofSeconds(240));
        replicas[WEST_A].awaitReady(Duration.ofSeconds(240));
        replicas[EAST_B] = start("east-b", EAST_B, "east", EAST_A, WEST_A, WEST_B);
        replicas[WEST_B] = start("west-b", WEST_B, "west", WEST_A, EAST_A, EAST_B);
        replicas[EAST_B].awaitReady(Duration.ofSeconds(240));
        replicas[WEST_B].awaitReady(Duration.ofSeconds(240));
    }

    private GatewayProcess start(String name, int i, String cluster, int seed, int peer1, int peer2) throws Exception {
        Path home = dir.resolve(name);
        Files.createDirectories(home);
        Files.writeString(home.resolve("gateway.conf"), """
                isthmus {
                  cluster-id = %s
                  data-dir = "data"
                  admin.port = %d
                  admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                  peering { port = %d, peers = ["127.0.0.1:%d", "127.0.0.1:%d"], reconnect-max-backoff = 1s }
                  dns.port = %d
                  replicas { port = %d, seed-nodes = ["pekko://isthmus@127.0.0.1:%d"], name = %s }
                  journal { kind = postgres, postgres { url = "%s", user = postgres } }
                }
                """.formatted(cluster, admin(i), peering(i), peering(peer1), peering(peer2), dns(i), replicaPort(i),
                replicaPort(seed), name, postgres.url()));
        GatewayProcess process = GatewayProcess.start(name, home.resolve("gateway.conf"), admin(i),
                home.resolve("gateway.log"), List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        gateways.add(process);
        return process;
    }

    @AfterAll
    void stop() throws Exception {
        gateways.parallelStream().forEach(GatewayProcess::close);
        // The temporary directory goes away: keep the replicas' logs where the build's reports are.
        Path logs = Path.of("target", "replica-failover-logs");
        Files.createDirectories(logs);
        for (GatewayProcess gateway : gateways) {
            if (Files.exists(gateway.log())) {
                Files.copy(gateway.log(), logs.resolve(gateway.name() + ".log"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        if (postgres != null) {
            postgres.close();
        }
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

    private JsonNode status(int i) throws Exception {
        return JSON.readTree(AdminClient.anonymous(adminUrl(i)).get("api/v1/status").body());
    }

    /** The Pekko member statuses replica {@code i} sees, by address. */
    private Map<String, String> members(int i) throws Exception {
        Map<String, String> members = new TreeMap<>();
        for (JsonNode replica : status(i).path("replicas")) {
            members.put(replica.path("address").asText(), replica.path("status").asText());
        }
        return members;
    }

    private void awaitMembersUp(int i, int count) throws Exception {
        long deadline = System.nanoTime() + SYNC.toNanos();
        while (members(i).values().stream().filter("Up"::equals).count() != count && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertEquals(count, members(i).values().stream().filter("Up"::equals).count(), members(i).toString());
    }

    private static String name(String service, String namespace) {
        return service + "." + namespace + ".svc.clusterset.local";
    }

    private void export(int via, String namespace, String service, String ip) {
        Cli result = Cli.run("export", "--admin", adminUrl(via), "--namespace", namespace, "--name", service,
                "--port", "80/TCP", "--ip", ip);
        assertEquals(0, result.exitCode(), result::toString);
    }

    @Test
    @Order(1)
    void exportsAndUnexportsThroughAnyReplicaReachEveryReplicaOfBothClusters() throws Exception {
        awaitMembersUp(EAST_A, 2);
        awaitMembersUp(WEST_A, 2);
        export(EAST_B, "shop", "cart", "10.96.0.10");
        export(WEST_A, "data", "db", "10.97.0.5");
        for (int i = 0; i < 4; i++) {
            Dns.awaitA(dns(i), name("cart", "shop"), a -> a.addresses().equals(List.of("10.96.0.10")), SYNC);
            Dns.awaitA(dns(i), name("db", "data"), a -> a.addresses().equals(List.of("10.97.0.5")), SYNC);
        }
        // Unexport through the other replica of the cluster, then export again through the first.
        Cli unexport = Cli.run("unexport", "--admin", adminUrl(EAST_A), "--namespace", "shop", "--name", "cart");
        assertEquals(0, unexport.exitCode(), unexport::toString);
        for (int i = 0; i < 4; i++) {
            Dns.awaitA(dns(i), name("cart", "shop"), a -> a.rcode() == Rcode.NXDOMAIN, SYNC);
        }
        export(EAST_B, "shop", "cart", "10.96.0.12");
        export(WEST_B, "data", "db", "10.97.0.6");
        for (int i = 0; i < 4; i++) {
            Dns.awaitA(dns(i), name("cart", "shop"), a -> a.addresses().equals(List.of("10.96.0.12")), SYNC);
            Dns.awaitA(dns(i), name("db", "data"), a -> a.addresses().equals(List.of("10.97.0.6")), SYNC);
        }
    }

    @Test
    @Order(2)
    void killingEitherReplicaUnderChurnLosesNothingAndTheOtherKeepsServing() throws Exception {
        awaitMembersUp(EAST_A, 2);
        awaitMembersUp(WEST_A, 2);
        // Each churn starts on the replica that will be killed.
        ExportChurn east = new ExportChurn(List.of(adminUrl(EAST_A), adminUrl(EAST_B)), "churn-east", 98).start();
        ExportChurn west = new ExportChurn(List.of(adminUrl(WEST_B), adminUrl(WEST_A)), "churn-west", 99).start();
        Thread.sleep(2_000);

        Failover eastFailover = kill(EAST_A, EAST_B, east, "churn-east", WEST_A);
        Failover westFailover = kill(WEST_B, WEST_A, west, "churn-west", EAST_B);
        Thread.sleep(1_000);
        east.stop();
        west.stop();
        assertFalse(east.gaveUp(), () -> "east churn: " + east.failures());
        assertFalse(west.gaveUp(), () -> "west churn: " + west.failures());

        // Nothing acknowledged is lost, on any surviving replica of either cluster.
        for (int survivor : new int[] {EAST_B, WEST_A}) {
            awaitServices(survivor, "east", "churn-east", east.expected());
            awaitServices(survivor, "west", "churn-west", west.expected());
        }
        // The survivors stay up: the lease let each take the decision, even the higher-addressed east-b.
        for (int survivor : new int[] {EAST_B, WEST_A}) {
            assertTrue(status(survivor).path("ready").asBoolean(), () -> "not ready: " + replicas[survivor].tail(40));
            assertEquals(List.of("Up"), List.copyOf(members(survivor).values()), "only itself, Up");
        }
        System.out.printf("replica failover (2 replicas per cluster, PostgreSQL journal): %s; %s%n",
                eastFailover.describe("east lost its lower-addressed replica", east.acknowledged()),
                westFailover.describe("west lost its higher-addressed replica", west.acknowledged()));
    }

    record Failover(double writes, double otherClusterDns, double removed) {
        String describe(String what, int changes) {
            return "%s: next acknowledged write %.2f s after SIGKILL, visible in the other cluster's DNS %.2f s after, "
                    .formatted(what, writes, otherClusterDns)
                    + "dead replica removed from the Pekko cluster (sharded entities move) %.1f s after; %d changes acknowledged"
                    .formatted(removed, changes);
        }
    }

    /**
     * SIGKILLs replica {@code victim} while {@code churn} writes to it, and measures: the next acknowledged write
     * (on {@code survivor}); the next export acknowledged after the kill answered by the DNS of {@code observer} in
     * the other cluster; the victim gone from the survivor's Pekko cluster.
     */
    private Failover kill(int victim, int survivor, ExportChurn churn, String namespace, int observer)
            throws Exception {
        String victimAddress = "pekko://isthmus@127.0.0.1:" + replicaPort(victim);
        assertTrue(members(survivor).containsKey(victimAddress), members(survivor).toString());
        replicas[victim].kill();
        long killedAt = System.nanoTime();
        long deadline = killedAt + SYNC.toNanos();

        ExportChurn.Ack export = churn.firstExportAfter(killedAt);
        while (export == null && System.nanoTime() < deadline) {
            Thread.sleep(5);
            export = churn.firstExportAfter(killedAt);
        }
        assertNotNull(export, () -> "no write acknowledged after the kill: " + churn.failures());
        double writes = (churn.firstAckAfter(killedAt).at() - killedAt) / 1e9;
        String ip = churn.ipOf(export.name());
        String name = name(export.name(), namespace);
        Dns.Answer answer = null;
        while (System.nanoTime() < deadline) {
            answer = Dns.askA(dns(observer), name);
            if (answer.addresses().contains(ip)) {
                break;
            }
            Thread.sleep(5);
        }
        double dnsAt = (System.nanoTime() - killedAt) / 1e9;
        Dns.Answer last = answer;
        assertTrue(last != null && last.addresses().contains(ip), () -> name + " at " + observer + ": " + last);

        while (members(survivor).containsKey(victimAddress) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        double removed = (System.nanoTime() - killedAt) / 1e9;
        assertFalse(members(survivor).containsKey(victimAddress),
                () -> "the dead replica was not removed: " + replicas[survivor].tail(40));
        return new Failover(writes, dnsAt, removed);
    }

    private void awaitServices(int at, String cluster, String namespace, Map<String, String> expected)
            throws Exception {
        ExportChurn.awaitServed(adminUrl(at), cluster, namespace, expected, SYNC);
    }

}
