package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The clusterset address plan as one cluster ({@code self}) knows it: every cluster's held segments and
 * registered CIDRs (its own exactly, the others' as of their latest view), its own pending claims, and the
 * overlaps found. Plain data: safe to keep and read from any thread.
 */
public record Plan(ClusterId self, SortedSet<ClusterId> members, List<Segment> segments, List<Claim> pending,
                   List<RegisteredCidr> registered, List<CidrOverlap> overlaps) {
    public Plan {
        members = Collections.unmodifiableSortedSet(new TreeSet<>(members));
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

    /**
     * The pools' guard: empty when {@code range} lies inside a segment {@code cluster} holds; otherwise why not,
     * in words an operator can act on.
     */
    public Optional<String> whyNotHeld(ClusterId cluster, Cidr range) {
        List<Segment> held = segmentsOf(cluster);
        if (held.stream().anyMatch(s -> Cidr.parse("cidr", s.cidr()).contains(range))) {
            return Optional.empty();
        }
        if (!members.contains(cluster)) {
            return Optional.of(cluster + " is not a member of the clusterset (members: "
                    + members.stream().map(ClusterId::value).collect(Collectors.joining(", ")) + ")");
        }
        if (cluster.equals(self)) {
            Optional<Claim> claimed = pending.stream().filter(c -> c.range().contains(range)).findFirst();
            if (claimed.isPresent()) {
                return Optional.of(range + " is inside " + claimed.get().kind().label() + " segment " + claimed.get().cidr()
                        + " that " + cluster + " has claimed, but a majority of the clusterset has not acknowledged it yet");
            }
        }
        Optional<Segment> foreign = segments.stream()
                .filter(s -> !s.holder().equals(cluster) && Cidr.parse("cidr", s.cidr()).overlaps(range)).findFirst();
        if (foreign.isPresent()) {
            return Optional.of(range + " overlaps " + foreign.get().kind().label() + " segment " + foreign.get().cidr()
                    + " held by " + foreign.get().holder());
        }
        String holds = held.isEmpty() ? cluster + " holds no segments yet"
                : cluster + " holds " + held.stream().map(s -> s.kind().label() + " " + s.cidr()).collect(Collectors.joining(", "));
        return Optional.of(range + " is not inside a segment held by " + cluster + " (" + holds + ")");
    }

    /** Lines for a terminal: one per segment, registration, pending claim and overlap. */
    public List<String> describe() {
        List<String> lines = new ArrayList<>();
        for (Segment s : segments) {
            lines.add(String.format("%-12s %-9s %s", s.holder(), s.kind().label(), s.cidr()));
        }
        for (RegisteredCidr r : registered) {
            lines.add(String.format("%-12s %-9s %s (registered: in use before the plan)", r.cluster(), r.kind().label(), r.cidr()));
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
