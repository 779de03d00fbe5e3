package io.isthmus.gateway.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.policy.IdentityView;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Who each address belongs to, from what this gateway knows, for the policy compiler: every cluster's pod, service and
 * global segments of the address plan (the cluster alone); this cluster's workloads (the pods its IPAM leased, and
 * with Kubernetes every pod the API server lists, with its labels, and the namespaces' labels); each peer's workloads
 * as it sent them ({@link WorkloadExchange}), kept only where they are the peer's own: inside a pod segment the plan
 * says the peer holds; and the exports, this cluster's own and those imported from each peer (each endpoint and
 * service address backs its service, in the service's namespace). An entry that contradicts another (an endpoint of
 * a service claimed by a workload of another namespace, a peer's pod outside its segments) is left out and said in
 * {@code problems}.
 */
public final class IdentitySource {
    static final Set<SegmentKind> CLUSTER_SEGMENTS = Set.of(SegmentKind.POD, SegmentKind.SERVICE, SegmentKind.GLOBAL);

    private IdentitySource() {
    }

    /** The view, and what was left out. */
    public record Built(IdentityView view, List<String> problems) {
    }

    /**
     * What {@link #build} reads, to tell whether a build would give what the last one gave. The mesh's export sets
     * are immutable and replaced on every change, so they are compared by identity (O(clusters), not O(exports)).
     *
     * @param served the export set of each cluster whose exports back identities: this one's own, and every peer's
     *               not withdrawn
     */
    public record Inputs(Optional<Plan> plan, Map<ClusterId, ExportSet> served, Workloads local,
                         Map<ClusterId, Workloads> peers) {
        public static Inputs of(Optional<Plan> plan, MeshView.Snapshot mesh, Workloads local,
                                Map<ClusterId, Workloads> peers) {
            Map<ClusterId, ExportSet> served = new HashMap<>();
            if (mesh != null) {
                served.put(mesh.self(), mesh.own());
                mesh.imports().forEach((cluster, remote) -> {
                    if (!remote.withdrawn()) {
                        served.put(cluster, remote.exportSet());
                    }
                });
            }
            return new Inputs(plan, served, local, new HashMap<>(peers)); // peers: a workload may be null yet
        }

        /** Whether a build from these gives what one from {@code other} gave (false when other is null). */
        public boolean sameAs(Inputs other) {
            if (other == null || served.size() != other.served.size()) {
                return false;
            }
            for (Map.Entry<ClusterId, ExportSet> entry : served.entrySet()) {
                if (other.served.get(entry.getKey()) != entry.getValue()) {
                    return false;
                }
            }
            return java.util.Objects.equals(plan, other.plan) && java.util.Objects.equals(local, other.local)
                    && peers.equals(other.peers);
        }
    }

    public static Built build(ClusterId self, Optional<Plan> plan, MeshView.Snapshot mesh, Workloads local,
                              Map<ClusterId, Workloads> peers) {
        IdentityView.Builder view = IdentityView.builder();
        List<String> problems = new ArrayList<>();
        List<Segment> segments = plan.map(Plan::segments).orElse(List.of());
        for (Segment segment : segments) {
            if (CLUSTER_SEGMENTS.contains(segment.kind())) {
                attempt(problems, () -> view.cluster(Cidr.parse("plan segment", segment.cidr()), segment.holder()));
            }
        }
        workloads(view, problems, self, local, address -> true);
        peers.forEach((peer, workloads) -> {
            if (!peer.equals(self)) {
                List<Cidr> own = segments.stream()
                        .filter(segment -> segment.kind() == SegmentKind.POD && segment.holder().equals(peer))
                        .map(segment -> Cidr.parse("plan segment", segment.cidr())).toList();
                workloads(view, problems, peer, workloads, address -> own.stream().anyMatch(c -> c.contains(address)));
            }
        });
        if (mesh != null) {
            mesh.own().exports().forEach(export -> backs(view, problems, self, export));
            mesh.imports().forEach((cluster, remote) -> {
                if (!remote.withdrawn()) {
                    remote.exports().forEach(export -> backs(view, problems, cluster, export));
                }
            });
        }
        return new Built(view.build(), List.copyOf(problems));
    }

    /** This cluster's workloads: its leases, and Kubernetes' pods (which know the labels, and win). */
    public static Workloads local(List<Lease> leases, Workloads kubernetes) {
        Map<InetAddress, Workloads.Pod> pods = new HashMap<>();
        for (Lease lease : leases) {
            for (LeasedAddress address : lease.addresses()) {
                pods.put(address.address(), new Workloads.Pod(address.address(), lease.owner().namespace(),
                        lease.owner().name(), Map.of()));
            }
        }
        pods.putAll(kubernetes.pods());
        return new Workloads(pods, kubernetes.namespaceLabels());
    }

    private static void workloads(IdentityView.Builder view, List<String> problems, ClusterId cluster,
                                  Workloads workloads, Predicate<InetAddress> own) {
        for (Workloads.Pod pod : workloads.pods().values()) {
            if (own.test(pod.address())) {
                attempt(problems, () -> view.workload(pod.address(), cluster, pod.namespace(), pod.labels()));
            } else {
                problems.add("workload " + Workloads.path(cluster, pod) + " at " + pod.address().getHostAddress()
                        + " is outside " + cluster + "'s pod segments of the address plan");
            }
        }
        workloads.namespaceLabels().forEach((namespace, labels) ->
                attempt(problems, () -> view.namespaceLabels(cluster, namespace, labels)));
    }

    private static void backs(IdentityView.Builder view, List<String> problems, ClusterId cluster, ServiceExport export) {
        for (Endpoint endpoint : export.endpoints()) {
            InetAddress ip = endpoint.ip();
            attempt(problems, () -> view.backs(ip, cluster, export.key()));
        }
    }

    private static void attempt(List<String> problems, Runnable add) {
        try {
            add.run();
        } catch (InvalidFieldException e) {
            problems.add(e.getMessage());
        }
    }
}
