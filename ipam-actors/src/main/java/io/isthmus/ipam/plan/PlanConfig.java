package io.isthmus.ipam.plan;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What one cluster's ledger needs to know: who it is, the clusterset's members (the same list on every cluster,
 * itself included: majorities are counted over it), the supernets per kind, and its timings.
 *
 * <pre>{@code
 * plan {
 *   members = ["east", "west", "edge"]
 *   supernets {
 *     pod      = [{cidr = "10.128.0.0/9", segment-prefix = 16}, {cidr = "fd00:10::/32", segment-prefix = 48}]
 *     service  = [{cidr = "10.96.0.0/12", segment-prefix = 20}]
 *     underlay = [{cidr = "10.64.0.0/12", segment-prefix = 22}]
 *     global   = [{cidr = "100.64.0.0/10", segment-prefix = 20}]
 *   }
 *   claim-timeout = 10s         # a claim without a majority by then fails (and is withdrawn)
 *   retransmit-interval = 1s    # unanswered proposals are sent again
 *   gossip-interval = 5s        # this cluster's view is sent to every peer
 *   registrations { within = [...], ipv4-min-prefix = 12, ipv6-min-prefix = 48 }   # see RegistrationBounds
 *   max-segments-per-member = 64   # segments of one kind one member may hold and claim at once
 * }
 * }</pre>
 */
