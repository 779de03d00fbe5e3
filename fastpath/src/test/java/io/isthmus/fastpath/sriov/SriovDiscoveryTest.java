package io.isthmus.fastpath.sriov;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.InvalidArgumentException;
import io.isthmus.testing.SriovSysfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery on fixture sysfs trees laid out as the kernel lays out {@code /sys} (no SR-IOV hardware here). */
class SriovDiscoveryTest {
    @TempDir
    Path root;

    private SriovSysfs node() {
        return new SriovSysfs(root)
                .virtualDevice("lo", "00:00:00:00:00:00")
                .plainNic("eno1", "0000:00:1f.6", "e1000e", "3c:fd:fe:00:00:01")
                .physicalFunction("enp59s0f0", "0000:3b:00.0", "ixgbe", 63, "3c:fd:fe:00:00:10")
                .virtualFunction("0000:3b:00.0", 0, "0000:3b:10.0", "ixgbevf", "enp59s0f0v0", "02:00:00:00:01:00")
                .virtualFunction("0000:3b:00.0", 1, "0000:3b:10.2", "ixgbevf", "enp59s0f0v1", "02:00:00:00:01:01")
                .virtualFunction("0000:3b:00.0", 2, "0000:3b:10.4", "vfio-pci", null, null)
                .physicalFunction("enp59s0f1", "0000:3b:00.1", "ixgbe", 63, "3c:fd:fe:00:00:11");
    }

    @Test
    void findsEachPhysicalFunctionWithItsVirtualFunctions() throws Exception {
        node();
        List<PhysicalFunction> pfs = new SriovDiscovery(root).physicalFunctions();

        assertEquals(List.of("enp59s0f0", "enp59s0f1"), pfs.stream().map(PhysicalFunction::netdev).toList());
        PhysicalFunction first = pfs.get(0);
        assertEquals("0000:3b:00.0", first.pciAddress());
        assertEquals("ixgbe", first.driver());
        assertEquals(63, first.totalVfs());
        assertEquals(3, first.numVfs());
        assertEquals(Optional.of(MacAddress.parse("m", "3c:fd:fe:00:00:10")), first.mac());
        assertEquals(List.of(
                new VirtualFunction(0, "0000:3b:10.0", "ixgbevf", Optional.of("enp59s0f0v0"),
                        Optional.of(MacAddress.parse("m", "02:00:00:00:01:00"))),
                new VirtualFunction(1, "0000:3b:10.2", "ixgbevf", Optional.of("enp59s0f0v1"),
                        Optional.of(MacAddress.parse("m", "02:00:00:00:01:01"))),
                new VirtualFunction(2, "0000:3b:10.4", "vfio-pci", Optional.empty(), Optional.empty())),
                first.vfs());
        assertEquals(0, pfs.get(1).numVfs());
        assertEquals(List.of(), pfs.get(1).vfs());
    }

    @Test
    void devicesWithoutSriovAreNotPhysicalFunctions() throws Exception {
        node();
        SriovDiscovery discovery = new SriovDiscovery(root);
        assertEquals(Optional.empty(), discovery.physicalFunction("eno1"));
        assertEquals(Optional.empty(), discovery.physicalFunction("lo"));
        assertEquals(Optional.empty(), discovery.physicalFunction("enp59s0f0v0")); // a VF is not a PF
        assertEquals(Optional.empty(), discovery.physicalFunction("nosuch0"));
        assertEquals("invalid pf '../lo': is not a network device name (1-15 bytes, no '/')",
                assertThrows(InvalidArgumentException.class, () -> discovery.physicalFunction("../lo")).getMessage());
    }

    @Test
    void aVfMovedIntoAPodHasNoNetdevHere() throws Exception {
        SriovSysfs sysfs = node();
        sysfs.removeNetdev("0000:3b:10.2", "enp59s0f0v1");
        VirtualFunction vf = new SriovDiscovery(root).physicalFunction("enp59s0f0").orElseThrow().vfs().get(1);
        assertEquals(Optional.empty(), vf.netdev());
        assertEquals(Optional.empty(), vf.mac());
        assertEquals("0000:3b:10.2", vf.pciAddress());
    }

    @Test
    void capabilitySaysWhichPhysicalFunctionsThereAre() {
        node();
        Availability capability = new SriovDiscovery(root).capability();
        assertTrue(capability.available(), capability.toString());
        assertEquals("2 physical functions: enp59s0f0 (0000:3b:00.0, driver ixgbe, 3 of 63 VFs enabled), "
                + "enp59s0f1 (0000:3b:00.1, driver ixgbe, 0 of 63 VFs enabled)", capability.reason());
    }

    @Test
    void capabilityWithoutAnyPhysicalFunctionSaysWhereItLooked() {
        new SriovSysfs(root).virtualDevice("lo", "00:00:00:00:00:00")
                .plainNic("eno1", "0000:00:1f.6", "e1000e", "3c:fd:fe:00:00:01");
        Availability capability = new SriovDiscovery(root).capability();
        assertFalse(capability.available());
        assertEquals("no SR-IOV physical function: none of the 2 network devices in " + root.resolve("class/net")
                + " [eno1, lo] has device/sriov_totalvfs", capability.reason());
    }

    @Test
    void thisMachineAnswersFromSlashSys() {
        // No SR-IOV hardware in CI; whatever the node has, the answer names where it looked or what it found.
        Availability capability = SriovDiscovery.system().capability();
        assertTrue(capability.available() || capability.reason().contains("/sys/class/net"), capability.toString());
    }

    @Test
    void whatTheKernelNeverWritesIsNamedWithItsPathAndValue() throws Exception {
        SriovSysfs sysfs = node();
        Path numVfs = sysfs.pciDirectory("0000:3b:00.1").resolve("sriov_numvfs");
        SriovDiscovery discovery = new SriovDiscovery(root);
        Path shown = root.resolve("class/net/enp59s0f1/device/sriov_numvfs");

        Files.writeString(numVfs, "four\n");
        SysfsException notANumber = assertThrows(SysfsException.class, () -> discovery.physicalFunction("enp59s0f1"));
        assertEquals(shown + " holds 'four': not a number of VFs", notANumber.getMessage());
        assertEquals("four", notANumber.value());
        assertEquals(shown, notANumber.path());

        Files.writeString(numVfs, "64\n");
        assertEquals(shown + " holds '64': more VFs enabled than sriov_totalvfs (63) allows",
                assertThrows(SysfsException.class, () -> discovery.physicalFunctions()).getMessage());

        Files.writeString(numVfs, "1\n"); // enabled, but virtfn0 is not there (yet)
        assertEquals(root.resolve("class/net/enp59s0f1/device/virtfn0") + ": missing though sriov_numvfs is 1"
                        + " (are VFs being enabled or disabled right now? read again)",
                assertThrows(SysfsException.class, () -> discovery.physicalFunction("enp59s0f1")).getMessage());
        assertFalse(discovery.capability().available());
        assertTrue(discovery.capability().reason().startsWith("SR-IOV discovery failed: "),
                discovery.capability().reason());
    }

    @Test
    void aRootWithoutSysfsIsNamed() {
        SriovDiscovery discovery = new SriovDiscovery(root.resolve("nothing"));
        assertEquals(root.resolve("nothing/class/net") + ": no such directory (is sysfs mounted at "
                        + root.resolve("nothing") + "?)",
                assertThrows(SysfsException.class, discovery::physicalFunctions).getMessage());
    }
}
