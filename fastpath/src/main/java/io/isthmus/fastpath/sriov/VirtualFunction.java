package io.isthmus.fastpath.sriov;

import java.util.Objects;
import java.util.Optional;

/**
 * One SR-IOV virtual function of a {@link PhysicalFunction}, as sysfs shows it.
 *
 * @param index      the VF number on its PF ({@code virtfnN}), what rtnetlink's {@code vf} fields take
 * @param pciAddress its own PCI address, e.g. {@code 0000:3b:10.1}
 * @param driver     the driver bound to it (e.g. {@code iavf}, {@code vfio-pci}); empty when none is bound
 * @param netdev     its network device in this network namespace, when a net driver is bound and the device has
 *                   not been moved into a pod's namespace
 * @param mac        the MAC of that network device (sysfs {@code address}); empty without a netdev here
 */
public record VirtualFunction(int index, String pciAddress, String driver, Optional<String> netdev,
                              Optional<MacAddress> mac) {
    public VirtualFunction {
        if (index < 0) {
            throw new IllegalArgumentException("a VF index is 0 or more, not " + index);
        }
        Objects.requireNonNull(pciAddress, "pciAddress");
        Objects.requireNonNull(driver, "driver");
        Objects.requireNonNull(netdev, "netdev");
        Objects.requireNonNull(mac, "mac");
    }
}
