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

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code isthmus diagnose}: what this node offers the gateway, probed here on the node (no gateway needed), one line
 * per capability as {@code NAME: available|unavailable: REASON}: the data path's fast paths (batched UDP, TUN, UDP
 * GSO/GRO, the XDP pre-filter) and SR-IOV (the PFs and VFs in sysfs). What a running gateway uses, and why, is in
 * {@code isthmus status}. Then, from the gateway's status (its admin API, {@code --admin}), the clock skew of every
 * peer link: {@code clock skew: ok|WARN|FAIL|unknown|not checked: ...} and a line per link; a FAIL exits 1.
 */
@Command(name = "diagnose", description = "Probe what this node offers the gateway (fast paths, XDP, SR-IOV physical "
        + "and virtual functions), and check the clock skew of the gateway's peer links (from its status).")
final class DiagnoseCommand implements Callable<Integer> {
    /** Clocks this far apart are worth fixing: export conflicts and propagation times compare clocks. */
    static final Duration SKEW_WARN = Duration.ofSeconds(1);
    /**
     * Half the 60 s that certificates are backdated by (pki.ClustersetCa.BACKDATE): a certificate issued on a clock
     * 60 s ahead of a gateway's is refused by it as not yet valid, so joins and rotations start failing. A link shows
     * only the two gateways' clocks, not the clock of the machine that issues certificates, which may be off the other
     * way: at 30 s half the margin is gone.
     */
    static final Duration SKEW_FAIL = Duration.ofSeconds(30);

    @Spec
    CommandSpec spec;

    @Mixin
    AdminOption admin;

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
        JsonNode status;
        try {
            AdminClient.Reply reply = admin.client().get("api/v1/status");
            if (!reply.ok()) {
                throw new CliException(reply.error());
            }
            status = reply.json();
        } catch (RuntimeException e) { // CliException, or a bad --admin: the node's checks above still stand
            out.println("clock skew: not checked: " + e.getMessage());
            return 0;
        }
        SkewCheck skew = clockSkew(status);
        out.print(skew.text());
        return skew.level() == Level.FAIL ? 1 : 0;
    }

    enum Level {
        OK("ok"), UNKNOWN("unknown"), WARN("WARN"), FAIL("FAIL");

        private final String label;

        Level(String label) {
            this.label = label;
        }
    }

    /** The check's verdict (the worst of its links) and its lines: a summary, then one per link. */
    record SkewCheck(Level level, String text) {
    }

    /** The clock-skew check over every link of a gateway's {@code /api/v1/status}. */
    static SkewCheck clockSkew(JsonNode status) {
        String self = status.path("clusterId").asText("this cluster");
        List<String> lines = new ArrayList<>();
        Level worst = null;
        int measured = 0;
        double largest = -1;
        String largestLink = null;
        for (JsonNode link : status.path("peers")) {
            String peer = link.path("cluster").isTextual() ? link.path("cluster").asText() : "an unnamed peer";
            String name = "  " + link.path("link").asText() + " to " + peer + ": ";
            if (!"up".equals(link.path("state").asText())) {
                lines.add(name + "not checked: the link is " + link.path("state").asText());
                continue;
            }
            if (!link.has("clockSkewMillis")) {
                lines.add(name + "unknown: no estimate yet (it takes two heartbeats), or " + peer
                        + "'s gateway is older and sends no wall clock");
                worst = worst == null ? Level.UNKNOWN : worst;
                continue;
            }
            measured++;
            double seconds = link.path("clockSkewMillis").asDouble() / 1e3;
            double bound = link.path("clockSkewBoundMillis").asDouble() / 1e3;
            double size = Math.abs(seconds);
            Level level = size >= SKEW_FAIL.toSeconds() ? Level.FAIL : size >= SKEW_WARN.toSeconds() ? Level.WARN : Level.OK;
            worst = worst == null || level.compareTo(worst) > 0 ? level : worst;
            String what = String.format(Locale.ROOT, "%s's clock is %.3f s %s this gateway's (±%.3f s)", peer, size,
                    seconds >= 0 ? "ahead of" : "behind", bound);
            lines.add(name + level.label + ": " + what + switch (level) {
                case OK, UNKNOWN -> "";
                case WARN -> "; run chrony or NTP on the gateway nodes of " + self + " and " + peer
                        + " (export conflicts, oldest first, and propagation times compare their clocks)";
                case FAIL -> "; fix it now: run chrony or NTP on the gateway nodes of " + self + " and " + peer
                        + " (`chronyc tracking` shows the offset). Certificates are backdated only 60 s, so past that "
                        + "one issued on the faster clock is refused as not yet valid by the slower";
            });
            if (size > largest) {
                largest = size;
                largestLink = peer;
            }
        }
        if (worst == null) {
            return new SkewCheck(Level.UNKNOWN, "clock skew: unknown: " + (status.path("peers").isEmpty()
                    ? "the gateway has no peer links" : "no link is up") + "\n" + joined(lines));
        }
        String largestText = measured == 0 ? "" : String.format(Locale.ROOT, " (largest: %s, %.3f s)", largestLink,
                largest);
        String summary = switch (worst) {
            case OK -> "every link within " + SKEW_WARN.toSeconds() + " s" + largestText;
            case UNKNOWN -> (measured == 0 ? "no link has an estimate yet" : "the measured links are within "
                    + SKEW_WARN.toSeconds() + " s" + largestText + ", the others have no estimate yet");
            case WARN -> "a peer's clock is " + SKEW_WARN.toSeconds() + " s or more from this gateway's";
            case FAIL -> "a peer's clock is " + SKEW_FAIL.toSeconds() + " s or more from this gateway's";
        };
        return new SkewCheck(worst, "clock skew: " + worst.label + ": " + summary + " (" + measured + " of "
                + status.path("peers").size() + " links measured)\n" + joined(lines));
    }

    private static String joined(List<String> lines) {
        StringBuilder out = new StringBuilder();
        lines.forEach(line -> out.append(line).append('\n'));
        return out.toString();
    }
}
