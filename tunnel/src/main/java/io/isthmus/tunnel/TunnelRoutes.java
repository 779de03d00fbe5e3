package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * What the tunnel should route, as the data plane is told it (in the gateway: computed from the address plan and the
 * imports). Plain data; the {@link RouteReconciler} brings the engine and the kernel in line with it.
 *
 * @param ranges      per remote cluster, the networks routed to it (and the only sources accepted from it)
 * @param translation this cluster's real ↔ global networks
 * @param problems    what was left out and why, for the status report and the log
 * @param local       this cluster's own destinations as peers send to them; the only destinations the tunnel
 *                    delivers to
 */
public record TunnelRoutes(SortedMap<ClusterId, List<Cidr>> ranges, Translation translation, List<String> problems,
                           List<Cidr> local) {
    public TunnelRoutes {
        ranges = Collections.unmodifiableSortedMap(new TreeMap<>(ranges));
        problems = List.copyOf(problems);
        local = List.copyOf(local);
    }

    public static TunnelRoutes none() {
        return new TunnelRoutes(new TreeMap<>(), Translation.none(), List.of(), List.of());
    }

    /** The networks routed to {@code cluster}; none for a cluster the routes do not name. */
    public List<Cidr> rangesOf(ClusterId cluster) {
        return ranges.getOrDefault(cluster, List.of());
    }
}
