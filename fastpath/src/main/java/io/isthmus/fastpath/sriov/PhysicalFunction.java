package io.isthmus.fastpath.sriov;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * An SR-IOV capable network device (a PCI physical function with {@code sriov_totalvfs}) and its enabled VFs.
 *
 * @param netdev     the PF's network device, e.g. {@code enp59s0f0}: the name rtnetlink VF settings go to
 * @param pciAddress e.g. {@code 0000:3b:00.0}
 * @param driver     e.g. {@code ixgbe}, {@code ice}, {@code mlx5_core}; empty when none is bound
 * @param totalVfs   {@code sriov_totalvfs}: the most VFs the device offers
 * @param numVfs     {@code sriov_numvfs}: how many are enabled now (0: none; an operator writes the number there)
 * @param mac        the PF's own MAC
 * @param vfs        the enabled VFs by index, {@code numVfs} of them
 */
public record PhysicalFunction(String netdev, String pciAddress, String driver, int totalVfs, int numVfs,
                               Optional<MacAddress> mac, List<VirtualFunction> vfs) {
    public PhysicalFunction {
        Objects.requireNonNull(netdev, "netdev");
        Objects.requireNonNull(pciAddress, "pciAddress");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(mac, "mac");
        vfs = List.copyOf(vfs);
        if (vfs.size() != numVfs) {
            throw new IllegalArgumentException(netdev + ": " + vfs.size() + " VFs listed for numVfs " + numVfs);
        }
    }

    /** The VF with this index, if enabled. */
    public Optional<VirtualFunction> vf(int index) {
        return index >= 0 && index < vfs.size() ? Optional.of(vfs.get(index)) : Optional.empty();
    }
}
