package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.PersistentSortedMap;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportSet;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The door of the imports: what each peer cluster sent, and what of it is admitted under the {@link EndpointScope}.
 * An endpoint IP outside the scope is refused: a ClusterSetIP export whose IP is refused is left out whole, a headless
 * export keeps its other endpoints. What is refused is kept (for the status) and counted per peer and reason. When
 * the scope changes (the plan did), everything received is judged again, so an endpoint refused while the plan was
 * unknown comes in once it is known. Immutable: each step returns the next filter; the mesh view keeps the current one.
 */
public final class ImportFilter {
    /** One endpoint left out of the imports. */
    public record Refused(ServiceKey service, InetAddress ip, EndpointScope.Reason reason) {
        @Override
        public String toString() {
            return service + " " + ip.getHostAddress() + " (" + reason.label() + ")";
        }
    }

    /** One peer cluster: its exports as received, as admitted, and what was refused, by service. */
    private record Cluster(ExportSet received, ExportSet admitted, PersistentSortedMap<ServiceKey, List<Refused>> refused,
                           int refusedCount) {
    }

    /** A filter step: the next filter, the admitted set of the cluster concerned, and what was refused in it. */
    public record Step(ImportFilter next, ExportSet admitted, List<Refused> refused) {
    }

    private final EndpointScope scope;
    private final Map<ClusterId, Cluster> clusters;
    /** Refusals of endpoints received, by peer and reason, since the start (for the metric). */
    private final Map<List<String>, Long> counted;

    private ImportFilter(EndpointScope scope, Map<ClusterId, Cluster> clusters, Map<List<String>, Long> counted) {
        this.scope = scope;
        this.clusters = clusters;
        this.counted = counted;
    }

    public static ImportFilter of(EndpointScope scope) {
        return new ImportFilter(scope, Map.of(), Map.of());
    }

    public EndpointScope scope() {
        return scope;
    }

    /** What {@code origin} sent as this filter last saw it (before any endpoint was refused); the quotas count it. */
    public java.util.Optional<ExportSet> received(ClusterId origin) {
        return java.util.Optional.ofNullable(clusters.get(origin)).map(Cluster::received);
    }

    /** A full snapshot from {@code origin}: admitted anew. */
    public Step snapshot(ClusterId origin, ExportSet received) {
        List<Refused> all = new ArrayList<>();
        Cluster cluster = judge(scope, origin, received, all);
        return new Step(with(origin, cluster, all), cluster.admitted(), List.copyOf(all));
    }

    private static Cluster judge(EndpointScope scope, ClusterId origin, ExportSet received, List<Refused> all) {
        List<ServiceExport> admitted = new ArrayList<>(received.size());
        PersistentSortedMap<ServiceKey, List<Refused>> refused = PersistentSortedMap.empty();
        int count = 0;
        for (ServiceExport export : received.exports()) {
            List<Refused> out = new ArrayList<>();
            admit(scope, origin, export, out).ifPresent(admitted::add);
            if (!out.isEmpty()) {
                refused = refused.with(export.key(), List.copyOf(out));
                count += out.size();
                all.addAll(out);
            }
        }
        boolean whole = admitted.size() == received.size() && count == 0;
        return new Cluster(received, whole ? received : new ExportSet(received.version(), admitted), refused, count);
    }

    /**
     * Changes to {@code origin}'s exports (which must have had a snapshot): the received set and the admitted set
     * both change by the same keys, in O(changes × log n).
     */
    public Step delta(ClusterId origin, long toVersion, List<ServiceExport> upserted, List<ServiceKey> removed) {
        Cluster known = clusters.get(origin);
        if (known == null) {
            throw new IllegalStateException("changes to the exports of " + origin + " before a snapshot of them");
        }
        List<ServiceExport> admitted = new ArrayList<>(upserted.size());
        List<ServiceKey> dropped = new ArrayList<>(removed);
        PersistentSortedMap<ServiceKey, List<Refused>> refused = known.refused();
        int count = known.refusedCount();
        for (ServiceKey key : removed) {
            List<Refused> before = refused.get(key);
            if (before != null) {
                count -= before.size();
                refused = refused.without(key);
            }
        }
        List<Refused> all = new ArrayList<>();
        for (ServiceExport export : upserted) {
            List<Refused> before = refused.get(export.key());
            if (before != null) {
                count -= before.size();
                refused = refused.without(export.key());
            }
            List<Refused> out = new ArrayList<>();
            Optional<ServiceExport> in = admit(scope, origin, export, out);
            if (in.isPresent()) {
                admitted.add(in.get());
            } else {
                dropped.add(export.key());
            }
            if (!out.isEmpty()) {
                refused = refused.with(export.key(), List.copyOf(out));
                count += out.size();
                all.addAll(out);
            }
        }
        ExportSet received = known.received().withChanges(toVersion, upserted, removed);
        ExportSet set = known.admitted().withChanges(toVersion, admitted, dropped);
        return new Step(with(origin, new Cluster(received, set, refused, count), all), set, List.copyOf(all));
    }

