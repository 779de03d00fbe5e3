package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.metrics.Metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The mesh view as gauges: this cluster's exports, what each peer sent, the DNS directory and the links. */
public final class MeshMetrics {
    private MeshMetrics() {
    }

    public static void register(Metrics metrics, Supplier<MeshView.Snapshot> mesh) {
        metrics.gauge("isthmus_exports", "Services this cluster exports.", List.of(),
                () -> Map.of(List.of(), (double) mesh.get().own().size()));
        metrics.gauge("isthmus_imported_exports", "Exports received from each peer cluster.", List.of("cluster"),
                () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    mesh.get().imports().forEach((cluster, remote) ->
                            out.put(List.of(cluster.value()), (double) remote.exports().size()));
                    return out;
                });
        metrics.gauge("isthmus_directory_services", "Services the DNS server answers for.", List.of(),
                () -> Map.of(List.of(), (double) mesh.get().directory().services().size()));
        metrics.gauge("isthmus_peering_link_up", "1 when a peer link is up, else 0.", List.of("link", "cluster"),
                () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    for (MeshView.Link link : mesh.get().links().values()) {
                        out.put(List.of(link.id(), link.remote() == null ? "" : link.remote().value()),
                                link.state() == LinkState.UP ? 1.0 : 0.0);
                    }
                    return out;
                });
        metrics.gauge("isthmus_imports_withdrawn", "1 for each peer cluster whose exports are not served: all of "
                        + "its links have been down past the import TTL.", List.of("cluster"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    mesh.get().imports().forEach((cluster, remote) ->
                            out.put(List.of(cluster.value()), remote.withdrawn() ? 1.0 : 0.0));
                    return out;
                });
        metrics.gauge("isthmus_peering_rtt_seconds", "Round-trip time of each peer link, from echoed heartbeats.",
                List.of("link", "cluster"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    for (MeshView.Link link : mesh.get().links().values()) {
                        if (link.rtt() != null) {
                            out.put(List.of(link.id(), link.remote() == null ? "" : link.remote().value()),
                                    link.rtt().toNanos() / 1e9);
                        }
                    }
                    return out;
                });
        metrics.gauge("isthmus_peering_clock_skew_seconds", "How far each peer cluster's clock is from this gateway's "
                        + "(positive: the peer's is ahead), estimated from heartbeats to within half a round trip; of "
                        + "the cluster's up links, the one with the smallest error. Absent while unknown (a peer "
                        + "that sends no wall clock gives none).",
                List.of("peer"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    bestSkewPerPeer(mesh.get()).forEach((peer, estimate) ->
                            out.put(List.of(peer.value()), estimate.offset().toNanos() / 1e9));
                    return out;
                });
    }

    /** Per peer cluster, the skew estimate of its up links with the smallest error bound. */
    static Map<ClusterId, ClockSkew.Estimate> bestSkewPerPeer(MeshView.Snapshot mesh) {
        Map<ClusterId, ClockSkew.Estimate> best = new HashMap<>();
        for (MeshView.Link link : mesh.links().values()) {
            if (link.state() == LinkState.UP && link.remote() != null && link.clockSkew() != null) {
                best.merge(link.remote(), link.clockSkew(),
                        (a, b) -> b.bound().compareTo(a.bound()) < 0 ? b : a);
            }
        }
        return best;
    }
}
