package io.isthmus.fastpath.sriov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.RouteNetlink;
import io.isthmus.fastpath.SystemCallException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real RTM_SETLINK requests to a real link without SR-IOV (a veth in a namespace the test makes; root): there is no
 * SR-IOV hardware here. The kernel parses the IFLA_VFINFO_LIST (its policy checks every attribute's length) and only
 * then finds the driver has no ndo_set_vf_*: EOPNOTSUPP, as {@code ip link set v0 vf 0 mac ...} gets here. A nest
 * with a truncated ifla_vf_mac is refused earlier, by the attribute policy, with ERANGE: so the first answer proves our
 * encoding got through the parser.
 */
class VfLinksKernelTest {
    private String namespace;
    private RouteNetlink netlink;

    @BeforeEach
    void vethInANamespace() throws Exception {
        namespace = "isthmus-sriov-" + ProcessHandle.current().pid() + "-"
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(1 << 20));
        run(List.of("ip", "netns", "add", namespace));
        run(List.of("ip", "-n", namespace, "link", "add", "vfpf0", "type", "veth", "peer", "name", "vfpf1"));
        netlink = NetNamespace.named(namespace).call(RouteNetlink::open);
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (netlink != null) {
            netlink.close();
        }
        run(List.of("ip", "netns", "del", namespace));
    }

    @Test
    void everyVfSettingOnANonSriovLinkIsRefusedSayingWhatToDo() throws Exception {
        VfLinks links = new VfLinks(netlink);
        List<VfConfig> each = List.of(
                VfConfig.of(0).withMac(MacAddress.parse("mac", "02:00:00:00:00:01")),
                VfConfig.of(0).withVlan(100, 3),
                VfConfig.of(0).withTrust(true),
                VfConfig.of(0).withSpoofCheck(false),
                VfConfig.of(0).withRate(10, 100));
        for (VfConfig config : each) {
            VfConfigurationException refused = assertThrows(VfConfigurationException.class,
                    () -> links.configure("vfpf0", config));
            assertEquals(95, refused.errno(), refused.getMessage());
            String message = refused.getMessage();
            assertTrue(message.startsWith("setting VF 0 of vfpf0 (" + config.describe() + ") failed: EOPNOTSUPP"),
                    message);
            assertTrue(message.contains("vfpf0 has no SR-IOV VFs to set, or its driver lacks one of these settings"),
                    message);
            assertTrue(message.contains("name a PF that `isthmus diagnose` lists"), message);
        }
        VfConfigurationException trust = assertThrows(VfConfigurationException.class,
                () -> links.configure("vfpf0", VfConfig.of(0).withTrust(true)));
        assertEquals("setting VF 0 of vfpf0 (trust on) failed: EOPNOTSUPP; this kernel or device does not support it;"
                + " vfpf0 has no SR-IOV VFs to set, or its driver lacks one of these settings (each driver implements"
                + " its own subset): name a PF that `isthmus diagnose` lists, and leave out what its driver does not do",
                trust.getMessage());
    }

    @Test
    void aTruncatedVfMacFailsThePolicyCheckBeforeTheDriverIsAsked() throws Exception {
        // IFLA_VFINFO_LIST { IFLA_VF_INFO { IFLA_VF_MAC with 8 of its 36 bytes } }, little endian
        byte[] truncated = java.util.HexFormat.of().parseHex("1400" + "1680" + "1000" + "0180" + "0c00" + "0100"
                + "00000000" + "02000000");
        SystemCallException refused = assertThrows(SystemCallException.class,
                () -> netlink.setLinkAttributes("vfpf0", truncated, "a short ifla_vf_mac"));
        assertEquals("ERANGE", refused.errnoName(), refused.getMessage());
    }

    @Test
    void aMissingLinkIsNamed() {
        SystemCallException refused = assertThrows(SystemCallException.class, () -> new VfLinks(netlink)
                .configure("nosuchpf0", VfConfig.of(1).withTrust(true)));
        assertTrue(refused.getMessage().contains("ENODEV"), refused.getMessage());
        assertTrue(refused.getMessage().startsWith("setting VF 1 of nosuchpf0 (trust on)"), refused.getMessage());
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(command + " did not finish in 20 s");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException(command + " exited " + process.exitValue() + ": " + text);
        }
        return text;
    }
}