    /**
     * The filter under a new scope, each cluster judged again (not counted again: nothing new was received);
     * {@code changed} gets each cluster whose admitted set changed.
     */
    public ImportFilter rescope(EndpointScope next, java.util.function.BiConsumer<ClusterId, ExportSet> changed) {
        Map<ClusterId, Cluster> judged = new HashMap<>();
        for (Map.Entry<ClusterId, Cluster> entry : clusters.entrySet()) {
            Cluster cluster = judge(next, entry.getKey(), entry.getValue().received(), new ArrayList<>());
            if (cluster.admitted().equals(entry.getValue().admitted())) {
                // the same exports: keep the very set the directory was made from, so nothing is rebuilt
                cluster = new Cluster(cluster.received(), entry.getValue().admitted(), cluster.refused(),
                        cluster.refusedCount());
            } else {
                changed.accept(entry.getKey(), cluster.admitted());
            }
            judged.put(entry.getKey(), cluster);
        }
        return new ImportFilter(next, Map.copyOf(judged), counted);
    }

    /** What is refused now, per peer cluster (clusters without refusals are left out). */
    public SortedMap<ClusterId, List<Refused>> refused() {
        SortedMap<ClusterId, List<Refused>> out = new TreeMap<>();
        clusters.forEach((cluster, state) -> {
            if (state.refusedCount() > 0) {
                List<Refused> list = new ArrayList<>(state.refusedCount());
                state.refused().forEach((key, refused) -> list.addAll(refused));
                out.put(cluster, List.copyOf(list));
            }
        });
        return Collections.unmodifiableSortedMap(out);
    }

    /** How many endpoints are refused now. */
    public int refusedCount() {
        return clusters.values().stream().mapToInt(Cluster::refusedCount).sum();
    }

    /** Endpoints refused in what peers sent, counted by [peer, reason] since the start. */
    public Map<List<String>, Long> counted() {
        return counted;
    }

    private ImportFilter with(ClusterId origin, Cluster cluster, List<Refused> fresh) {
        Map<ClusterId, Cluster> next = new HashMap<>(clusters);
        next.put(origin, cluster);
        Map<List<String>, Long> count = counted;
        if (!fresh.isEmpty()) {
            Map<List<String>, Long> more = new HashMap<>(counted);
            for (Refused refused : fresh) {
                more.merge(List.of(origin.value(), refused.reason().label()), 1L, Long::sum);
            }
            count = Map.copyOf(more);
        }
        return new ImportFilter(scope, Map.copyOf(next), count);
    }

    /**
     * {@code export} as admitted from {@code origin}: empty when its ClusterSetIP is refused; a headless export with
     * its refused endpoints taken out. Each refused endpoint is added to {@code refused}.
     */
    static Optional<ServiceExport> admit(EndpointScope scope, ClusterId origin, ServiceExport export,
                                         List<Refused> refused) {
        List<Endpoint> kept = new ArrayList<>(export.endpoints().size());
        for (Endpoint endpoint : export.endpoints()) {
            Optional<EndpointScope.Reason> why = scope.check(origin, endpoint.ip());
            if (why.isPresent()) {
                refused.add(new Refused(export.key(), endpoint.ip(), why.get()));
            } else {
                kept.add(endpoint);
            }
        }
        if (kept.size() == export.endpoints().size()) {
            return Optional.of(export);
        }
        if (export.type() == ServiceType.CLUSTER_SET_IP) {
            return Optional.empty();
        }
        return Optional.of(new ServiceExport(export.key(), export.type(), export.ports(), kept, export.exportedAt(),
                export.offeredTo()));
    }
}
