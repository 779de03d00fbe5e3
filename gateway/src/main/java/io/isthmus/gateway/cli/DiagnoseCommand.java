package io.isthmus.gateway.cli;

import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.FastPaths;
import io.isthmus.fastpath.sriov.PhysicalFunction;
import io.isthmus.fastpath.sriov.SriovDiscovery;
import io.isthmus.fastpath.sriov.SysfsException;
import io.isthmus.fastpath.sriov.VirtualFunction;
import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * {@code isthmus diagnose}: what this node offers the gateway, probed here on the node (no gateway needed), one line
 * per capability as {@code NAME: available|unavailable: REASON}: the data path's fast paths (batched UDP, TUN, UDP
 * GSO/GRO, the XDP pre-filter) and SR-IOV (the PFs and VFs in sysfs). What a running gateway uses, and why, is in
 * {@code isthmus status}. Then, from the gateway's admin API ({@code --admin}), the {@link GatewayChecks}: clock skew,
 * certificate expiry, CIDR overlaps, the tunnel's MTU against the underlay, per-link RTT/throughput/drops, each as
 * {@code NAME: ok|WARN|FAIL|unknown|not checked: ...} and a line per item with what to do; a FAIL exits 1.
 */
@Command(name = "diagnose", description = "Probe what this node offers the gateway (fast paths, XDP, SR-IOV physical "
        + "and virtual functions), and check the running gateway: clock skew, certificate expiry, CIDR overlaps, MTU, "
        + "links (RTT, tunnel throughput and drops).")
final class DiagnoseCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    AdminOption admin;

    @Option(names = "--sysfs-root", paramLabel = "DIR", defaultValue = "/sys",
            description = "Where sysfs is mounted (default: ${DEFAULT-VALUE}).")
    Path sysfsRoot;

    @Option(names = "--sample-seconds", paramLabel = "S", defaultValue = "1",
            description = "How long to watch the tunnel's counters for throughput and drops, 0..60 (default: ${DEFAULT-VALUE}).")
    int sampleSeconds;

    @Override
    public Integer call() {
        if (sampleSeconds < 0 || sampleSeconds > 60) {
            throw new CliException("--sample-seconds takes 0..60, got " + sampleSeconds);
        }
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
        JsonNode status;
        JsonNode later;
        Optional<JsonNode> plan;
        long sampledAt;
        long laterAt;
        try {
            AdminClient client = admin.client();
            sampledAt = System.nanoTime();
            status = get(client, "api/v1/status");
            AdminClient.Reply segments = client.get("api/v1/ipam/segments");
            plan = segments.ok() ? Optional.of(segments.json()) : Optional.empty();
            Thread.sleep(sampleSeconds * 1000L);
            laterAt = System.nanoTime();
            later = get(client, "api/v1/status");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted while sampling the gateway's status");
        } catch (RuntimeException e) { // CliException, or a bad --admin: the node's checks above still stand
            out.println("gateway checks (" + GATEWAY_CHECKS + "): not checked: " + e.getMessage());
            return 0;
        }
        List<GatewayChecks.Check> checks = List.of(GatewayChecks.clockSkew(later),
                GatewayChecks.certificates(later, Instant.now()), GatewayChecks.cidrOverlaps(plan),
                GatewayChecks.mtu(later, DiagnoseCommand::interfaceMtu),
                GatewayChecks.links(status, later, Math.max(1e-3, (laterAt - sampledAt) / 1e9)));
        checks.forEach(check -> out.print(check.text()));
        return GatewayChecks.worst(checks) == GatewayChecks.Level.FAIL ? 1 : 0;
    }

    private static final String GATEWAY_CHECKS = "clock skew, certificates, cidr overlaps, mtu, links";

    private static JsonNode get(AdminClient client, String path) {
        AdminClient.Reply reply = client.get(path);
        if (!reply.ok()) {
            throw new CliException(reply.error());
        }
        return reply.json();
    }

    /** The MTU of the interface in this network namespace that holds {@code address}, if one does. */
    private static Optional<Integer> interfaceMtu(String address) {
        try {
            NetworkInterface holder = NetworkInterface.getByInetAddress(InetAddress.ofLiteral(address));
            return holder == null ? Optional.empty() : Optional.of(holder.getMTU());
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

}
