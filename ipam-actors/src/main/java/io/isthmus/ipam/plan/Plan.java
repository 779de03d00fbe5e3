package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.util.ArrayList;
import java.util.List;

/**
 * The clusterset address plan as one cluster knows it: every cluster's held segments and registered CIDRs
 * (its own exactly, the others' as of their latest view), its own pending claims, and the overlaps found.
 */
public record Plan(ClusterId self, List<Segment> segments, List<Claim> pending, List<RegisteredCidr> registered,
                   List<CidrOverlap> overlaps) {
    public Plan {
        segments = List.copyOf(segments);
        pending = List.copyOf(pending);
        registered = List.copyOf(registered);
        overlaps = List.copyOf(overlaps);
    }

    /** A CIDR one cluster registered as already in use. */
    public record RegisteredCidr(ClusterId cluster, SegmentKind kind, String cidr) {
    }

    public List<Segment> segmentsOf(ClusterId cluster) {
        return segments.stream().filter(s -> s.holder().equals(cluster)).toList();
    }

    /** Lines for a terminal: one per segment, registration, pending claim and overlap. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        for (Segment s : segments) {
            lines.add(String.format("%-12s %-9s %s", s.holder(), s.kind().label(), s.cidr()));
        }
        for (RegisteredCidr r : registered) {
            lines.add(String.format("%-12s %-9s %s (registered, in use before the plan)", r.cluster(), r.kind().label(), r.cidr()));
        }
        for (Claim c : pending) {
            lines.add(String.format("%-12s %-9s %s (pending: not yet acknowledged by a majority)", c.claimant(), c.kind().label(), c.cidr()));
        }
        for (CidrOverlap o : overlaps) {
            lines.add("overlap: " + o.describe());
        }
        return lines;
    }
}
