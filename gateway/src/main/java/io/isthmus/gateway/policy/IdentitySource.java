package io.isthmus.gateway.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.ipam.plan.SegmentKind;
import io.isthmus.policy.IdentityView;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Who each address belongs to, from what this gateway knows, for the policy compiler: every cluster's pod, service and
 * global segments of the address plan (the cluster alone), the pods this cluster's IPAM leased (their namespace),
 * and the exports, this cluster's own and those imported from each peer (each endpoint and service address backs its
 * service, in the service's namespace). Pod labels and namespace labels are not known here yet (they come from the
 * Kubernetes API: not wired). An entry that contradicts another (an endpoint of a service claimed by a workload of
 * another namespace) is left out and said in {@code problems}.
 */
public final class IdentitySource {
    static final Set<SegmentKind> CLUSTER_SEGMENTS = Set.of(SegmentKind.POD, SegmentKind.SERVICE, SegmentKind.GLOBAL);

    private IdentitySource() {
    }

    /** The view, and what was left out. */
    public record Built(IdentityView view, List<String> problems) {
    }

    public static Built build(ClusterId self, Optional<Plan> plan, MeshView.Snapshot mesh, List<Lease> leases) {
        IdentityView.Builder view = IdentityView.builder();
        List<String> problems = new ArrayList<>();
        for (Segment segment : plan.map(Plan::segments).orElse(List.of())) {
            if (CLUSTER_SEGMENTS.contains(segment.kind())) {
                attempt(problems, () -> view.cluster(Cidr.parse("plan segment", segment.cidr()), segment.holder()));
            }
        }
        for (Lease lease : leases) {
            for (LeasedAddress address : lease.addresses()) {
                attempt(problems, () -> view.workload(address.address(), self, lease.owner().namespace(), Map.of()));
            }
        }
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
