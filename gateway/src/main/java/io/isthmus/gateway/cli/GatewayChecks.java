package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The checks {@code isthmus diagnose} makes from a running gateway's admin API, each as pure functions of what the API
 * returned (so each is tested on a status written by the test): clock skew of the peer links, certificate expiry,
 * overlapping CIDRs in the address plan, the tunnel's MTU against the underlay, and per-link RTT, tunnel throughput
 * and drops. Each gives a verdict and says what to do.
 */
final class GatewayChecks {
    private GatewayChecks() {
    }

    /** Clocks this far apart are worth fixing: export conflicts and propagation times compare clocks. */
    static final Duration SKEW_WARN = Duration.ofSeconds(1);
    /**
     * Half the 60 s that certificates are backdated by (pki.ClustersetCa.BACKDATE): a certificate issued on a clock
     * 60 s ahead of a gateway's is refused by it as not yet valid, so joins and rotations start failing. A link shows
     * only the two gateways' clocks, not the clock of the machine that issues certificates, which may be off the other
     * way: at 30 s half the margin is gone.
     */
    static final Duration SKEW_FAIL = Duration.ofSeconds(30);

    enum Level {
        OK("ok"), UNKNOWN("unknown"), WARN("WARN"), FAIL("FAIL");

        private final String label;

        Level(String label) {
            this.label = label;
        }
    }

    /** A check's verdict (the worst of what it looked at) and its lines: a summary, then one per item. */
    record Check(Level level, String text) {
    }

