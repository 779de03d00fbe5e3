package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The IPAM API of one gateway through the CLI, as an operator uses it: claim a segment of the address plan, create
 * pools inside it, allocate, release, fixed IPs, reclaim through the owners file, and every refusal with its exit
 * code and a message naming the value.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class IpamCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Gateway gateway;
    private String admin;
    private Path owners;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        new TestPki(dir.resolve("ca")).issue("east", dir.resolve("data").resolve("tls"));
        // No owners file yet: an owner source that says nothing must never make the reclaimer free anything.
        owners = dir.resolve("data").resolve("owners");
        gateway = TestGateways.start("east", dir, dir.resolve("data"), """
                plan {
                  members = [east]
                  supernets.pod = [{cidr = "10.128.0.0/9", segment-prefix = 16}]
                  supernets.underlay = [{cidr = "fd00:64::/32", segment-prefix = 48}]
                }
                ipam {
                  owners-file = owners
                  reclaim-grace = 1s
                  reclaim-interval = 500ms
                }
                """);
        admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private Cli ok(String... args) {
        Cli cli = Cli.run(args);
        assertEquals(0, cli.exitCode(), cli.toString());
        return cli;
    }

    private JsonNode json(String... args) throws Exception {
        return JSON.readTree(ok(args).out());
    }

    @Test
    @Order(1)
    void aPoolOutsideEverySegmentIsRefusedNamingWhatTheClusterHolds() {
        Cli cli = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "pods", "--cidr", "10.128.0.0/24");
        assertEquals(1, cli.exitCode(), cli.toString());
        assertTrue(cli.err().contains("10.128.0.0/24") && cli.err().contains("holds no segments"), cli.err());
    }

    @Test
    @Order(2)
    void aClaimedSegmentIsHeldAndPoolsMayBeCreatedInsideIt() throws Exception {
        Cli claim = ok("ipam", "claim", "--admin", admin, "--kind", "pod");
        assertTrue(claim.out().contains("east") && claim.out().contains("10.128.0.0/16") && claim.out().contains("held"),
                claim.out());
        ok("ipam", "claim", "--admin", admin, "--kind", "underlay", "--cidr", "fd00:64:7::/48");
        Cli created = ok("ipam", "create-pool", "--admin", admin, "--name", "pods", "--cidr", "10.128.0.0/24",
                "--cidr", "fd00:64:7::/64", "--gateway", "10.128.0.1", "--exclude", "10.128.0.2-10.128.0.9",
                "--route", "0.0.0.0/0 via 10.128.0.1");
        assertTrue(created.out().contains("created pool pods"), created.out());
        JsonNode pools = json("ipam", "pools", "--admin", admin, "--json");
        assertEquals("pods", pools.get(0).path("name").asText());
        assertEquals("10.128.0.0/24", pools.get(0).path("cidrs").get(0).asText());
    }

    @Test
    @Order(3)
    void anAllocationSkipsTheGatewayAndExcludedAddressesAndGivesOneOfEachFamily() throws Exception {
        JsonNode lease = json("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "shop",
                "--name", "cart-1", "--uid", "u1", "--json");
        assertEquals("10.128.0.10/24", lease.path("addresses").get(0).path("cidr").asText(), lease.toPrettyString());
        assertEquals("10.128.0.1", lease.path("addresses").get(0).path("gateway").asText());
        assertTrue(lease.path("addresses").get(1).path("address").asText().startsWith("fd00:64:7:"), lease.toPrettyString());
        assertEquals("active", lease.path("state").asText());
    }

    @Test
    @Order(4)
    void aStatefulSetPodGetsItsFixedIpBackInItsNextIncarnation() throws Exception {
        JsonNode first = json("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "db",
                "--kind", "StatefulSetPod", "--name", "pg-0", "--uid", "a", "--json");
        Cli released = ok("ipam", "release", "--admin", admin, "--pool", "pods", "--namespace", "db",
                "--kind", "StatefulSetPod", "--name", "pg-0", "--uid", "a");
        assertTrue(released.out().contains("stays reserved"), released.out());
        // Another pod in between must not get the parked address.
        json("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "shop", "--name", "cart-2", "--uid", "u2", "--json");
        JsonNode again = json("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "db",
                "--kind", "StatefulSetPod", "--name", "pg-0", "--uid", "b", "--json");
        assertEquals(first.path("addresses"), again.path("addresses"));
    }

    @Test
    @Order(5)
    void whoHoldsNamesTheOwnerOfAnAddressOrSaysItIsFree() throws Exception {
        JsonNode held = json("ipam", "who-holds", "--admin", admin, "--address", "10.128.0.10", "--json");
        assertTrue(held.path("held").asBoolean(), held.toPrettyString());
        assertEquals("pods", held.path("pool").asText());
        assertEquals("cart-1", held.path("lease").path("owner").path("name").asText(), held.toPrettyString());
        Cli free = ok("ipam", "who-holds", "--admin", admin, "--address", "10.128.0.200");
        assertTrue(free.out().contains("10.128.0.200 is free"), free.out());
        Cli nowhere = Cli.run("ipam", "who-holds", "--admin", admin, "--address", "10.200.0.1");
        assertEquals(1, nowhere.exitCode(), nowhere.toString());
        assertTrue(nowhere.err().contains("no pool") && nowhere.err().contains("10.200.0.1"), nowhere.err());
    }

    @Test
    @Order(5)
    void aStaticIpHeldByAnotherOwnerIsRefusedAndChangesNothing() throws Exception {
        Cli taken = Cli.run("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "shop",
                "--name", "thief", "--ip", "10.128.0.10");
        assertEquals(1, taken.exitCode(), taken.toString());
        assertTrue(taken.err().contains("10.128.0.10"), taken.err());
        JsonNode leases = json("ipam", "leases", "--admin", admin, "--pool", "pods", "--json");
        assertTrue(leases.toString().contains("cart-1") && !leases.toString().contains("thief"), leases.toPrettyString());
    }

    @Test
    @Order(6)
    void registrationsAreBoundedAndCanBeWithdrawn() throws Exception {
        Cli registered = ok("ipam", "register", "--admin", admin, "--kind", "pod", "--cidr", "10.244.0.0/16");
        assertTrue(registered.out().contains("10.244.0.0/16") && registered.out().contains("registered"), registered.out());
        Cli huge = Cli.run("ipam", "register", "--admin", admin, "--kind", "pod", "--cidr", "8.0.0.0/7");
        assertEquals(1, huge.exitCode(), huge.toString());
        assertTrue(huge.err().contains("8.0.0.0/7") && huge.err().contains("plan.registrations.within"), huge.err());
        Cli wide = Cli.run("ipam", "register", "--admin", admin, "--kind", "service", "--cidr", "10.0.0.0/8");
        assertEquals(1, wide.exitCode(), wide.toString());
        assertTrue(wide.err().contains("ipv4-min-prefix"), wide.err());

        Cli gone = ok("ipam", "unregister", "--admin", admin, "--kind", "pod", "--cidr", "10.244.0.0/16");
        assertFalse(gone.out().contains("10.244.0.0/16"), gone.out());
        JsonNode plan = json("ipam", "segments", "--admin", admin, "--json");
        plan.path("segments").forEach(seg -> assertFalse(seg.path("cidr").asText().equals("10.244.0.0/16"), plan.toString()));
        Cli again = Cli.run("ipam", "unregister", "--admin", admin, "--kind", "pod", "--cidr", "10.244.0.0/16");
        assertEquals(1, again.exitCode(), again.toString());
        assertTrue(again.err().contains("no pod registration 10.244.0.0/16"), again.err());
    }

    @Test
    @Order(6)
    void badInputIsNamedBeforeAnythingIsSent() {
        Cli badCidr = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "x", "--cidr", "10.128.1.7/24");
        assertEquals(2, badCidr.exitCode(), badCidr.toString());
        assertTrue(badCidr.err().contains("pool.cidrs[0]") && badCidr.err().contains("10.128.1.7/24"), badCidr.err());
        Cli badKind = Cli.run("ipam", "allocate", "--admin", admin, "--pool", "pods", "--namespace", "a", "--name", "b",
                "--kind", "Daemon");
        assertEquals(2, badKind.exitCode(), badKind.toString());
        assertTrue(badKind.err().contains("owner.kind") && badKind.err().contains("Daemon"), badKind.err());
        Cli unknownPool = Cli.run("ipam", "leases", "--admin", admin, "--pool", "nope");
        assertEquals(1, unknownPool.exitCode(), unknownPool.toString());
        assertTrue(unknownPool.err().contains("nope"), unknownPool.err());
        Cli overlapping = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "other", "--cidr", "10.128.0.128/25");
        assertEquals(1, overlapping.exitCode(), overlapping.toString());
        assertTrue(overlapping.err().contains("overlap"), overlapping.err());
    }

    @Test
    @Order(6)
    void theGrpcIpamServiceOnTheAdminPortGivesTheSameAnswersAndStatuses() throws Exception {
        var client = io.isthmus.api.grpc.ipam.IpamClient.create(org.apache.pekko.grpc.GrpcClientSettings
                .connectToServiceAt("127.0.0.1", gateway.adminAddress().getPort(), gateway.system()).withTls(false),
                gateway.system());
        try {
            var pools = client.listPools(io.isthmus.api.grpc.ipam.ListPoolsRequest.getDefaultInstance())
                    .toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals("pods", pools.getPools(0).getSpec().getName());
            var lease = client.allocate(io.isthmus.api.grpc.ipam.AllocateRequest.newBuilder().setPool("pods")
                    .setOwner(io.isthmus.api.grpc.ipam.Owner.newBuilder().setNamespace("grpc").setName("client-1").setUid("g1"))
                    .build()).toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS);
            assertTrue(lease.getAddresses(0).getAddress().startsWith("10.128.0."), lease.toString());
            var refused = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.allocate(io.isthmus.api.grpc.ipam.AllocateRequest.newBuilder().setPool("pods")
                            .setOwner(io.isthmus.api.grpc.ipam.Owner.newBuilder().setNamespace("grpc").setName("x"))
                            .addIps("10.128.0.300").build()).toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(refused.getCause().getMessage().contains("INVALID_ARGUMENT")
                    && refused.getCause().getMessage().contains("10.128.0.300"), refused.getCause().getMessage());
            var unknown = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> client.listLeases(io.isthmus.api.grpc.ipam.PoolRef.newBuilder().setPool("nope").build())
                            .toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(unknown.getCause().getMessage().contains("NOT_FOUND"), unknown.getCause().getMessage());
        } finally {
            client.close();
        }
    }

    @Test
    @Order(7)
    void anOwnerMissingFromTheOwnersFileIsReclaimedAfterTheGraceAndShownAsSuch() throws Exception {
        String before = ok("ipam", "leases", "--admin", admin, "--pool", "pods").out();
        assertTrue(before.contains("cart-1") && before.contains("cart-2") && before.contains("pg-0"),
                "without an owners file nothing was reclaimed: " + before);
        // cart-1 and pg-0 live on; cart-2 is gone (its address leaked: no release ever came).
        Files.writeString(owners, "# written by the test\nshop/Pod/cart-1#u1\ndb/StatefulSetPod/pg-0#b\n");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline
                && ok("ipam", "leases", "--admin", admin, "--pool", "pods", "--json").out().contains("\"cart-2\"")) {
            Thread.sleep(200);
        }
        Cli shown = ok("ipam", "reclaim", "--admin", admin, "--pool", "pods");
        assertTrue(shown.out().contains("shop/Pod/cart-2"), shown.out());
        String leases = ok("ipam", "leases", "--admin", admin, "--pool", "pods").out();
        assertTrue(leases.contains("cart-1") && leases.contains("pg-0") && !leases.contains("cart-2"), leases);
        assertTrue(gateway.metricsText().contains("isthmus_ipam_reclaimed_total{pool=\"pods\"}"), "metric present");
    }

    @Test
    @Order(8)
    void aPoolIsDeletedOnlyWithForceWhileItHoldsLeasesAndCreatedAgainItStartsEmpty() throws Exception {
        ok("ipam", "create-pool", "--admin", admin, "--name", "spare", "--cidr", "10.128.5.0/24");
        ok("ipam", "allocate", "--admin", admin, "--pool", "spare", "--namespace", "shop", "--name", "temp-1");
        Cli refused = Cli.run("ipam", "pool", "delete", "spare", "--admin", admin);
        assertEquals(1, refused.exitCode(), refused.toString());
        assertTrue(refused.err().contains("spare") && refused.err().contains("1 leases"), refused.err());
        assertTrue(ok("ipam", "leases", "--admin", admin, "--pool", "spare").out().contains("temp-1"));

        JsonNode deleted = json("ipam", "pool", "delete", "spare", "--force", "--admin", admin, "--json");
        assertEquals("spare", deleted.path("pool").asText());
        assertEquals(1, deleted.path("drained").asInt(), deleted.toPrettyString());
        Cli gone = Cli.run("ipam", "allocate", "--admin", admin, "--pool", "spare", "--namespace", "shop", "--name", "t2");
        assertEquals(1, gone.exitCode(), gone.toString());
        assertTrue(gone.err().contains("no pool named spare"), gone.err());
        Cli unknown = Cli.run("ipam", "pool", "delete", "spare", "--admin", admin);
        assertEquals(1, unknown.exitCode(), unknown.toString());
        assertTrue(unknown.err().contains("spare"), unknown.err());
        Cli badName = Cli.run("ipam", "pool", "delete", "Not_A_Label", "--admin", admin);
        assertEquals(2, badName.exitCode(), badName.toString());
        assertTrue(badName.err().contains("NAME") && badName.err().contains("Not_A_Label"), badName.err());

        ok("ipam", "create-pool", "--admin", admin, "--name", "spare", "--cidr", "10.128.5.0/24");
        assertEquals(0, json("ipam", "leases", "--admin", admin, "--pool", "spare", "--json").size());
        assertTrue(ok("ipam", "pool", "delete", "spare", "--admin", admin).out().contains("deleted pool spare"));
    }

    @Test
    @Order(9)
    void everySuccessfulAllocationIsTimedUnderThePathItCameByAndRefusalsAreNot() {
        String text = gateway.metricsText();
        // Order 6 made exactly one gRPC allocation that succeeded and one that was refused.
        assertEquals(1, sample(text, "isthmus_ipam_allocation_seconds_count{path=\"grpc\"}"), text);
        assertEquals(1, sample(text, "isthmus_ipam_allocation_seconds_bucket{path=\"grpc\",le=\"+Inf\"}"), text);
        // The CLI allocates over the admin HTTP API (orders 3 and 4).
        assertTrue(sample(text, "isthmus_ipam_allocation_seconds_count{path=\"admin\"}") >= 2, text);
        assertTrue(sample(text, "isthmus_ipam_allocation_seconds_sum{path=\"admin\"}") > 0, text);
    }

    private static double sample(String text, String series) {
        return text.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(
                l.substring(series.length() + 1))).findFirst().orElseThrow(() -> new AssertionError(series + " missing"));
    }
}
