package io.isthmus.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A fixture sysfs tree with the files and symlinks the kernel makes for SR-IOV network devices, for tests on machines
 * without SR-IOV hardware (no netdevsim either). Laid out like {@code /sys}:
 *
 * <pre>
 * devices/pci0000:00/0000:00:03.0/PCI/     sriov_totalvfs, sriov_numvfs, driver → ../../../../bus/pci/drivers/D,
 *                                          virtfnN → ../VFPCI, net/NAME/{address, device → ../../../PCI}
 * devices/pci0000:00/0000:00:03.0/VFPCI/   physfn → ../PCI, driver → ..., net/VFNAME/...
 * devices/virtual/net/NAME/address         (a virtual device: no device link)
 * class/net/NAME → ../../devices/.../net/NAME
 * bus/pci/drivers/D/
 * </pre>
 */
public final class SriovSysfs {
    private static final String BRIDGE = "devices/pci0000:00/0000:00:03.0";

    private final Path root;

    public SriovSysfs(Path root) {
        this.root = root;
        mkdirs(root.resolve("class/net"));
    }

    public Path root() {
        return root;
    }

    /** An SR-IOV capable NIC with no VFs enabled yet ({@code sriov_numvfs} 0). */
    public SriovSysfs physicalFunction(String netdev, String pci, String driver, int totalVfs, String mac) {
        Path device = root.resolve(BRIDGE).resolve(pci);
        write(device.resolve("sriov_totalvfs"), totalVfs + "\n");
        write(device.resolve("sriov_numvfs"), "0\n");
        bind(device, driver);
        netdev(device, netdev, pci, mac);
        return this;
    }

    /**
     * Enables VF {@code index} of the PF at {@code pfPci}: its PCI directory, {@code virtfnN} and {@code physfn}, the
     * driver, and its netdev when {@code netdev} is not null (a VF bound to vfio-pci has none). Sets the PF's
     * {@code sriov_numvfs} to the count of its {@code virtfn} links.
     */
    public SriovSysfs virtualFunction(String pfPci, int index, String vfPci, String driver, String netdev, String mac) {
        Path pf = root.resolve(BRIDGE).resolve(pfPci);
        Path vf = root.resolve(BRIDGE).resolve(vfPci);
        mkdirs(vf);
        link(vf.resolve("physfn"), "../" + pfPci);
        link(pf.resolve("virtfn" + index), "../" + vfPci);
        bind(vf, driver);
        if (netdev != null) {
            netdev(vf, netdev, vfPci, mac);
        }
        try (var entries = Files.list(pf)) {
            long enabled = entries.filter(p -> p.getFileName().toString().startsWith("virtfn")).count();
            write(pf.resolve("sriov_numvfs"), enabled + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    /** A PCI NIC without SR-IOV. */
    public SriovSysfs plainNic(String netdev, String pci, String driver, String mac) {
        Path device = root.resolve(BRIDGE).resolve(pci);
        mkdirs(device);
        bind(device, driver);
        netdev(device, netdev, pci, mac);
        return this;
    }

    /** A virtual device (loopback, veth, bridge): a netdev without a {@code device} link. */
    public SriovSysfs virtualDevice(String netdev, String mac) {
        Path net = root.resolve("devices/virtual/net").resolve(netdev);
        write(net.resolve("address"), mac + "\n");
        link(root.resolve("class/net").resolve(netdev), "../../devices/virtual/net/" + netdev);
        return this;
    }

    /** The PCI directory of {@code pci}, to corrupt or remove a file a test needs wrong. */
    public Path pciDirectory(String pci) {
        return root.resolve(BRIDGE).resolve(pci);
    }

    /** Moves the netdev of a VF away, as when the VF is handed to a pod's network namespace. */
    public void removeNetdev(String pci, String netdev) {
        try {
            Path net = root.resolve(BRIDGE).resolve(pci).resolve("net").resolve(netdev);
            Files.delete(net.resolve("device"));
            Files.delete(net.resolve("address"));
            Files.delete(net);
            Files.delete(root.resolve("class/net").resolve(netdev));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void netdev(Path device, String netdev, String pci, String mac) {
        Path net = device.resolve("net").resolve(netdev);
        write(net.resolve("address"), mac + "\n");
        link(net.resolve("device"), "../../../" + pci);
        link(root.resolve("class/net").resolve(netdev), "../../" + BRIDGE + "/" + pci + "/net/" + netdev);
    }

    private void bind(Path device, String driver) {
        if (driver != null) {
            mkdirs(root.resolve("bus/pci/drivers").resolve(driver));
            link(device.resolve("driver"), "../../../../bus/pci/drivers/" + driver);
        }
    }

    private static void write(Path file, String content) {
        try {
            mkdirs(file.getParent());
            Files.writeString(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void link(Path link, String target) {
        try {
            mkdirs(link.getParent());
            Files.createSymbolicLink(link, Path.of(target));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void mkdirs(Path directory) {
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
