package io.isthmus.gateway.cli;

import io.isthmus.api.ipam.Lease;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.ipam.cni.CniPluginInstaller;
import io.isthmus.testing.PluginRun;
import io.isthmus.testing.SriovSysfs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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
 * CNI ADD/CHECK/DEL asking for an SR-IOV VF, through the real {@code isthmus-ipam} plugin and a real gateway (its
 * CNI endpoint, pool entities and journal), with the gateway reading a fixture sysfs tree
 * ({@code ipam.sriov-sysfs-root}): there is no SR-IOV hardware here. The plugin runs as an SR-IOV main plugin runs
 * its IPAM; moving the VF's netdev into the pod cannot be done without hardware and is not tried. Runs as root
 * (the CNI socket serves uid 0).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SriovCniThroughGatewayTest {
    private Gateway gateway;
    private Path socket;
    private Path plugin;
    private Path data;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        SriovSysfs sysfs = new SriovSysfs(dir.resolve("sys"))
                .virtualDevice("lo", "00:00:00:00:00:00")
                .plainNic("eno1", "0000:00:1f.6", "e1000e", "3c:fd:fe:00:00:01")
                .physicalFunction("enp59s0f0", "0000:3b:00.0", "ice", 64, "3c:fd:fe:00:00:10")
                .virtualFunction("0000:3b:00.0", 0, "0000:3b:01.0", "iavf", "enp59s0f0v0", "02:00:00:00:01:00")
                .virtualFunction("0000:3b:00.0", 1, "0000:3b:01.1", "vfio-pci", null, null);
        data = dir.resolve("data");
        new TestPki(dir.resolve("ca")).issue("east", data.resolve("tls"));
        gateway = TestGateways.start("east", dir, data, """
                plan {
                  members = [east]
                  supernets.underlay = [{cidr = "10.78.0.0/16", segment-prefix = 20}]
                }
                ipam {
                  cni-socket = "run/ipam.sock"
                  sriov-sysfs-root = "%s"
                }
                """.formatted(sysfs.root()));
        socket = data.resolve("run").resolve("ipam.sock");
        String admin = "http://127.0.0.1:" + gateway.adminAddress().getPort();
        assertEquals(0, Cli.run("ipam", "claim", "--admin", admin, "--kind", "underlay").exitCode());
        Cli pool = Cli.run("ipam", "create-pool", "--admin", admin, "--name", "fast", "--cidr", "10.78.0.0/24",
                "--gateway", "10.78.0.1");
        assertEquals(0, pool.exitCode(), pool.toString());
        plugin = CniPluginInstaller.installTo(dir.resolve("bin"));
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private String config(String pf) {
        return """
                {"cniVersion": "1.1.0", "name": "fastnet", "type": "sriov",
                 "ipam": {"type": "isthmus-ipam", "pool": "fast", "socket": "%s", "sriov": {"pf": "%s"}}}"""
                .formatted(socket, pf);
    }

    private PluginRun call(String command, String containerId, String config) {
        PluginRun.Env env = PluginRun.command(command, containerId, "/var/run/netns/" + containerId, "net1",
                plugin.getParent().toString());
        return PluginRun.run(List.of(plugin.toString()), env, config);
    }

    private List<Lease> leasesOf(String... containers) throws Exception {
        List<String> wanted = List.of(containers);
        return gateway.ipam().leases("fast").toCompletableFuture().get(10, TimeUnit.SECONDS).stream()
                .filter(lease -> wanted.contains(lease.owner().name())).toList();
    }

    @Test
    void eachAttachmentGetsItsOwnVfWithItsAddressesAndGivesItBackWithThem() throws Exception {
        PluginRun first = call("ADD", "ctr-1", config("enp59s0f0"));
        assertEquals(0, first.exitCode(), first.toString());
        assertEquals("net1", first.json().path("interfaces").get(0).path("name").asText(), first.toString());
        assertEquals("0000:3b:01.0", first.json().path("interfaces").get(0).path("pciID").asText());
        assertEquals("02:00:00:00:01:00", first.json().path("interfaces").get(0).path("mac").asText());
        assertTrue(first.json().path("ips").get(0).path("address").asText().startsWith("10.78.0."), first.toString());

        PluginRun second = call("ADD", "ctr-2", config("enp59s0f0"));
        assertEquals(0, second.exitCode(), second.toString());
        assertEquals("0000:3b:01.1", second.json().path("interfaces").get(0).path("pciID").asText());
        assertFalse(second.json().path("interfaces").get(0).has("mac"), "a vfio-pci VF shows no MAC: " + second);

        PluginRun third = call("ADD", "ctr-3", config("enp59s0f0"));
        assertEquals(100, third.errorCode(), third.toString());
        assertTrue(third.json().path("details").asText().contains("the VF pool of enp59s0f0 is exhausted"),
                third.toString());
        assertEquals(List.of(), leasesOf("ctr-3"), "no address is held for an ADD that got no VF");

        String holdings = Files.readString(data.resolve("ipam-vfs.json"));
        assertTrue(holdings.contains("\"containerId\" : \"ctr-1\"") && holdings.contains("\"containerId\" : \"ctr-2\""),
                holdings);
        String check = config("enp59s0f0").replace("\"type\": \"sriov\",", "\"type\": \"sriov\", \"prevResult\": "
                + first.stdout().strip() + ",");
        PluginRun checked = call("CHECK", "ctr-1", check);
        assertEquals(0, checked.exitCode(), checked.toString());

        assertEquals(0, call("DEL", "ctr-1", config("enp59s0f0")).exitCode());
        assertEquals(List.of(), leasesOf("ctr-1"), "DEL freed the lease");
        assertFalse(Files.readString(data.resolve("ipam-vfs.json")).contains("ctr-1"), "and the VF");
        PluginRun again = call("ADD", "ctr-3", config("enp59s0f0"));
        assertEquals(0, again.exitCode(), again.toString());
        assertEquals("0000:3b:01.0", again.json().path("interfaces").get(0).path("pciID").asText(),
                "ctr-1's VF went to ctr-3");

        assertEquals(0, call("DEL", "ctr-2", config("enp59s0f0")).exitCode());
        assertEquals(0, call("DEL", "ctr-3", config("enp59s0f0")).exitCode());
        assertEquals(0, call("DEL", "ctr-3", config("enp59s0f0")).exitCode(), "DEL stays idempotent");
        assertEquals(List.of(), leasesOf("ctr-1", "ctr-2", "ctr-3"));
    }

    @Test
    void aDeviceWithoutSriovIsAnInvalidConfigNamingWhatTheNodeHas() throws Exception {
        PluginRun add = call("ADD", "ctr-plain", config("eno1"));
        assertEquals(7, add.errorCode(), add.toString());
        String details = add.json().path("details").asText();
        assertTrue(details.contains("ipam.sriov.pf eno1 is not an SR-IOV physical function on this node"), details);
        assertTrue(details.contains("enp59s0f0 (0000:3b:00.0, driver ice, 2 of 64 VFs enabled)"), details);
        assertEquals(List.of(), leasesOf("ctr-plain"));
    }
}
