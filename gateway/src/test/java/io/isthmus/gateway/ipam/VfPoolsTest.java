package io.isthmus.gateway.ipam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.fastpath.sriov.SriovDiscovery;
import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.Vf;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;
import io.isthmus.testing.SettableClock;
import io.isthmus.testing.SriovSysfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The VF pools on a fixture sysfs tree: one PF with three VFs (two with netdevs, one bound to vfio-pci). */
class VfPoolsTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final Attachment A = new Attachment("ctr-a", "net1");
    private static final Attachment B = new Attachment("ctr-b", "net1");
    private static final Attachment C = new Attachment("ctr-c", "net1");
    private static final Attachment D = new Attachment("ctr-d", "net1");

    @TempDir
    Path dir;
    private SriovSysfs sysfs;
    private SettableClock clock;
    private Path state;

    @BeforeEach
    void node() {
        sysfs = new SriovSysfs(dir.resolve("sys"))
                .virtualDevice("lo", "00:00:00:00:00:00")
                .plainNic("eno1", "0000:00:1f.6", "e1000e", "3c:fd:fe:00:00:01")
                .physicalFunction("enp59s0f0", "0000:3b:00.0", "ixgbe", 8, "3c:fd:fe:00:00:10")
                .virtualFunction("0000:3b:00.0", 0, "0000:3b:10.0", "ixgbevf", "enp59s0f0v0", "02:00:00:00:01:00")
                .virtualFunction("0000:3b:00.0", 1, "0000:3b:10.2", "ixgbevf", "enp59s0f0v1", "02:00:00:00:01:01")
                .virtualFunction("0000:3b:00.0", 2, "0000:3b:10.4", "vfio-pci", null, null);
        clock = new SettableClock(Instant.parse("2026-12-07T12:00:00Z"));
        state = dir.resolve("data").resolve("ipam-vfs.json");
    }

    private VfPools open() throws Exception {
        return VfPools.open(new SriovDiscovery(sysfs.root()), state, TIMEOUT, clock);
    }

    private static Vf vf(int index, String pci, String netdev, String mac) {
        return new Vf("enp59s0f0", index, pci, Optional.ofNullable(netdev), Optional.ofNullable(mac));
    }

    @Test
    void handsOutTheLowestFreeVfOncePerAttachment() throws Exception {
        VfPools pools = open();
        Vf first = vf(0, "0000:3b:10.0", "enp59s0f0v0", "02:00:00:00:01:00");
        assertEquals(first, pools.reserve("enp59s0f0", A));
        assertEquals(first, pools.reserve("enp59s0f0", A), "a repeated reserve gets the same VF");
        assertEquals(vf(1, "0000:3b:10.2", "enp59s0f0v1", "02:00:00:00:01:01"), pools.reserve("enp59s0f0", B));
        assertEquals(vf(2, "0000:3b:10.4", null, null), pools.reserve("enp59s0f0", C), "a vfio-pci VF counts too");

        CniBackendException exhausted = assertThrows(CniBackendException.class, () -> pools.reserve("enp59s0f0", D));
        assertEquals(CniBackendError.POOL_EXHAUSTED, exhausted.error());
        assertEquals("the VF pool of enp59s0f0 is exhausted: all 3 enabled VFs are held (sriov_numvfs 3 of"
                + " sriov_totalvfs 8; enabling more is writing a larger number to sriov_numvfs)", exhausted.getMessage());

        assertEquals(Optional.of(vf(1, "0000:3b:10.2", "enp59s0f0v1", "02:00:00:00:01:01")), pools.release(B));
        assertEquals(1, pools.reserve("enp59s0f0", D).index(), "a released VF goes to the next attachment");
        assertEquals(Optional.empty(), pools.release(B), "releasing twice frees nothing more");
    }

    @Test
    void aPfThatIsNotThereOrNotSriovIsNamedWithWhatTheNodeHas() throws Exception {
        VfPools pools = open();
        for (String pf : List.of("eno1", "nosuch0")) {
            CniBackendException refused = assertThrows(CniBackendException.class, () -> pools.reserve(pf, A));
            assertEquals(CniBackendError.BAD_REQUEST, refused.error());
            assertEquals("ipam.sriov.pf " + pf + " is not an SR-IOV physical function on this node (no "
                    + sysfs.root().resolve("class/net").resolve(pf).resolve("device/sriov_totalvfs")
                    + "; 1 physical function: enp59s0f0 (0000:3b:00.0, driver ixgbe, 3 of 8 VFs enabled))",
                    refused.getMessage());
        }
        pools.reserve("enp59s0f0", A);
        sysfs.physicalFunction("enp59s0f1", "0000:3b:00.1", "ixgbe", 8, "3c:fd:fe:00:00:11")
                .virtualFunction("0000:3b:00.1", 0, "0000:3b:11.0", "ixgbevf", "enp59s0f1v0", "02:00:00:00:02:00");
        CniBackendException second = assertThrows(CniBackendException.class, () -> pools.reserve("enp59s0f1", A));
        assertEquals("container ctr-a/net1 already holds VF 0 of enp59s0f0, not one of enp59s0f1", second.getMessage());
    }

    @Test
    void anUncommittedReservationExpiresAndACommittedOneSurvivesARestart() throws Exception {
        VfPools pools = open();
        pools.reserve("enp59s0f0", A);
        pools.reserve("enp59s0f0", B);
        assertEquals(0, pools.commit("enp59s0f0", A).index());
        assertEquals(Optional.of(vf(0, "0000:3b:10.0", "enp59s0f0v0", "02:00:00:00:01:00")), pools.heldBy(A));
        assertEquals(Optional.empty(), pools.heldBy(B), "a reservation is not a holding");

        clock.set(clock.instant().plus(TIMEOUT));
        assertEquals(1, pools.reserve("enp59s0f0", C).index(), "B's reservation expired; its VF went to C");
        CniBackendException late = assertThrows(CniBackendException.class, () -> pools.commit("enp59s0f0", B));
        assertEquals(CniBackendError.RESERVATION_EXPIRED, late.error());
        assertEquals("container ctr-b/net1 holds no VF of enp59s0f0 any more (its reservation expired): retry the ADD",
                late.getMessage());

        assertTrue(Files.readString(state).contains("\"containerId\" : \"ctr-a\""), Files.readString(state));
        VfPools restarted = open();
        assertEquals(Optional.of(vf(0, "0000:3b:10.0", "enp59s0f0v0", "02:00:00:00:01:00")), restarted.heldBy(A));
        assertEquals(1, restarted.reserve("enp59s0f0", D).index(), "VF 0 is still held after the restart");
        restarted.release(A);
        assertEquals(Optional.empty(), open().heldBy(A), "the release reached the file");
    }

    @Test
    void aCancelledReservationIsFreeAtOnce() throws Exception {
        VfPools pools = open();
        pools.reserve("enp59s0f0", A);
        pools.commit("enp59s0f0", A);
        pools.reserve("enp59s0f0", B);
        pools.cancel(B);
        pools.cancel(A); // a committed holding is not cancelled
        assertEquals(List.of(0), pools.holdings().stream().map(h -> h.vf().index()).toList());
        assertEquals(1, pools.reserve("enp59s0f0", C).index());
    }

    @Test
    void aBrokenHoldingsFileIsNamed() throws Exception {
        Files.createDirectories(state.getParent());
        Files.writeString(state, "{not json");
        Exception refused = assertThrows(java.io.IOException.class, this::open);
        assertTrue(refused.getMessage().startsWith(state + ": not a VF holdings file: "), refused.getMessage());
    }
}
