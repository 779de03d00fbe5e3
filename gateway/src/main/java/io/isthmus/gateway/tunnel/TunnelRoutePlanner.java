package io.isthmus.gateway.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ServiceExport;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.ipam.plan.CidrOverlap;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.tunnel.Translation;
import io.isthmus.tunnel.TunnelRoutes;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the tunnel routes to which cluster, from the address plan and the imports: each remote cluster's pod, service
 * and global segments, the CIDRs it registered as in use before the plan (unless they overlap another cluster's:
 * those are reached through the cluster's global segment instead), and every imported service IP that none of
 * these holds (a host route). Underlay segments are not tunneled: they live on the nodes' own network. Where this
 * cluster's own registered CIDRs overlap another cluster's, they are translated 1:1 into this cluster's global
 * segments. This cluster's own destinations ({@link TunnelRoutes#local()}): its pod, service and global segments,
 * its registered pod/service CIDRs that overlap no other cluster's (those are reached as global addresses), and its
 * exported IPs. Plain computation, no side effects; what cannot be routed is said in {@code problems}. The join of
 * the address plan and the tunnel, so it lives where both are known: here.
 */
public final class TunnelRoutePlanner {
    static final Set<SegmentKind> TUNNELED = Set.of(SegmentKind.POD, SegmentKind.SERVICE, SegmentKind.GLOBAL);
    static final Set<SegmentKind> TRANSLATED = Set.of(SegmentKind.POD, SegmentKind.SERVICE);

    private TunnelRoutePlanner() {
    }

    /** As below, for a cluster that exports nothing. */
    public static TunnelRoutes compute(ClusterId self, Optional<Plan> plan, Map<ClusterId, List<InetAddress>> imported) {
        return compute(self, plan, imported, List.of());
    }

    /**
     * @param plan     the address plan as this cluster knows it; empty when no plan is configured
     * @param imported per remote cluster, the IPs of the services it exports to us (that are served)
     * @param exported the IPs of this cluster's own exports
     */
    public static TunnelRoutes compute(ClusterId self, Optional<Plan> plan, Map<ClusterId, List<InetAddress>> imported,
                                       List<InetAddress> exported) {
        List<String> problems = new ArrayList<>();
        Set<String> overlapped = new HashSet<>(); // "cluster cidr" of registered CIDRs in an overlap
        for (CidrOverlap overlap : plan.map(Plan::overlaps).orElse(List.of())) {
            if (overlap.firstRegistered()) {
                overlapped.add(overlap.first() + " " + overlap.firstCidr());
            }
            if (overlap.secondRegistered()) {
                overlapped.add(overlap.second() + " " + overlap.secondCidr());
            }
        }
        // Every cluster's own ranges, as the plan has them (for the routes, and to check host routes against).
        SortedMap<ClusterId, SortedSet<Cidr>> held = new TreeMap<>();
        List<Cidr> ownReal = new ArrayList<>();
        List<Cidr> ownGlobal = new ArrayList<>();
        List<Cidr> ownTranslated = new ArrayList<>();
        SortedSet<Cidr> local = new TreeSet<>();
        if (plan.isPresent()) {
            for (Segment segment : plan.get().segments()) {
                Cidr cidr = Cidr.parse("plan segment", segment.cidr());
                if (segment.holder().equals(self)) {
                    ownReal.add(cidr);
                    if (TUNNELED.contains(segment.kind())) {
                        local.add(cidr);
                    }
                    if (segment.kind() == SegmentKind.GLOBAL) {
                        ownGlobal.add(cidr);
                    }
                } else if (TUNNELED.contains(segment.kind())) {
                    held.computeIfAbsent(segment.holder(), c -> new TreeSet<>()).add(cidr);
                }
            }
            for (Plan.RegisteredCidr registered : plan.get().registered()) {
                Cidr cidr = Cidr.parse("registered cidr", registered.cidr());
                boolean inOverlap = overlapped.contains(registered.cluster() + " " + registered.cidr());
                if (registered.cluster().equals(self)) {
                    ownReal.add(cidr);
                    if (inOverlap && TRANSLATED.contains(registered.kind())) {
                        ownTranslated.add(cidr);
                    } else if (TRANSLATED.contains(registered.kind())) {
                        local.add(cidr);
                    }
                } else if (!TRANSLATED.contains(registered.kind())) {
                    continue; // an underlay network: not tunneled
                } else if (inOverlap) {
                    problems.add(registered.kind().label() + " CIDR " + cidr + " of " + registered.cluster()
                            + " overlaps another cluster's: reached through " + registered.cluster()
                            + "'s global segment, not routed as is");
                } else {
                    held.computeIfAbsent(registered.cluster(), c -> new TreeSet<>()).add(cidr);
                }
            }
        }
        // Imported service IPs that no range of their cluster holds get a host route.
        for (Map.Entry<ClusterId, List<InetAddress>> entry : new TreeMap<>(imported).entrySet()) {
            ClusterId cluster = entry.getKey();
            if (cluster.equals(self)) {
                continue;
            }
            for (InetAddress ip : new TreeSet<>(entry.getValue().stream().map(InetAddress::getHostAddress).toList())
                    .stream().map(InetAddress::ofLiteral).toList()) {
                Cidr host = Cidr.of(ip, ip.getAddress().length * 8);
                SortedSet<Cidr> theirs = held.getOrDefault(cluster, new TreeSet<>());
                if (theirs.stream().anyMatch(r -> r.contains(host))) {
                    continue;
                }
                Optional<String> clash = ownReal.stream().filter(r -> r.contains(host)).findFirst()
                        .map(r -> "this cluster's " + r)
                        .or(() -> held.entrySet().stream().filter(e -> !e.getKey().equals(cluster))
                                .flatMap(e -> e.getValue().stream().filter(r -> r.contains(host))
                                        .map(r -> e.getKey() + "'s " + r)).findFirst());
                if (clash.isPresent()) {
                    problems.add("imported IP " + ip.getHostAddress() + " of " + cluster + " lies in " + clash.get()
                            + ": not routed to " + cluster);
                    continue;
                }
                held.computeIfAbsent(cluster, c -> new TreeSet<>()).add(host);
            }
        }
        // No two clusters may share a range, and none may hide one of ours (the plan guarantees it for segments).
        SortedMap<ClusterId, List<Cidr>> ranges = new TreeMap<>();
        List<Cidr> taken = new ArrayList<>(ownReal);
        for (Map.Entry<ClusterId, SortedSet<Cidr>> entry : held.entrySet()) {
            List<Cidr> accepted = new ArrayList<>();
            for (Cidr range : entry.getValue()) {
                Optional<Cidr> clash = taken.stream().filter(t -> t.overlaps(range)).findFirst();
                if (clash.isPresent()) {
                    problems.add(range + " of " + entry.getKey() + " overlaps " + clash.get() + ": not routed");
                    continue;
                }
                accepted.add(range);
                taken.add(range);
            }
            ranges.put(entry.getKey(), List.copyOf(accepted));
        }
        for (InetAddress ip : exported) {
            Cidr host = Cidr.of(ip, ip.getAddress().length * 8);
            if (local.stream().noneMatch(r -> r.contains(host))) {
                local.add(host);
            }
        }
        return new TunnelRoutes(ranges, translation(ownTranslated, ownGlobal, problems), problems,
                List.copyOf(local));
    }

    /** The routes wanted now: the plan (empty when none is configured) and the mesh's served imports and own exports. */
    public static TunnelRoutes compute(ClusterId self, Optional<Plan> plan, MeshView.Snapshot mesh) {
        return compute(self, plan, imported(mesh), exported(mesh));
    }

    /** The IPs of this cluster's own exports. */
    static List<InetAddress> exported(MeshView.Snapshot snapshot) {
        List<InetAddress> ips = new ArrayList<>();
        if (snapshot != null) {
            snapshot.own().exports().forEach(export -> ips.addAll(export.ips()));
        }
        return ips;
    }

    /** The IPs of every served import, per cluster. */
    static Map<ClusterId, List<InetAddress>> imported(MeshView.Snapshot snapshot) {
        Map<ClusterId, List<InetAddress>> out = new TreeMap<>();
        if (snapshot == null) {
            return out;
        }
        snapshot.imports().forEach((cluster, remote) -> {
            if (remote.withdrawn()) {
                return;
            }
            List<InetAddress> ips = new ArrayList<>();
            for (ServiceExport export : remote.exports()) {
                for (Endpoint endpoint : export.endpoints()) {
                    ips.add(endpoint.ip());
                }
            }
            out.put(cluster, ips);
        });
        return out;
    }

    /** Each real network gets the next free block of its size in the global segments, in order. */
    private static Translation translation(List<Cidr> real, List<Cidr> globals, List<String> problems) {
        List<Translation.Mapping> mappings = new ArrayList<>();
        List<Cidr> used = new ArrayList<>();
        for (Cidr network : new TreeSet<>(real)) {
            Optional<Cidr> block = Optional.empty();
            for (Cidr global : new TreeSet<>(globals)) {
                if (global.isIpv4() != network.isIpv4() || global.prefix() > network.prefix()) {
                    continue;
                }
                BigInteger count = global.subnetCount(network.prefix());
                // at most a few thousand candidates: enough for every network a cluster registers
                BigInteger limit = count.min(BigInteger.valueOf(4096));
                for (BigInteger i = BigInteger.ZERO; i.compareTo(limit) < 0 && block.isEmpty(); i = i.add(BigInteger.ONE)) {
                    Cidr candidate = global.subnet(network.prefix(), i);
                    if (used.stream().noneMatch(u -> u.overlaps(candidate))) {
                        block = Optional.of(candidate);
                    }
                }
                if (block.isPresent()) {
                    break;
                }
            }
            if (block.isEmpty()) {
                problems.add("this cluster's " + network + " overlaps another cluster's, and no global segment has a"
                        + " free /" + network.prefix() + " for it: claim one (isthmus ipam claim --kind global)");
                continue;
            }
            used.add(block.get());
            mappings.add(new Translation.Mapping(network, block.get()));
        }
        return new Translation(mappings);
    }
}
