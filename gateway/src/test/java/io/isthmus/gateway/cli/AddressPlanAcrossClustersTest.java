package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three peered gateways share one address plan: claims travel over peering and hold once a majority agreed; two
 * clusters never hold overlapping segments, also when they claim the same range at once; a cluster cut off from the
 * majority takes nothing new but keeps what it holds. A pod leased in one cluster is known, by name and namespace,
 * to the policies of the others.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AddressPlanAcrossClustersTest {
    private static final List<String> CLUSTERS = List.of("east", "west", "edge");
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<Gateway> gateways = new ArrayList<>();
    private int base;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        base = FreePorts.block(30);
        TestPki pki = new TestPki(dir.resolve("ca"));
        for (int i = 0; i < CLUSTERS.size(); i++) {
            Path data = dir.resolve(CLUSTERS.get(i));
            pki.issue(CLUSTERS.get(i), data.resolve("tls"));
            int self = i;
            String peers = IntStream.range(0, CLUSTERS.size()).filter(j -> j != self)
                    .mapToObj(j -> "\"127.0.0.1:" + (base + 10 * j + 1) + "\"").collect(Collectors.joining(", "));
            gateways.add(Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                    isthmus {
                      cluster-id = %s
                      data-dir = "%s"
                      admin.port = %d
                      admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                      peering { port = %d, peers = [%s], reconnect-max-backoff = 1s }
                      dns.port = %d
                      replicas.port = %d
                      plan {
                        members = [east, west, edge]
                        supernets.pod = [{cidr = "10.128.0.0/14", segment-prefix = 16}]
                        claim-timeout = 4s
                        retransmit-interval = 300ms
                        gossip-interval = 1s
                      }
                    }
                    """.formatted(CLUSTERS.get(i), data.toString().replace("\\", "/"), base + 10 * i, base + 10 * i + 1,
                    peers, base + 10 * i + 2, base + 10 * i + 3)), dir)));
        }
    }

    @AfterAll
    void stop() {
        gateways.forEach(g -> {
            try {
                g.close();
            } catch (RuntimeException ignored) {
                // closed by a test already
            }
        });
    }

    private String admin(int i) {
        return "http://127.0.0.1:" + (base + 10 * i);
    }

    private JsonNode plan(int i) throws Exception {
        Cli cli = Cli.run("ipam", "segments", "--admin", admin(i), "--json");
        assertEquals(0, cli.exitCode(), cli.toString());
        return JSON.readTree(cli.out());
    }

    private static Set<String> held(JsonNode plan) {
        Set<String> out = new TreeSet<>();
        plan.path("segments").forEach(s -> {
            if (s.path("state").asText().equals("held")) {
                out.add(s.path("cluster").asText() + " " + s.path("cidr").asText());
            }
        });
        return out;
    }

    private void awaitLinksUp() throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline && gateways.stream().anyMatch(g -> g.mesh() == null || g.mesh().links().values()
                .stream().filter(l -> l.state() == io.isthmus.gateway.peering.LinkState.UP).count() < 2)) {
            Thread.sleep(100);
        }
    }

    @Test
    @Order(1)
    void claimsFromTwoClustersHoldOnceAMajorityAgreedAndNeverOverlap() throws Exception {
        awaitLinksUp();
        Cli east = Cli.run("ipam", "claim", "--admin", admin(0), "--kind", "pod");
        assertEquals(0, east.exitCode(), east.toString());
        Cli west = Cli.run("ipam", "claim", "--admin", admin(1), "--kind", "pod");
        assertEquals(0, west.exitCode(), west.toString());
        long deadline = System.nanoTime() + 20_000_000_000L;
        Set<String> expected = held(plan(0));
        while (System.nanoTime() < deadline && !(held(plan(1)).equals(expected) && held(plan(2)).equals(expected)
                && expected.size() == 2)) {
            Thread.sleep(200);
            expected = held(plan(0));
        }
        assertEquals(2, expected.size(), expected.toString());
        assertEquals(expected, held(plan(1)), "west knows the same plan");
        assertEquals(expected, held(plan(2)), "edge knows the same plan");
        assertTrue(expected.stream().anyMatch(s -> s.startsWith("east ")) && expected.stream().anyMatch(s -> s.startsWith("west ")));
    }

    @Test
    @Order(2)
    void twoClustersClaimingTheSameRangeAtOnceEndWithOneHolder() throws Exception {
        CompletableFuture<Cli> west = CompletableFuture.supplyAsync(() ->
                Cli.run("ipam", "claim", "--admin", admin(1), "--kind", "pod", "--cidr", "10.131.0.0/16"));
        CompletableFuture<Cli> edge = CompletableFuture.supplyAsync(() ->
                Cli.run("ipam", "claim", "--admin", admin(2), "--kind", "pod", "--cidr", "10.131.0.0/16"));
        List<Cli> results = List.of(west.join(), edge.join());
        assertEquals(1, results.stream().filter(r -> r.exitCode() == 0).count(), results.toString());
        long holders = held(plan(0)).stream().filter(s -> s.endsWith(" 10.131.0.0/16")).count();
        assertEquals(1, holders, held(plan(0)).toString());
    }

    @Test
    @Order(3)
    void aPodLeasedInOneClusterIsKnownByNameAndNamespaceToThePoliciesOfEveryCluster() throws Exception {
        String westSegment = held(plan(1)).stream().filter(s -> s.startsWith("west ")).findFirst().orElseThrow()
                .substring("west ".length());
        Cli pool = Cli.run("ipam", "create-pool", "--admin", admin(1), "--name", "pods",
                "--cidr", westSegment.replace("/16", "/24"));
        assertEquals(0, pool.exitCode(), pool.toString());
        Cli lease = Cli.run("ipam", "allocate", "--admin", admin(1), "--pool", "pods", "--namespace", "front",
                "--name", "web-1", "--uid", "u1");
        assertEquals(0, lease.exitCode(), lease.toString());
        java.nio.file.Path file = java.nio.file.Files.createTempFile("front", ".yaml");
        java.nio.file.Files.writeString(file, """
                metadata: {name: front-no-plain-web}
                spec:
                  appliesTo: {namespaces: [front]}
                  egress: [{action: Deny, ports: [{protocol: TCP, port: 80}]}]
                """);
        assertEquals(0, Cli.run("policy", "apply", "--admin", admin(0), "-f", file.toString()).exitCode());
        for (int cluster : new int[] {0, 2}) { // east and edge learn west's pod over peering
            String out = "";
            long deadline = System.nanoTime() + 15_000_000_000L;
            while (!out.contains("front-no-plain-web spec.egress[0]") && System.nanoTime() < deadline) {
                Cli explain = Cli.run("policy", "explain", "--admin", admin(cluster), "--from", "west/front/web-1",
                        "--to", "192.0.2.1:80/tcp");
                out = explain.toString();
                Thread.sleep(200);
            }
            assertTrue(out.contains("DENY") && out.contains("front-no-plain-web spec.egress[0]"),
                    CLUSTERS.get(cluster) + ": " + out);
        }
    }

    @Test
    @Order(4)
    void aClusterCutOffFromTheMajorityTakesNothingNewButKeepsWhatItHolds() throws Exception {
        gateways.get(1).close();
        gateways.get(2).close();
        Cli claim = Cli.run("ipam", "claim", "--admin", admin(0), "--kind", "pod");
        assertEquals(1, claim.exitCode(), claim.toString());
        assertTrue(claim.err().contains("majority"), claim.err());
        String eastSegment = held(plan(0)).stream().filter(s -> s.startsWith("east ")).findFirst().orElseThrow()
                .substring("east ".length());
        String poolCidr = eastSegment.replace("/16", "/24");
        Cli pool = Cli.run("ipam", "create-pool", "--admin", admin(0), "--name", "east-pods", "--cidr", poolCidr);
        assertEquals(0, pool.exitCode(), "a held segment is still usable in the minority: " + pool);
        assertFalse(held(plan(0)).isEmpty());
    }
}
