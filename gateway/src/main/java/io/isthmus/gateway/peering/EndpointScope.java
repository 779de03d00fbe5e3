package io.isthmus.gateway.peering;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which endpoint IPs each peer cluster may put in its exports, as this gateway knows the address plan: an IP must lie
 * inside a segment the sending cluster holds or a range it registered (in use before the plan), and not inside one
 * of this cluster's own. Loopback, link-local, multicast, unspecified, broadcast and reserved addresses are refused
 * whatever the plan says. Immutable; the gateway makes a new one whenever the plan changes.
 *
 * <p>Four states: {@link State#PLAN} (the check above), {@link State#PLAN_UNKNOWN} (a plan is configured but this
 * gateway has not read it yet: everything is refused until it has), and without a configured plan
 * ({@code isthmus.peering.endpoints-without-plan}) {@link State#NO_PLAN_PRIVATE} (no owner to check against: unicast
 * private addresses only — RFC 1918, 100.64.0.0/10, fc00::/7) or {@link State#NO_PLAN_REFUSE} (none).
 */
public final class EndpointScope {
    public enum State {
        PLAN, PLAN_UNKNOWN, NO_PLAN_PRIVATE, NO_PLAN_REFUSE;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** What {@code isthmus.peering.endpoints-without-plan} may say. */
    public enum WithoutPlan {
        PRIVATE, REFUSE;

        public static WithoutPlan parse(String field, String text) {
            for (WithoutPlan value : values()) {
                if (value.name().equalsIgnoreCase(text == null ? "" : text.trim())) {
                    return value;
                }
            }
            throw new InvalidFieldException(field, text == null ? "" : text, "must be private or refuse");
        }
    }

    /** Why an endpoint was refused; the label is the metric's {@code reason}. */
    public enum Reason {
        UNSPECIFIED, LOOPBACK, LINK_LOCAL, MULTICAST, BROADCAST, RESERVED,
        /** This gateway has a plan configured but has not read it yet. */
        PLAN_UNKNOWN,
        /** The plan as this gateway knows it has no segment or registration of the sending cluster (yet). */
        NO_SEGMENTS,
        /** Inside one of this cluster's own segments or registered ranges. */
        OWN_RANGE,
        /** Inside another cluster's segment or registered range. */
        OTHER_CLUSTER,
        /** Inside none of the sending cluster's segments or registered ranges. */
        OUTSIDE_SEGMENTS,
        /** No plan is configured, and the address is not a private one ({@link State#NO_PLAN_PRIVATE}). */
        PUBLIC,
        /** No plan is configured, and {@link State#NO_PLAN_REFUSE} accepts none. */
        NO_PLAN;

        public String label() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    private static final List<Cidr> SPECIAL_V4 = cidrs("0.0.0.0/8", "240.0.0.0/4");
    // IPv4-mapped IPv6 needs no entry: the JDK reads ::ffff:a.b.c.d as the IPv4 address it maps
    private static final List<Cidr> SPECIAL_V6 = cidrs("64:ff9b::/96", "2001:db8::/32", "100::/64");
    private static final List<Cidr> PRIVATE = cidrs("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
            "100.64.0.0/10", "fc00::/7");

    private final State state;
    private final ClusterId self;
    private final SortedMap<ClusterId, List<Cidr>> ranges;
    /** Per cluster, its held segments only (agreed by a majority; registrations are not). */
    private final SortedMap<ClusterId, List<Cidr>> held;

    private EndpointScope(State state, ClusterId self, SortedMap<ClusterId, List<Cidr>> ranges,
                          SortedMap<ClusterId, List<Cidr>> held) {
        this.state = state;
        this.self = self;
        this.ranges = ranges;
        this.held = held;
    }

    /** A plan is configured but not read yet: every endpoint is refused ({@link Reason#PLAN_UNKNOWN}). */
    public static EndpointScope planUnknown(ClusterId self) {
        return new EndpointScope(State.PLAN_UNKNOWN, self, Collections.emptySortedMap(), Collections.emptySortedMap());
    }

    /** No plan is configured. */
    public static EndpointScope withoutPlan(ClusterId self, WithoutPlan mode) {
        return new EndpointScope(mode == WithoutPlan.PRIVATE ? State.NO_PLAN_PRIVATE : State.NO_PLAN_REFUSE, self,
                Collections.emptySortedMap(), Collections.emptySortedMap());
    }

    /** The scope the plan gives: every cluster's held segments (of every kind) and registered ranges. */
    public static EndpointScope of(Plan plan) {
        SortedMap<ClusterId, List<Cidr>> ranges = new TreeMap<>();
        SortedMap<ClusterId, List<Cidr>> held = new TreeMap<>();
        for (Segment segment : plan.segments()) {
            ranges.computeIfAbsent(segment.holder(), c -> new ArrayList<>()).add(Cidr.parse("plan segment", segment.cidr()));
            held.computeIfAbsent(segment.holder(), c -> new ArrayList<>()).add(Cidr.parse("plan segment", segment.cidr()));
        }
        for (Plan.RegisteredCidr registered : plan.registered()) {
            ranges.computeIfAbsent(registered.cluster(), c -> new ArrayList<>())
                    .add(Cidr.parse("registered cidr", registered.cidr()));
        }
        SortedMap<ClusterId, List<Cidr>> sorted = new TreeMap<>();
        ranges.forEach((cluster, list) -> sorted.put(cluster, list.stream().distinct().sorted().toList()));
        SortedMap<ClusterId, List<Cidr>> segments = new TreeMap<>();
        held.forEach((cluster, list) -> segments.put(cluster, list.stream().distinct().sorted().toList()));
        return new EndpointScope(State.PLAN, plan.self(), Collections.unmodifiableSortedMap(sorted),
                Collections.unmodifiableSortedMap(segments));
    }

    public State state() {
        return state;
    }

    /** Per cluster, the ranges its endpoints may lie in (empty unless {@link State#PLAN}). */
    public SortedMap<ClusterId, List<Cidr>> ranges() {
        return ranges;
    }

    /** Empty when {@code origin} may name {@code ip} as an endpoint; otherwise why not. */
    public Optional<Reason> check(ClusterId origin, InetAddress ip) {
        Optional<Reason> special = special(ip);
        if (special.isPresent()) {
            return special;
        }
        return switch (state) {
            case PLAN_UNKNOWN -> Optional.of(Reason.PLAN_UNKNOWN);
            case NO_PLAN_REFUSE -> Optional.of(Reason.NO_PLAN);
            case NO_PLAN_PRIVATE -> PRIVATE.stream().anyMatch(r -> r.contains(ip)) ? Optional.empty()
                    : Optional.of(Reason.PUBLIC);
            case PLAN -> checkPlan(origin, ip);
        };
    }

    private Optional<Reason> checkPlan(ClusterId origin, InetAddress ip) {
        if (inside(self, ip)) {
            return Optional.of(Reason.OWN_RANGE); // also when the sender registered an overlapping range
        }
        List<Cidr> theirs = ranges.getOrDefault(origin, List.of());
        if (theirs.stream().anyMatch(r -> r.contains(ip))) {
            // A registration is the sender's say-so; a held segment was agreed by a majority: inside another
            // cluster's segment, only the sender's own segment admits the address, not its registration.
            boolean inOwnSegment = held.getOrDefault(origin, List.of()).stream().anyMatch(r -> r.contains(ip));
            boolean inOthersSegment = held.entrySet().stream().anyMatch(e -> !e.getKey().equals(origin)
                    && e.getValue().stream().anyMatch(r -> r.contains(ip)));
            return !inOwnSegment && inOthersSegment ? Optional.of(Reason.OTHER_CLUSTER) : Optional.empty();
        }
        if (theirs.isEmpty()) {
            return Optional.of(Reason.NO_SEGMENTS);
        }
        for (Map.Entry<ClusterId, List<Cidr>> entry : ranges.entrySet()) {
            if (!entry.getKey().equals(origin) && entry.getValue().stream().anyMatch(r -> r.contains(ip))) {
                return Optional.of(Reason.OTHER_CLUSTER);
            }
        }
        return Optional.of(Reason.OUTSIDE_SEGMENTS);
    }

    private boolean inside(ClusterId cluster, InetAddress ip) {
        return ranges.getOrDefault(cluster, List.of()).stream().anyMatch(r -> r.contains(ip));
    }

    /** Addresses no cluster's endpoint can be, whatever the plan says. */
    static Optional<Reason> special(InetAddress ip) {
        if (ip.isAnyLocalAddress()) {
            return Optional.of(Reason.UNSPECIFIED);
        }
        if (ip.isLoopbackAddress()) {
            return Optional.of(Reason.LOOPBACK);
        }
        if (ip.isLinkLocalAddress()) {
            return Optional.of(Reason.LINK_LOCAL);
        }
        if (ip.isMulticastAddress()) {
            return Optional.of(Reason.MULTICAST);
        }
        if (ip instanceof Inet4Address) {
            byte[] b = ip.getAddress();
            if ((b[0] & b[1] & b[2] & b[3]) == (byte) 0xff) {
                return Optional.of(Reason.BROADCAST);
            }
            return SPECIAL_V4.stream().anyMatch(r -> r.contains(ip)) ? Optional.of(Reason.RESERVED) : Optional.empty();
        }
        return SPECIAL_V6.stream().anyMatch(r -> r.contains(ip)) ? Optional.of(Reason.RESERVED) : Optional.empty();
    }

    /** One sentence for the status: what the filter does now. */
    public String describe() {
        return switch (state) {
            case PLAN -> "endpoints from peers must lie inside their own held segments or registered ranges";
            case PLAN_UNKNOWN -> "the address plan is not known yet: every endpoint from a peer is refused until it is";
            case NO_PLAN_PRIVATE -> "no address plan is configured (isthmus.plan): endpoints from peers are accepted"
                    + " in private ranges only, without checking which cluster owns them; configure a plan for that";
            case NO_PLAN_REFUSE -> "no address plan is configured (isthmus.plan) and endpoints-without-plan = refuse:"
                    + " every endpoint from a peer is refused";
        };
    }

    private static List<Cidr> cidrs(String... texts) {
        return java.util.Arrays.stream(texts).map(t -> Cidr.parse("cidr", t)).toList();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof EndpointScope other && state == other.state && self.equals(other.self)
                && ranges.equals(other.ranges) && held.equals(other.held);
    }

    @Override
    public int hashCode() {
        return state.hashCode() * 31 + ranges.hashCode();
    }

    @Override
    public String toString() {
        return "EndpointScope[" + state.label() + (state == State.PLAN ? " " + ranges : "") + "]";
    }
}
