package io.isthmus.ipam.cni;

import io.isthmus.testing.Netns;
import io.isthmus.testing.PluginRun;
import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.Cidr;
import io.isthmus.api.IpLiteral;
import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.Route;
import io.isthmus.ipam.cni.InMemoryCniBackend.PoolSpec;
import io.isthmus.testing.PluginRun.Env;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real Debian CNI plugins ({@code containernetworking-plugins}, /usr/lib/cni) with {@code isthmus-ipam} as their
 * IPAM plugin, run exactly as a container runtime runs them: a process per call, CNI_* environment, config on stdin,
 * CNI_PATH listing our plugin's directory and the Debian one. The "node" is a network namespace holding the master
 * interface (a veth end for macvlan) or the bridge; each "pod" is a network namespace. Needs root; every namespace is
 * deleted after each test, also when it fails.
 */
class CniRealPluginsTest {
    private static final Path DEBIAN_PLUGINS = Path.of("/usr/lib/cni");

    @TempDir
    Path dir;

    private InMemoryCniBackend backend;
    private CniServer server;
    private Path socket;
    private String cniPath;
    private Netns netns;
    private String node;

    @BeforeAll
    static void needsRootAndTheDebianPlugins() {
        assertTrue(Netns.isRoot(), "this test creates network namespaces: run it as root (CI does)");
        for (String plugin : List.of("macvlan", "bridge")) {
            assertTrue(Files.isExecutable(DEBIAN_PLUGINS.resolve(plugin)), DEBIAN_PLUGINS.resolve(plugin)
                    + " is missing: apt-get install containernetworking-plugins (scripts/test installs it)");
        }
    }

    @BeforeEach
    void start() throws IOException {
        backend = new InMemoryCniBackend(new TestClock(), Duration.ofSeconds(30),
                new PoolSpec("blue", Cidr.parse("subnet", "10.77.0.0/24"), IpLiteral.parse("gw", "10.77.0.1"),
                        List.of(new Route(Cidr.parse("dst", "10.200.0.0/16"), Optional.empty()))));
        Path bin = dir.resolve("bin");
        CniPluginInstaller.installTo(bin);
        cniPath = bin + ":" + DEBIAN_PLUGINS;
        socket = dir.resolve("ipam.sock");
        server = CniServer.start(socket, backend, Duration.ofSeconds(5));
        netns = new Netns("isthmus-cni");
        node = netns.create("node");
        // The node's uplink: one end of a veth pair (this kernel has no dummy interfaces).
        Netns.ip("-n", node, "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0-peer");
        Netns.ip("-n", node, "link", "set", "uplink0", "up");
        Netns.ip("-n", node, "link", "set", "uplink0-peer", "up");
    }

    @AfterEach
    void stop() throws IOException {
        try {
            netns.close();
        } finally {
            server.close();
        }
    }

    private String macvlanConfig(String version) {
        return """
                {"cniVersion": "%s", "name": "podnet", "type": "macvlan", "master": "uplink0", "mode": "bridge",
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "%s"}}""".formatted(version, socket);
    }

    private String bridgeConfig() {
        return """
                {"cniVersion": "1.0.0", "name": "bridgenet", "type": "bridge", "bridge": "isth0", "isGateway": true,
                 "ipam": {"type": "isthmus-ipam", "pool": "blue", "socket": "%s"}}""".formatted(socket);
    }

    /** Runs a Debian plugin inside the node namespace, as the runtime on that node would. */
    private PluginRun runInNode(String plugin, Env env, String config) {
        return PluginRun.run(List.of("ip", "netns", "exec", node, DEBIAN_PLUGINS.resolve(plugin).toString()), env, config);
    }

    private Env env(String command, String containerId, String pod) {
        return PluginRun.command(command, containerId, Netns.path(pod), "eth0", cniPath);
    }

    private static String withPrevResult(String config, PluginRun add) {
        return config.replaceFirst("}$", ", \"prevResult\": " + add.stdout().strip() + "}");
    }

    @Test
    void macvlanGetsItsAddressFromIsthmusAndDelFreesIt() {
        String pod = netns.create("pod1");
        PluginRun add = runInNode("macvlan", env("ADD", "ctr1", pod), macvlanConfig("1.0.0"));
        assertEquals(0, add.exitCode(), add.toString());
        String address = ipOf(add.json());
        assertTrue(address.startsWith("10.77.0."), add.toString());
        assertEquals(List.of(address), Netns.addresses(pod, "eth0"), "the pod's eth0 carries the allocated address");
        assertEquals(Optional.of(true), backend.committed(new Attachment("ctr1", "eth0")));
        assertTrue(Netns.ip("-n", pod, "route", "show").contains("10.200.0.0/16"), "the pool's route is installed");

        PluginRun check = runInNode("macvlan", env("CHECK", "ctr1", pod), withPrevResult(macvlanConfig("1.0.0"), add));
        assertEquals(0, check.exitCode(), check.toString());

        PluginRun del = runInNode("macvlan", env("DEL", "ctr1", pod), withPrevResult(macvlanConfig("1.0.0"), add));
        assertEquals(0, del.exitCode(), del.toString());
        assertEquals(List.of(), backend.held("blue"), "DEL freed " + address);
        assertFalse(Netns.hasLink(pod, "eth0"), "macvlan removed the interface");
        PluginRun again = runInNode("macvlan", env("DEL", "ctr1", pod), macvlanConfig("1.0.0"));
        assertEquals(0, again.exitCode(), "a repeated DEL succeeds: " + again);
    }

