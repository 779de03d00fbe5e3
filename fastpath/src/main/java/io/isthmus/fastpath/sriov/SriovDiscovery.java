package io.isthmus.fastpath.sriov;

import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.InvalidArgumentException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Finds SR-IOV physical functions and their virtual functions in sysfs, the way the kernel lays them out:
 *
 * <pre>
 * class/net/PF/device        → the PF's PCI device directory (devices/pci0000:00/.../0000:3b:00.0)
 *   sriov_totalvfs, sriov_numvfs   the most VFs, and how many are enabled
 *   driver                   → bus/pci/drivers/ixgbe
 *   virtfn0 … virtfnN-1      → each VF's PCI device directory, which has driver, physfn and net/VFNAME/address
 * class/net/PF/address       the PF's MAC
 * </pre>
 *
 * Reads only; nothing is cached (VFs come and go when an operator writes {@code sriov_numvfs}, and a VF's netdev
 * leaves this namespace when it is moved into a pod). The root is {@code /sys} on a node; tests give a fixture tree.
 */
public final class SriovDiscovery {
    public static final Path DEFAULT_ROOT = Path.of("/sys");
    private static final Pattern COUNT = Pattern.compile("\\d{1,6}");

    private final Path root;

    public SriovDiscovery(Path root) {
        this.root = root;
    }

    public static SriovDiscovery system() {
        return new SriovDiscovery(DEFAULT_ROOT);
    }

    public Path root() {
        return root;
    }

    /** Where network devices are listed: {@code ROOT/class/net}. */
    public Path netClass() {
        return root.resolve("class").resolve("net");
    }

    /** Every network device here whose PCI device has {@code sriov_totalvfs}, by name. */
    public List<PhysicalFunction> physicalFunctions() throws SysfsException {
        List<PhysicalFunction> found = new ArrayList<>();
        for (String name : netdevs()) {
            Optional<PhysicalFunction> pf = physicalFunction(name);
            if (pf.isPresent()) {
                found.add(pf.get());
            }
        }
        return List.copyOf(found);
    }

    /**
     * The PF whose netdev is {@code netdev}; empty when there is no such device here or it is not SR-IOV capable
     * (a virtual device, a VF, a NIC without the capability).
     */
    public Optional<PhysicalFunction> physicalFunction(String netdev) throws SysfsException {
        requireName(netdev);
        Path device = netClass().resolve(netdev).resolve("device");
        if (!Files.exists(device.resolve("sriov_totalvfs"))) {
            return Optional.empty();
        }
        Path pciDirectory = realPath(device);
        int total = count(device.resolve("sriov_totalvfs"));
        Path numPath = device.resolve("sriov_numvfs");
        int enabled = count(numPath);
        if (enabled > total) {
            throw new SysfsException(numPath, String.valueOf(enabled), "more VFs enabled than sriov_totalvfs (" + total
                    + ") allows");
        }
        List<VirtualFunction> vfs = new ArrayList<>();
        for (int index = 0; index < enabled; index++) {
            vfs.add(virtualFunction(device, index, enabled));
        }
        return Optional.of(new PhysicalFunction(netdev, pciDirectory.getFileName().toString(),
                driver(pciDirectory), total, enabled, mac(netClass().resolve(netdev).resolve("address")), vfs));
    }

    /**
     * Whether this node offers SR-IOV, for {@code isthmus diagnose}: the PFs found with their enabled VFs, or that
     * none was found and where it looked.
     */
    public Availability capability() {
        try {
            List<PhysicalFunction> pfs = physicalFunctions();
            if (pfs.isEmpty()) {
                List<String> names = netdevs();
                return new Availability(false, "no SR-IOV physical function: none of the " + names.size()
                        + " network devices in " + netClass() + " " + names + " has device/sriov_totalvfs");
            }
            return new Availability(true, pfs.stream().map(pf -> pf.netdev() + " (" + pf.pciAddress() + ", driver "
                            + (pf.driver().isEmpty() ? "none" : pf.driver()) + ", " + pf.numVfs() + " of "
                            + pf.totalVfs() + " VFs enabled)")
                    .collect(Collectors.joining(", ", pfs.size() + " physical function" + (pfs.size() == 1 ? "" : "s")
                            + ": ", "")));
        } catch (SysfsException e) {
            return new Availability(false, "SR-IOV discovery failed: " + e.getMessage());
        }
    }

    private VirtualFunction virtualFunction(Path pfDevice, int index, int enabled) throws SysfsException {
        Path link = pfDevice.resolve("virtfn" + index);
        if (!Files.exists(link)) {
            throw new SysfsException(link, null, "missing though sriov_numvfs is " + enabled
                    + " (are VFs being enabled or disabled right now? read again)");
        }
        Path vfDirectory = realPath(link);
        Optional<String> netdev = Optional.empty();
        Path net = vfDirectory.resolve("net");
        if (Files.isDirectory(net)) {
            netdev = children(net).stream().findFirst();
        }
        Optional<MacAddress> mac = netdev.isEmpty() ? Optional.empty()
                : mac(net.resolve(netdev.get()).resolve("address"));
        return new VirtualFunction(index, vfDirectory.getFileName().toString(), driver(vfDirectory), netdev, mac);
    }

    private List<String> netdevs() throws SysfsException {
        Path classNet = netClass();
        if (!Files.isDirectory(classNet)) {
            throw new SysfsException(classNet, null, "no such directory (is sysfs mounted at " + root + "?)");
        }
        return children(classNet);
    }

    private static List<String> children(Path directory) throws SysfsException {
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                names.add(entry.getFileName().toString());
            }
        } catch (IOException e) {
            throw new SysfsException(directory, "cannot list", e);
        }
        names.sort(null);
        return names;
    }

    /** The name of the driver a PCI device is bound to ({@code driver} links to it), or "" when none is. */
    private static String driver(Path pciDirectory) throws SysfsException {
        Path link = pciDirectory.resolve("driver");
        if (!Files.isSymbolicLink(link)) {
            return "";
        }
        try {
            Path target = Files.readSymbolicLink(link).getFileName();
            return target == null ? "" : target.toString();
        } catch (IOException e) {
            throw new SysfsException(link, "cannot read the link", e);
        }
    }

    private static Path realPath(Path link) throws SysfsException {
        try {
            return link.toRealPath();
        } catch (IOException e) {
            throw new SysfsException(link, "cannot resolve", e);
        }
    }

    private static int count(Path file) throws SysfsException {
        String text = read(file).strip();
        if (!COUNT.matcher(text).matches()) {
            throw new SysfsException(file, text, "not a number of VFs");
        }
        return Integer.parseInt(text);
    }

    /** An Ethernet address; empty where the file is missing or holds another kind (InfiniBand's 20 bytes). */
    private static Optional<MacAddress> mac(Path file) throws SysfsException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        String text = read(file).strip();
        try {
            return Optional.of(MacAddress.parse("address", text));
        } catch (InvalidArgumentException notEthernet) {
            return Optional.empty();
        }
    }

    private static String read(Path file) throws SysfsException {
        try {
            return Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new SysfsException(file, "missing", e);
        } catch (IOException e) {
            throw new SysfsException(file, "cannot read", e);
        }
    }

    private static void requireName(String netdev) {
        if (netdev == null || netdev.isEmpty() || netdev.length() > 15 || netdev.contains("/")
                || netdev.equals(".") || netdev.equals("..")) {
            throw new InvalidArgumentException("pf", netdev, "is not a network device name (1-15 bytes, no '/')");
        }
    }
}