public record PlanConfig(ClusterId self, SortedSet<ClusterId> members, Map<SegmentKind, List<Supernet>> supernets,
                         Duration claimTimeout, Duration retransmitInterval, Duration gossipInterval,
                         RegistrationBounds registrations, int maxSegmentsPerMember) {
    /**
     * Enough for a large cluster's pod ranges, small enough that one member cannot take a supernet for itself: a
     * pod supernet of /9 in /16 segments has 128.
     */
    public static final int DEFAULT_MAX_SEGMENTS_PER_MEMBER = 64;
    public static final Duration DEFAULT_CLAIM_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRANSMIT_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_GOSSIP_INTERVAL = Duration.ofSeconds(5);

    public PlanConfig {
        members = Collections.unmodifiableSortedSet(new TreeSet<>(members));
        if (!members.contains(self)) {
            throw new InvalidFieldException("plan.members", members, "must list this cluster (" + self + ") too");
        }
        EnumMap<SegmentKind, List<Supernet>> copy = new EnumMap<>(SegmentKind.class);
        supernets.forEach((kind, list) -> copy.put(kind, List.copyOf(list)));
        List<Supernet> all = copy.values().stream().flatMap(List::stream).toList();
        for (int i = 0; i < all.size(); i++) {
            for (int j = i + 1; j < all.size(); j++) {
                if (all.get(i).cidr().overlaps(all.get(j).cidr())) {
                    throw new InvalidFieldException("plan.supernets", all.get(j).cidr(),
                            "overlaps the supernet " + all.get(i).cidr() + ": each address belongs to one kind");
                }
            }
        }
        supernets = Collections.unmodifiableMap(copy);
        requirePositive("plan.claim-timeout", claimTimeout);
        requirePositive("plan.retransmit-interval", retransmitInterval);
        requirePositive("plan.gossip-interval", gossipInterval);
        java.util.Objects.requireNonNull(registrations, "registrations");
        if (maxSegmentsPerMember < 1) {
            throw new InvalidFieldException("plan.max-segments-per-member", maxSegmentsPerMember, "must be at least 1");
        }
    }

    /** With the default {@link RegistrationBounds}. */
    public PlanConfig(ClusterId self, SortedSet<ClusterId> members, Map<SegmentKind, List<Supernet>> supernets,
                      Duration claimTimeout, Duration retransmitInterval, Duration gossipInterval) {
        this(self, members, supernets, claimTimeout, retransmitInterval, gossipInterval, RegistrationBounds.DEFAULT,
                DEFAULT_MAX_SEGMENTS_PER_MEMBER);
    }

    public static PlanConfig of(ClusterId self, SortedSet<ClusterId> members, Map<SegmentKind, List<Supernet>> supernets) {
        return new PlanConfig(self, members, supernets, DEFAULT_CLAIM_TIMEOUT, DEFAULT_RETRANSMIT_INTERVAL, DEFAULT_GOSSIP_INTERVAL);
    }

    /** Reads the {@code plan { }} section shown above; every complaint names the config path and the value. */
    public static PlanConfig fromConfig(ClusterId self, Config plan) {
        SortedSet<ClusterId> members = new TreeSet<>();
        for (String member : plan.getStringList("members")) {
            try {
                members.add(ClusterId.of(member));
            } catch (InvalidFieldException e) {
                throw e.as("plan.members");
            }
        }
        Map<SegmentKind, List<Supernet>> supernets = new EnumMap<>(SegmentKind.class);
        if (plan.hasPath("supernets")) {
            for (String key : plan.getObject("supernets").keySet()) {
                SegmentKind kind = SegmentKind.parse("plan.supernets", key);
                List<Supernet> list = new ArrayList<>();
                List<? extends Config> entries = plan.getConfigList("supernets." + key);
                for (int i = 0; i < entries.size(); i++) {
                    String field = "plan.supernets." + key + "[" + i + "]";
                    Config entry = entries.get(i);
                    int segmentPrefix;
                    try {
                        segmentPrefix = entry.getInt("segment-prefix");
                    } catch (ConfigException e) {
                        throw new InvalidFieldException(field + ".segment-prefix",
                                entry.hasPath("segment-prefix") ? entry.getValue("segment-prefix").unwrapped() : "",
                                "must be a prefix length such as 16");
                    }
                    list.add(Supernet.parse(field, entry.hasPath("cidr") ? entry.getString("cidr") : "", segmentPrefix));
                }
                supernets.put(kind, list);
            }
        }
        return new PlanConfig(self, members, supernets,
                duration(plan, "claim-timeout", DEFAULT_CLAIM_TIMEOUT),
                duration(plan, "retransmit-interval", DEFAULT_RETRANSMIT_INTERVAL),
                duration(plan, "gossip-interval", DEFAULT_GOSSIP_INTERVAL),
                RegistrationBounds.fromConfig(plan), maxSegmentsPerMember(plan));
    }

    private static int maxSegmentsPerMember(Config plan) {
        if (!plan.hasPath("max-segments-per-member")) {
            return DEFAULT_MAX_SEGMENTS_PER_MEMBER;
        }
        try {
            return plan.getInt("max-segments-per-member");
        } catch (ConfigException e) {
            throw new InvalidFieldException("plan.max-segments-per-member", plan.getValue("max-segments-per-member")
                    .unwrapped(), "must be a whole number such as 64");
        }
    }

    /** Majority of the known clusters: more than half of them. */
    public int quorum() {
        return members.size() / 2 + 1;
    }

    public List<ClusterId> peers() {
        return members.stream().filter(m -> !m.equals(self)).toList();
    }

    public List<Supernet> supernets(SegmentKind kind) {
        return supernets.getOrDefault(kind, List.of());
    }

    /** The supernet of {@code kind} that has {@code range} as a segment, if any. */
    public Optional<Supernet> supernetWithSegment(SegmentKind kind, Cidr range) {
        return supernets(kind).stream().filter(s -> s.hasSegment(range)).findFirst();
    }

    private static Duration duration(Config plan, String path, Duration fallback) {
        if (!plan.hasPath(path)) {
            return fallback;
        }
        try {
            return plan.getDuration(path);
        } catch (ConfigException e) {
            throw new InvalidFieldException("plan." + path, plan.getValue(path).unwrapped(), "must be a duration such as 10s");
        }
    }

    private static void requirePositive(String field, Duration value) {
        if (value == null || value.isNegative() || value.isZero()) {
            throw new InvalidFieldException(field, value, "must be a positive duration");
        }
    }
}