    @Test
    void macvlanWorksWithAn040Config() {
        String pod = netns.create("pod1");
        PluginRun add = runInNode("macvlan", env("ADD", "ctr040", pod), macvlanConfig("0.4.0"));
        assertEquals(0, add.exitCode(), add.toString());
        assertEquals("0.4.0", add.json().path("cniVersion").asText());
        assertEquals(List.of(ipOf(add.json())), Netns.addresses(pod, "eth0"));
        PluginRun check = runInNode("macvlan", env("CHECK", "ctr040", pod), withPrevResult(macvlanConfig("0.4.0"), add));
        assertEquals(0, check.exitCode(), check.toString());
    }

    @Test
    void bridgeGetsItsAddressFromIsthmusAndDelFreesIt() {
        String pod = netns.create("pod1");
        PluginRun add = runInNode("bridge", env("ADD", "ctr2", pod), bridgeConfig());
        assertEquals(0, add.exitCode(), add.toString());
        String address = ipOf(add.json());
        assertEquals(List.of(address), Netns.addresses(pod, "eth0"));
        assertTrue(Netns.addresses(node, "isth0").contains("10.77.0.1/24"), "isGateway puts the pool's gateway on the bridge");

        PluginRun check = runInNode("bridge", env("CHECK", "ctr2", pod), withPrevResult(bridgeConfig(), add));
        assertEquals(0, check.exitCode(), check.toString());
        PluginRun del = runInNode("bridge", env("DEL", "ctr2", pod), withPrevResult(bridgeConfig(), add));
        assertEquals(0, del.exitCode(), del.toString());
        assertEquals(List.of(), backend.held("blue"));
    }

    @Test
    void aStatefulSetPodGetsTheSameAddressInItsNextIncarnation() {
        String args1 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=11111111";
        String pod1 = netns.create("pg0a");
        PluginRun first = runInNode("macvlan", env("ADD", "pg0-a", pod1).set("CNI_ARGS", args1), macvlanConfig("1.0.0"));
        assertEquals(0, first.exitCode(), first.toString());
        String address = ipOf(first.json());
        PluginRun del = runInNode("macvlan", env("DEL", "pg0-a", pod1).set("CNI_ARGS", args1), macvlanConfig("1.0.0"));
        assertEquals(0, del.exitCode(), del.toString());

        String other = netns.create("other");
        assertEquals(0, runInNode("macvlan", env("ADD", "other", other), macvlanConfig("1.0.0")).exitCode());

        String pod2 = netns.create("pg0b"); // rescheduled: a new sandbox, container id and uid, same identity
        String args2 = "IgnoreUnknown=1;K8S_POD_NAMESPACE=db;K8S_POD_NAME=pg-0;K8S_POD_UID=22222222";
        PluginRun second = runInNode("macvlan", env("ADD", "pg0-b", pod2).set("CNI_ARGS", args2), macvlanConfig("1.0.0"));
        assertEquals(0, second.exitCode(), second.toString());
        assertEquals(address, ipOf(second.json()));
        assertEquals(List.of(address), Netns.addresses(pod2, "eth0"));
    }

    @Test
    void errorsReachTheRuntimeThroughMacvlanWithTheirCodes() throws IOException {
        String pod = netns.create("pod1");
        PluginRun noPool = runInNode("macvlan", env("ADD", "bad1", pod), macvlanConfig("1.0.0").replace("\"pool\": \"blue\", ", ""));
        assertEquals(7, noPool.reportedErrorCode(), noPool.toString());
        assertTrue(noPool.json().path("msg").asText().contains("ipam.pool")
                || noPool.json().path("details").asText().contains("ipam.pool"), noPool.toString());
        // (macvlan 1.1.1 leaves its link behind after an IPAM error; a runtime deletes the sandbox. New pod below.)
        pod = netns.create("pod2");

        PluginRun badJson = PluginRun.run(List.of("ip", "netns", "exec", node, plugin("isthmus-ipam")),
                env("ADD", "bad2", pod), "{not json");
        assertEquals(6, badJson.errorCode(), badJson.toString());

        server.close();
        PluginRun down = runInNode("macvlan", env("ADD", "bad3", pod), macvlanConfig("1.0.0"));
        assertEquals(11, down.reportedErrorCode(), down.toString());
        assertTrue(down.stdout().contains(socket.toString()), "the error names the socket: " + down);

        PluginRun version = PluginRun.run(List.of(plugin("isthmus-ipam")), new Env().set("CNI_COMMAND", "VERSION"),
                "{\"cniVersion\": \"1.0.0\"}");
        assertEquals(0, version.exitCode(), "VERSION needs no gateway: " + version);
    }

    private String plugin(String name) {
        return dir.resolve("bin").resolve(name).toString();
    }

    private static String ipOf(JsonNode result) {
        return result.path("ips").get(0).path("address").asText();
    }
}
