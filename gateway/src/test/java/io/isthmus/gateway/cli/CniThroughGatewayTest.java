package io.isthmus.gateway.cli;

import io.isthmus.api.ipam.Lease;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.ipam.cni.CniPluginInstaller;
import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Debian's macvlan and bridge plugins with {@code isthmus-ipam} as their IPAM, against a real gateway: its CNI
 * endpoint, its pool entities and journal. Run as a container runtime runs them (a process per call, CNI_*
 * environment, config on stdin); the node and each pod are network namespaces. Needs root (CI runs as root).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CniThroughGatewayTest {
    private static final Path DEBIAN_PLUGINS = Path.of("/usr/lib/cni");

    private Gateway gateway;
    private Path socket;
    private String cniPath;
    private Path plugin;
    private Netns netns;
    private String node;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        assertTrue(Netns.isRoot(), "this test creates network namespaces: run it as root (CI does)");
        assertTrue(Files.isExecutable(DEBIAN_PLUGINS.resolve("macvlan")),
                "apt-get install containernetworking-plugins (scripts/test installs it)");
        new TestPki(dir.resolve("ca")).issue("east", dir.resolve("data").resolve("tls"));
        gateway = TestGateways.start("east", dir, dir.resolve("data"), """
                plan {
                  members = [east]
                  supernets.underlay = [{cidr = "10.77.0.0/16", segment-prefix = 20}]
                }
                ipam {
                  cni-socket = "run/ipam.sock"
                  cni-node = "node-a"
                  fixed-ip-pods = ["db/pg-*"]
                }
                """);
        socket = dir.resolve("data").resolve("run").resolve("ipam.sock");
        String admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
        assertEquals(0, Cli.run("ipam", "claim", "--admin", admin, "--kind", "underlay").exitCode());
        Cli pool = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "blue", "--cidr", "10.77.0.0/24",
                "--gateway", "10.77.0.1", "--route", "10.200.0.0/16 via 10.77.0.1");
        assertEquals(0, pool.exitCode(), pool.toString());
        Path bin = dir.resolve("bin");
        plugin = CniPluginInstaller.installTo(bin);
        cniPath = bin + ":" + DEBIAN_PLUGINS;
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @BeforeEach
    void node() {
        netns = new Netns("isthmus-gwcni");
        node = netns.create("node");
        Netns.ip("-n", node, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0-peer");
        Netns.ip("-n", node, "link", "set", "uplink0", "up");
        Netns.ip("-n", node, "link", "set", "uplink0-peer", "up");
    }

    @AfterEach
    void removeNamespaces() {
        netns.close();
    }

    private String macvlan() {
        return """
                {"cniVersion": "1.0.0", "name": "podnet", "type": "macvlan", "master": "uplink0", "mode": "bridge",
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "%s"}}""".formatted(socket);
    }

    private String bridge() {
        return """
                {"cniVersion": "1.0.0", "name": "bridgenet", "type": "bridge", "bridge": "isth0", "isGateway": true,
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "%s"}}""".formatted(socket);
    }

    private PluginRun run(String plugin, String command, String containerId, String pod, String args, String config) {
        PluginRun.Env env = PluginRun.command(command, containerId, Netns.path(pod), "eth0", cniPath);
        if (args != null) {
            env.set("CNI_ARGS", args);
        }
        return PluginRun.run(List.of("ip", "netns", "exec", node, DEBIAN_PLUGINS.resolve(plugin).toString()), env, config);
    }

    /** The leases of the given owners (other tests' pods may hold addresses of the same pool). */
    private List<Lease> leasesOf(String... names) throws Exception {
        List<String> wanted = List.of(names);
        return gateway.ipam().leases("blue").toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .filter(lease -> wanted.contains(lease.owner().name())).toList();
    }

    private static String address(PluginRun add) {
        return add.json().path("ips").get(0).path("address").asText();
    }

    @Test
    void macvlanAndBridgePodsGetDurableLeasesFromThePoolAndDelFreesThem() throws Exception {
        String pod1 = netns.create("pod1");
        String pod2 = netns.create("pod2");
        PluginRun add1 = run("macvlan", "ADD", "ctr-mac", pod1, "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-1;K8S_POD_UID=u1", macvlan());
        assertEquals(0, add1.exitCode(), add1.toString());
        PluginRun add2 = run("bridge", "ADD", "ctr-br", pod2, null, bridge());
        assertEquals(0, add2.exitCode(), add2.toString());
        assertEquals(List.of(address(add1)), Netns.addresses(pod1, "eth0"), "the pod's interface carries its lease");
        assertEquals(List.of(address(add2)), Netns.addresses(pod2, "eth0"));
        assertTrue(address(add1).startsWith("10.77.0.") && !address(add1).equals(address(add2)), add1 + "\n" + add2);
        assertTrue(Netns.ip("-n", pod1, "route", "show").contains("10.200.0.0/16 via 10.77.0.1"), "the pool's route");
        List<Lease> held = leasesOf("cart-1", "ctr-br");
        assertEquals(2, held.size(), held.toString());
        assertTrue(held.stream().anyMatch(l -> l.owner().name().equals("cart-1")
                && (l.addresses().getFirst().withPrefix()).equals(address(add1))), held.toString());

        assertEquals(0, run("macvlan", "DEL", "ctr-mac", pod1, "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-1;K8S_POD_UID=u1", macvlan()).exitCode());
        assertEquals(0, run("bridge", "DEL", "ctr-br", pod2, null, bridge()).exitCode());
        assertEquals(List.of(), leasesOf("cart-1", "ctr-br"), "DEL freed both");
        assertFalse(Netns.hasLink(pod1, "eth0"));
    }

    @Test
    void aFixedIpPodGetsItsAddressBackAfterItsSandboxIsRecreated() throws Exception {
        String argsA = "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=aaaa";
        String sandboxA = netns.create("pga");
        PluginRun first = run("macvlan", "ADD", "pg0-a", sandboxA, argsA, macvlan());
        assertEquals(0, first.exitCode(), first.toString());
        assertEquals(0, run("macvlan", "DEL", "pg0-a", sandboxA, argsA, macvlan()).exitCode());

        String other = netns.create("other");
        PluginRun someoneElse = run("macvlan", "ADD", "other", other, "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_UID=w", macvlan());
        assertEquals(0, someoneElse.exitCode(), someoneElse.toString());
        assertFalse(address(someoneElse).equals(address(first)), "the parked fixed IP is not handed to another pod");

        String sandboxB = netns.create("pgb");
        PluginRun second = run("macvlan", "ADD", "pg0-b", sandboxB, "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=bbbb", macvlan());
        assertEquals(0, second.exitCode(), second.toString());
        assertEquals(address(first), address(second));
        assertEquals(List.of(address(first)), Netns.addresses(sandboxB, "eth0"));
        run("macvlan", "DEL", "other", other, "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_UID=w", macvlan());
    }

    @Test
    void aRootCallerNamingAPodFromAnotherContainerCannotReleaseItsLease() throws Exception {
        String args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=cart-2;K8S_POD_UID=u2";
        String pod = netns.create("pod1");
        PluginRun add = run("macvlan", "ADD", "ctr-cart2", pod, args, macvlan());
        assertEquals(0, add.exitCode(), add.toString());

        // the plugin itself, run as root with the pod's arguments but another container id: a forged DEL
        PluginRun.Env forged = PluginRun.command("DEL", "ctr-intruder", null, "eth0", cniPath).set("CNI_ARGS", args);
        PluginRun refused = PluginRun.run(List.of(plugin.toString()), forged, macvlan());
        assertEquals(102, refused.errorCode(), refused.toString());
        assertTrue(refused.json().path("details").asText().contains("container node-a/podnet/ctr-cart2/eth0 does"),
                refused.toString());
        List<Lease> held = leasesOf("cart-2");
        assertEquals(1, held.size(), "the lease stays: " + held);
        assertEquals("node-a/podnet/ctr-cart2/eth0", held.getFirst().attachment(), "node, network, container, ifname");
        assertEquals(List.of(address(add)), Netns.addresses(pod, "eth0"));

        assertEquals(0, run("macvlan", "DEL", "ctr-cart2", pod, args, macvlan()).exitCode(), "its own DEL works");
        assertEquals(List.of(), leasesOf("cart-2"));
    }

    private PluginRun gc(String validAttachments) {
        String config = macvlan().replace("\"cniVersion\": \"1.0.0\"", "\"cniVersion\": \"1.1.0\"");
        if (validAttachments != null) {
            config = config.replaceFirst("}$", ", \"cni.dev/valid-attachments\": " + validAttachments + "}");
        }
        return PluginRun.run(List.of(plugin.toString()), PluginRun.command("GC", "-", null, "-", cniPath)
                .without("CNI_CONTAINERID").without("CNI_IFNAME"), config);
    }

    /** Made through the pools directly, as another node's endpoint (or another network's) would have. */
    private Lease leaseAs(String owner, String attachment) throws Exception {
        var request = new io.isthmus.api.ipam.AllocationRequest(new io.isthmus.api.ipam.Owner(
                io.isthmus.api.ClusterId.of("east"), "shop", io.isthmus.api.ipam.OwnerKind.POD, owner, owner), List.of(), List.of());
        var reservation = gateway.ipam().reserve("blue", request, attachment).toCompletableFuture().get(10, TimeUnit.SECONDS);
        return gateway.ipam().commit("blue", reservation.reservationId()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void gcFreesThisNodesLeasesOfTheNetworkThatTheRuntimeNoLongerListsAndNothingElse() throws Exception {
        String kept = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=gc-kept;K8S_POD_UID=k1";
        String gone = "IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=gc-gone;K8S_POD_UID=g1";
        String fixed = "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-9;K8S_POD_UID=f1";
        assertEquals(0, run("macvlan", "ADD", "ctr-kept", netns.create("kept"), kept, macvlan()).exitCode());
        PluginRun goneAdd = run("macvlan", "ADD", "ctr-gone", netns.create("gone"), gone, macvlan());
        assertEquals(0, goneAdd.exitCode(), goneAdd.toString());
        PluginRun fixedAdd = run("macvlan", "ADD", "ctr-pg9", netns.create("pg9"), fixed, macvlan());
        assertEquals(0, fixedAdd.exitCode(), fixedAdd.toString());
        leaseAs("gc-other-node", "node-b/podnet/ctr-elsewhere/eth0");
        leaseAs("gc-other-net", "node-a/othernet/ctr-other-net/eth0");
        String admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
        assertEquals(0, Cli.run("ipam", "allocate", "--admin", admin, "--pool", "blue", "--namespace", "shop",
                "--name", "gc-api", "--uid", "api-1").exitCode(), "a lease made through the API");
        List<String> all = List.of("gc-kept", "gc-gone", "pg-9", "gc-other-node", "gc-other-net", "gc-api");
        assertEquals(6, leasesOf(all.toArray(String[]::new)).size());

        PluginRun refused = gc(null);
        assertEquals(7, refused.reportedErrorCode(), refused.toString());
        assertTrue(refused.toString().contains("cni.dev/valid-attachments"), refused.toString());
        assertEquals(6, leasesOf(all.toArray(String[]::new)).size(), "a refused GC frees nothing");

        PluginRun collected = gc("[{\"containerID\": \"ctr-kept\", \"ifname\": \"eth0\"},"
                + " {\"containerID\": \"ctr-unknown\", \"ifname\": \"eth0\"}]");
        assertEquals(0, collected.exitCode(), collected.toString());
        List<Lease> after = leasesOf(all.toArray(String[]::new));
        assertEquals(List.of("gc-api", "gc-kept", "gc-other-net", "gc-other-node", "pg-9"),
                after.stream().map(l -> l.owner().name()).sorted().toList(), "gc-gone's lease is freed: " + after);
        Lease pg9 = after.stream().filter(l -> l.owner().name().equals("pg-9")).findFirst().orElseThrow();
        assertEquals(io.isthmus.api.ipam.LeaseState.PARKED, pg9.state(), "the fixed IP is kept for its pod: " + pg9);
        assertEquals(address(fixedAdd), pg9.addresses().getFirst().withPrefix());
        assertTrue(after.stream().filter(l -> !l.owner().name().equals("pg-9"))
                .allMatch(l -> l.state() == io.isthmus.api.ipam.LeaseState.ACTIVE), after.toString());
        PluginRun again = gc("[{\"containerID\": \"ctr-kept\", \"ifname\": \"eth0\"}]");
        assertEquals(0, again.exitCode(), again.toString());
        assertEquals(5, leasesOf(all.toArray(String[]::new)).size(), "a second GC frees nothing more");
        assertEquals(0, run("macvlan", "DEL", "ctr-kept", netns.create("kept2"), kept, macvlan()).exitCode());
    }

    @Test
    void anUnknownPoolReachesTheRuntimeAsAnInvalidConfig() {
        String pod = netns.create("pod1");
        PluginRun add = run("macvlan", "ADD", "ctr-x", pod, null, macvlan().replace("\"pool\": \"blue\"", "\"pool\": \"green\""));
        assertEquals(7, add.reportedErrorCode(), add.toString());
        assertTrue(add.stdout().contains("green"), add.toString());
    }
}
