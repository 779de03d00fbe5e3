package io.isthmus.gateway.cli;

import io.isthmus.testing.SriovSysfs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code isthmus diagnose} on fixture sysfs trees and on this machine. */
class DiagnoseCommandTest {

    @Test
    void listsEachPhysicalFunctionAndItsVfs(@TempDir Path dir) {
        SriovSysfs sysfs = new SriovSysfs(dir)
                .virtualDevice("lo", "00:00:00:00:00:00")
                .physicalFunction("enp59s0f0", "0000:3b:00.0", "ice", 64, "3c:fd:fe:00:00:10")
                .virtualFunction("0000:3b:00.0", 0, "0000:3b:01.0", "iavf", "enp59s0f0v0", "02:00:00:00:01:00")
                .virtualFunction("0000:3b:00.0", 1, "0000:3b:01.1", "vfio-pci", null, null);
        Cli diagnose = Cli.run("diagnose", "--sysfs-root", sysfs.root().toString());
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        assertEquals("""
                sr-iov: available: 1 physical function: enp59s0f0 (0000:3b:00.0, driver ice, 2 of 64 VFs enabled)
                  enp59s0f0 vf 0: 0000:3b:01.0, driver iavf, netdev enp59s0f0v0, mac 02:00:00:00:01:00
                  enp59s0f0 vf 1: 0000:3b:01.1, driver vfio-pci, no netdev here
                """, sriovSection(diagnose));
    }

    @Test
    void withoutAPhysicalFunctionItSaysSoAndWhereItLooked(@TempDir Path dir) {
        new SriovSysfs(dir).virtualDevice("lo", "00:00:00:00:00:00").plainNic("eno1", "0000:00:1f.6", "e1000e",
                "3c:fd:fe:00:00:01");
        Cli diagnose = Cli.run("diagnose", "--sysfs-root", dir.toString());
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        assertEquals("sr-iov: unavailable: no SR-IOV physical function: none of the 2 network devices in "
                + dir.resolve("class/net") + " [eno1, lo] has device/sriov_totalvfs\n", sriovSection(diagnose));
    }

    @Test
    void onThisMachineItAnswersFromSlashSys() {
        Cli diagnose = Cli.run("diagnose");
        assertEquals(0, diagnose.exitCode(), diagnose.toString());
        // CI has no SR-IOV hardware; a node that has some gets its PFs listed instead
        String out = sriovSection(diagnose);
        for (String path : new String[] {"batched UDP (recvmmsg/sendmmsg): ", "TUN: ", "UDP GSO/GRO: ", "xdp: "}) {
            assertTrue(diagnose.out().lines().anyMatch(l -> l.startsWith(path + "available: ")
                    || l.startsWith(path + "unavailable: ")), path + " in\n" + diagnose.out());
        }
        if (out.startsWith("sr-iov: unavailable: ")) {
            assertTrue(out.startsWith("sr-iov: unavailable: no SR-IOV physical function: none of the "), out);
            assertTrue(out.contains(" network devices in /sys/class/net ["), out);
        } else {
            assertTrue(out.startsWith("sr-iov: available: ") && out.contains(" physical function"), out);
        }
    }

    /** From the SR-IOV line on (the fast-path lines before it depend on this machine). */
    private static String sriovSection(Cli diagnose) {
        String out = diagnose.out();
        int at = out.indexOf("sr-iov: ");
        assertTrue(at >= 0, out);
        return out.substring(at);
    }
}
