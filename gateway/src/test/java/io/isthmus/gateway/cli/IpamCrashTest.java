package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.testing.PostgresServer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SIGKILL of a gateway in the middle of a stream of allocations, on the embedded H2 journal and on PostgreSQL: after
 * the restart every acknowledged allocation is there with the address the client was given, no address is held by
 * two owners (in the journal's recovered state, and counting the client's log), and allocation goes on.
 */
class IpamCrashTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CLIENTS = 4;
    private static final int KILL_AFTER = 60;

    @ParameterizedTest(name = "journal = {0}")
    @ValueSource(strings = {"h2", "postgres"})
    void noAcknowledgedAllocationIsLostAndNoAddressHasTwoOwnersAcrossAKill(String journal, @TempDir Path dir) throws Exception {
        PostgresServer postgres = journal.equals("postgres") ? PostgresServer.start() : null;
        int base = FreePorts.block(10);
        Path home = dir.resolve("east");
        new TestPki(dir.resolve("ca")).issue("east", home.resolve("data").resolve("tls"));
        Path config = home.resolve("gateway.conf");
        Files.writeString(config, """
                isthmus {
                  cluster-id = east
                  data-dir = "data"
                  admin.port = %d
                  admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                  peering.port = %d
                  dns.port = %d
                  replicas.port = %d
                  %s
                  plan {
                    members = [east]
                    supernets.pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}]
                  }
                }
                """.formatted(base, base + 1, base + 2, base + 3, postgres == null ? ""
                : "journal { kind = postgres, postgres { url = \"" + postgres.url() + "\", user = postgres } }"));
        String admin = "http://127.0.0.1:" + base;
        GatewayProcess gateway = start(config, base, home, "gateway-1.log");
        try {
            assertEquals(0, Cli.run("ipam", "claim", "--admin", admin, "--kind", "pod").exitCode());
            assertEquals(0, Cli.run("ipam", "create-pool", "--admin", admin, "--name", "pods",
                    "--cidr", "10.128.0.0/24").exitCode());

            Map<String, String> acknowledged = new ConcurrentHashMap<>(); // owner -> address the client was given
            AtomicInteger next = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            for (int c = 0; c < CLIENTS; c++) {
                clients.submit(() -> {
                    while (!stop.get() && next.get() < 200) {
                        String owner = "pod-" + next.getAndIncrement();
                        allocate(http, admin, owner).ifPresent(address -> acknowledged.put(owner, address));
                    }
                });
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (acknowledged.size() < KILL_AFTER && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            gateway.kill(); // SIGKILL while the clients are still allocating
            long killedAt = System.nanoTime();
            stop.set(true);
            clients.shutdown();
            assertTrue(clients.awaitTermination(30, TimeUnit.SECONDS));
            assertTrue(acknowledged.size() >= KILL_AFTER, "only " + acknowledged.size() + " allocations before the kill");

            gateway = start(config, base, home, "gateway-2.log");
            System.out.printf("[ipam-crash %s] %d acknowledged before SIGKILL; restarted and ready %.1f s after the kill%n",
                    journal, acknowledged.size(), (System.nanoTime() - killedAt) / 1e9);

            JsonNode leases = JSON.readTree(Cli.run("ipam", "leases", "--admin", admin, "--pool", "pods", "--json").out());
            Map<String, String> holderOf = new HashMap<>();
            Map<String, String> addressOf = new HashMap<>();
            for (JsonNode lease : leases) {
                String owner = lease.path("owner").path("name").asText();
                String address = lease.path("addresses").get(0).path("address").asText();
                assertNull(holderOf.put(address, owner), address + " is held by " + owner + " and another owner");
                addressOf.put(owner, address);
            }
            acknowledged.forEach((owner, address) -> assertEquals(address, addressOf.get(owner),
                    "acknowledged allocation of " + owner + " survived the kill"));

            // And allocation goes on, never handing out an address a client was given before. Right after a start the
            // pool may answer UNAVAILABLE until its shard is placed: a client retries, as a CNI runtime does.
            List<String> after = new ArrayList<>();
            long retryUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            java.util.Optional<String> first = allocate(http, admin, "after-0");
            while (first.isEmpty() && System.nanoTime() < retryUntil) {
                Thread.sleep(100);
                first = allocate(http, admin, "after-0");
            }
            System.out.printf("[ipam-crash %s] allocations served again %.1f s after the kill%n", journal,
                    (System.nanoTime() - killedAt) / 1e9);
            after.add(first.orElseThrow(() -> new AssertionError("no allocation served within 30 s of the restart")));
            for (int i = 1; i < 20; i++) {
                after.add(allocate(http, admin, "after-" + i).orElseThrow());
            }
            for (String address : after) {
                assertTrue(!acknowledged.containsValue(address) && !holderOf.containsKey(address),
                        address + " was given out twice");
            }
        } finally {
            gateway.close();
            if (postgres != null) {
                postgres.close();
            }
        }
    }

    private static GatewayProcess start(Path config, int admin, Path home, String log) throws Exception {
        GatewayProcess gateway = GatewayProcess.start("east", config, admin, home.resolve(log),
                List.of("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        gateway.awaitReady(Duration.ofSeconds(120));
        return gateway;
    }

    /** The address the gateway acknowledged, or empty when it refused or could not be reached. */
    private static java.util.Optional<String> allocate(HttpClient http, String admin, String owner) {
        try {
            String body = "{\"owner\": {\"namespace\": \"load\", \"name\": \"" + owner + "\", \"uid\": \"1\"}}";
            HttpResponse<String> reply = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/ipam/pools/pods/allocations"))
                    .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            if (reply.statusCode() != 200) {
                return java.util.Optional.empty();
            }
            return java.util.Optional.of(JSON.readTree(reply.body()).path("addresses").get(0).path("address").asText());
        } catch (Exception e) {
            return java.util.Optional.empty(); // killed mid-request: not acknowledged
        }
    }
}