    /** The clock-skew check over every link of a gateway's {@code /api/v1/status}. */
    static Check clockSkew(JsonNode status) {
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
            return new Check(Level.UNKNOWN, "clock skew: unknown: " + (status.path("peers").isEmpty()
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
        return new Check(worst, "clock skew: " + worst.label + ": " + summary + " (" + measured + " of "
                + status.path("peers").size() + " links measured)\n" + joined(lines));
    }

    /** Certificates expiring within this long are worth renewing now; within {@link #EXPIRY_FAIL}, urgently. */
    static final Duration EXPIRY_WARN = Duration.ofDays(30);
    static final Duration EXPIRY_FAIL = Duration.ofDays(7);

    /** The worst of several checks: what diagnose exits with. */
    static Level worst(List<Check> checks) {
        return checks.stream().map(Check::level).max(Level::compareTo).orElse(Level.OK);
    }

    /** The gateway's own certificate and the clusterset CA's, from the status's {@code certificates} section. */
    static Check certificates(JsonNode status, Instant now) {
        JsonNode certificates = status.path("certificates");
        if (certificates.isMissingNode()) {
            return new Check(Level.UNKNOWN, "certificates: unknown: the gateway's status has no certificates (an older gateway)\n");
        }
        List<String> lines = new ArrayList<>();
        Level worst = Level.OK;
        String[][] which = {{"cluster", "this cluster's certificate",
                "renew it before then: `isthmus join` with a new token from the CA holder, or `isthmus mesh issue` and "
                        + "replace the key files (the gateway reloads them)"},
                {"ca", "the clusterset CA's certificate",
                        "every cluster's certificate ends with it: plan a CA rotation (a new CA, certificates from it for "
                                + "every cluster, then the switch) well before"}};
        for (String[] entry : which) {
            String notAfter = certificates.path(entry[0]).path("notAfter").asText("");
            if (notAfter.isEmpty()) {
                lines.add("  " + entry[1] + ": unknown: no notAfter in the status");
                worst = worst.compareTo(Level.UNKNOWN) < 0 ? Level.UNKNOWN : worst;
                continue;
            }
            Duration left = Duration.between(now, Instant.parse(notAfter));
            Level level = left.compareTo(EXPIRY_FAIL) < 0 ? Level.FAIL : left.compareTo(EXPIRY_WARN) < 0 ? Level.WARN : Level.OK;
            worst = level.compareTo(worst) > 0 ? level : worst;
            String when = left.isNegative() ? "expired " + days(left.negated()) + " ago (" + notAfter + ")"
                    : "expires in " + days(left) + " (" + notAfter + ")";
            lines.add("  " + entry[1] + ": " + level.label + ": " + when + (level == Level.OK ? "" : "; " + entry[2]));
        }
        String summary = switch (worst) {
            case OK -> "none expires within " + EXPIRY_WARN.toDays() + " days";
            case UNKNOWN -> "not every expiry is known";
            case WARN -> "a certificate expires within " + EXPIRY_WARN.toDays() + " days";
            case FAIL -> "a certificate expires within " + EXPIRY_FAIL.toDays() + " days, or has expired";
        };
        return new Check(worst, "certificates: " + worst.label + ": " + summary + "\n" + joined(lines));
    }

    private static String days(Duration d) {
        return d.toDays() >= 2 ? d.toDays() + " days" : d.toHours() + " h";
    }

    /**
     * Overlapping CIDRs in the clusterset address plan ({@code GET /api/v1/ipam/segments}): segments never overlap
     * (a claim needs a majority), but CIDRs clusters registered from before the plan may; {@code plan} is absent when
     * the gateway has no plan.
     */
    static Check cidrOverlaps(java.util.Optional<JsonNode> plan) {
        if (plan.isEmpty()) {
            return new Check(Level.UNKNOWN, "cidr overlaps: not checked: the gateway has no address plan (isthmus.plan)\n");
        }
        JsonNode overlaps = plan.get().path("overlaps");
        if (overlaps.isEmpty()) {
            return new Check(Level.OK, "cidr overlaps: ok: none among " + plan.get().path("segments").size()
                    + " segments and registered CIDRs\n");
        }
        List<String> lines = new ArrayList<>();
        overlaps.forEach(o -> lines.add("  " + o.path("message").asText()));
        return new Check(Level.WARN, "cidr overlaps: WARN: " + overlaps.size() + " overlap(s): pods or services on both "
                + "sides cannot reach each other by their own addresses; claim a global segment (`isthmus ipam claim "
                + "--kind global`) so exports from the overlapping clusters get global IPs and the gateways translate, "
                + "or renumber one side\n" + joined(lines));
    }

    /**
     * The tunnel's MTU against the underlay's: a sealed packet is the inner packet plus the tunnel's overhead plus
     * outer UDP and IP headers, and must fit the interface that carries it (else the kernel fragments or drops it).
     * {@code underlayMtu}: the MTU of the interface holding the tunnel's address, when this host can see it.
     */
    static Check mtu(JsonNode status, java.util.function.Function<String, java.util.Optional<Integer>> underlayMtu) {
        JsonNode tunnel = status.path("tunnel");
        if (!tunnel.path("enabled").asBoolean()) {
            return new Check(Level.UNKNOWN, "mtu: not checked: the gateway runs no tunnel\n");
        }
        int inner = tunnel.path("mtu").asInt();
        int overhead = tunnel.path("overheadBytes").asInt();
        String address = hostOf(tunnel.path("advertised").asText(""));
        boolean v6 = address.contains(":");
        int needed = inner + overhead + 8 + (v6 ? 40 : 20);
        java.util.Optional<Integer> underlay = address.isEmpty() ? java.util.Optional.empty() : underlayMtu.apply(address);
        if (underlay.isEmpty()) {
            return new Check(Level.UNKNOWN, "mtu: not checked: no interface here holds the tunnel's address " + address
                    + " (run diagnose on the gateway's node" + (tunnel.path("namespace").asText("").isEmpty() ? ""
                    : ", or in its netns " + tunnel.path("namespace").asText()) + "); the underlay needs an MTU of at "
                    + "least " + needed + " for the tunnel's " + inner + "\n");
        }
        if (underlay.get() < needed) {
            return new Check(Level.FAIL, "mtu: FAIL: the tunnel's MTU " + inner + " needs " + needed + " on the underlay ("
                    + overhead + " bytes of tunnel header and tag, 8 UDP, " + (v6 ? 40 : 20) + " IP), but the interface "
                    + "holding " + address + " has " + underlay.get() + "; lower isthmus.tunnel.mtu to "
                    + (underlay.get() - needed + inner) + " or raise the underlay's MTU\n");
        }
        return new Check(Level.OK, "mtu: ok: the tunnel's " + inner + " + " + (needed - inner) + " bytes of headers fits "
                + "the underlay's " + underlay.get() + " at " + address + " (the path beyond this host is not probed)\n");
    }

    private static String hostOf(String hostPort) {
        if (hostPort.startsWith("[")) {
            return hostPort.substring(1, Math.max(1, hostPort.indexOf(']')));
        }
        int colon = hostPort.lastIndexOf(':');
        return colon < 0 ? hostPort : hostPort.substring(0, colon);
    }

    /**
     * Per peer cluster: the peering link's round-trip time, the tunnel's throughput over the {@code seconds} between
     * two statuses, and what the tunnel dropped from that peer in between. Loss on the path itself is not measured:
     * peering runs over TCP, and the tunnel sends no probes.
     */
    static Check links(JsonNode before, JsonNode after, double seconds) {
        List<String> lines = new ArrayList<>();
        java.util.Map<String, JsonNode> tunnelBefore = new java.util.HashMap<>();
        before.path("tunnel").path("peers").forEach(p -> tunnelBefore.put(p.path("cluster").asText(), p));
        java.util.Map<String, JsonNode> tunnelAfter = new java.util.TreeMap<>();
        after.path("tunnel").path("peers").forEach(p -> tunnelAfter.put(p.path("cluster").asText(), p));
        java.util.Map<String, Double> rtt = new java.util.TreeMap<>();
        java.util.Set<String> peers = new java.util.TreeSet<>();
        for (JsonNode link : after.path("peers")) {
            if (link.path("cluster").isTextual()) {
                peers.add(link.path("cluster").asText());
            }
            if ("up".equals(link.path("state").asText()) && link.has("rttMillis")) {
                rtt.merge(link.path("cluster").asText(), link.path("rttMillis").asDouble(), Math::min);
            }
        }
        peers.addAll(tunnelAfter.keySet());
        Level worst = Level.OK;
        for (String peer : peers) {
            StringBuilder line = new StringBuilder("  " + peer + ": ");
            line.append(rtt.containsKey(peer) ? String.format(Locale.ROOT, "rtt %.2f ms", rtt.get(peer)) : "no link up");
            JsonNode now = tunnelAfter.get(peer);
            JsonNode then = tunnelBefore.get(peer);
            if (now != null && then != null) {
                double sent = (now.path("sentBytes").asLong() - then.path("sentBytes").asLong()) * 8 / seconds;
                double received = (now.path("receivedBytes").asLong() - then.path("receivedBytes").asLong()) * 8 / seconds;
                long dropped = dropTotal(now) - dropTotal(then);
                line.append(String.format(Locale.ROOT, ", tunnel out %s, in %s over %.1f s, %d dropped from it",
                        rate(sent), rate(received), seconds, dropped));
                if (dropped > 0) {
                    worst = Level.WARN;
                    line.append(" (see `isthmus status` for the reasons: a replay or authentication drop means a "
                            + "misbehaving or spoofed sender)");
                }
            } else if (after.path("tunnel").path("enabled").asBoolean()) {
                line.append(", no tunnel session");
            }
            if (!rtt.containsKey(peer)) {
                worst = Level.WARN;
            }
            lines.add(line.toString());
        }
        if (peers.isEmpty()) {
            return new Check(Level.UNKNOWN, "links: unknown: no peer link is up and the tunnel has no peers\n");
        }
        return new Check(worst, "links: " + worst.label + ": " + peers.size() + " peer cluster(s); path loss is not "
                + "measured (peering runs over TCP, the tunnel sends no probes)\n" + joined(lines));
    }

    private static long dropTotal(JsonNode tunnelPeer) {
        long total = 0;
        for (JsonNode count : tunnelPeer.path("drops")) {
            total += count.asLong();
        }
        return total;
    }

    private static String rate(double bitsPerSecond) {
        return bitsPerSecond >= 1e6 ? String.format(Locale.ROOT, "%.1f Mbit/s", bitsPerSecond / 1e6)
                : String.format(Locale.ROOT, "%.1f kbit/s", bitsPerSecond / 1e3);
    }

    private static String joined(List<String> lines) {
        StringBuilder out = new StringBuilder();
        lines.forEach(line -> out.append(line).append('\n'));
        return out.toString();
    }
}
