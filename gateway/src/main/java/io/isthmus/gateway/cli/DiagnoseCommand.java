package io.isthmus.gateway.cli;

import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.FastPaths;
import io.isthmus.fastpath.sriov.PhysicalFunction;
import io.isthmus.fastpath.sriov.SriovDiscovery;
import io.isthmus.fastpath.sriov.SysfsException;
import io.isthmus.fastpath.sriov.VirtualFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code isthmus diagnose}: what this node offers the gateway, probed here on the node (no gateway needed), one line
 * per capability as {@code NAME: available|unavailable: REASON}: the data path's fast paths (batched UDP, TUN, UDP
 * GSO/GRO, the XDP pre-filter) and SR-IOV (the PFs and VFs in sysfs). What a running gateway uses, and why, is in
 * {@code isthmus status}.
 */
@Command(name = "diagnose", description = "Probe what this node offers the gateway (fast paths, XDP, SR-IOV physical "
        + "and virtual functions).")
final class DiagnoseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--sysfs-root", paramLabel = "DIR", defaultValue = "/sys",
            description = "Where sysfs is mounted (default: ${DEFAULT-VALUE}).")
    Path sysfsRoot;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println(FastPaths.probe());
        out.println("xdp: " + FastPaths.xdp());
        SriovDiscovery discovery = new SriovDiscovery(sysfsRoot);
        Availability sriov = discovery.capability();
        out.println("sr-iov: " + sriov);
        if (sriov.available()) {
            try {
                for (PhysicalFunction pf : discovery.physicalFunctions()) {
                    for (VirtualFunction vf : pf.vfs()) {
                        out.println("  " + pf.netdev() + " vf " + vf.index() + ": " + vf.pciAddress() + ", driver "
                                + (vf.driver().isEmpty() ? "none" : vf.driver()) + ", "
                                + vf.netdev().map(n -> "netdev " + n).orElse("no netdev here")
                                + vf.mac().map(m -> ", mac " + m).orElse(""));
                    }
                }
            } catch (SysfsException e) {
                out.println("  (listing the VFs failed: " + e.getMessage() + ")");
            }
        }
        return 0;
    }
}
