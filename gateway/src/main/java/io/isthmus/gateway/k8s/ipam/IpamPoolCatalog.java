package io.isthmus.gateway.k8s.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.plan.Segment;
import io.isthmus.k8s.crd.PoolCatalog;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The IPPool reconciler's way into the gateway's IPAM: checks that every CIDR lies in a segment of the IPPool's kind
 * that this cluster holds (the IPAM's own guard checks "in some segment"; the kind is the IPPool's extra promise),
 * then {@link Ipam#createPool} (idempotent for the same spec) and {@link Ipam#pool} for the usage.
 */
public final class IpamPoolCatalog implements PoolCatalog {
    private final Ipam ipam;
    private final AddressPlan plan;

    public IpamPoolCatalog(Ipam ipam, AddressPlan plan) {
        this.ipam = ipam;
        this.plan = plan;
    }

    @Override
    public CompletionStage<AppliedPool> ensure(PoolSpec spec, String segmentKind) {
        return holdingSegments(spec, segmentKind)
                .thenCompose(segments -> ipam.createPool(spec)
                        .thenCompose(created -> ipam.pool(spec.name()))
                        .thenApply(status -> new AppliedPool(status, segments)));
    }

    @Override
    public CompletionStage<io.isthmus.api.ipam.PoolDeletion> delete(String name) {
        return ipam.deletePool(name, false);
    }

    /**
     * The segments of this cluster that hold the pool's CIDRs; fails (OUTSIDE_SEGMENTS, field spec.kind) when a CIDR
     * lies only in a segment of another kind. Without a plan, or with a CIDR in no segment at all, the IPAM's own
     * guard gives the refusal.
     */
    private CompletionStage<List<String>> holdingSegments(PoolSpec spec, String kind) {
        if (!plan.configured()) {
            return CompletableFuture.completedFuture(List.of());
        }
        ClusterId self = ipam.cluster();
        return plan.current().thenApply(current -> {
            List<Segment> held = current.segmentsOf(self);
            List<String> holding = new ArrayList<>();
            for (int i = 0; i < spec.cidrs().size(); i++) {
                Cidr cidr = spec.cidrs().get(i);
                List<Segment> containing = held.stream()
                        .filter(segment -> Cidr.parse("segment", segment.cidr()).contains(cidr)).toList();
                var ofKind = containing.stream().filter(segment -> segment.kind().label().equals(kind)).findFirst();
                if (ofKind.isPresent()) {
                    holding.add(ofKind.get().kind().label() + " " + ofKind.get().cidr());
                } else if (!containing.isEmpty()) {
                    throw new IpamException(IpamError.OUTSIDE_SEGMENTS, "invalid spec.kind '" + kind + "': spec.cidrs["
                            + i + "] " + cidr + " lies in " + containing.getFirst().kind().label() + " segment "
                            + containing.getFirst().cidr() + " of cluster " + self + ", not in a " + kind + " segment",
                            "spec.kind", kind);
                }
            }
            return holding;
        });
    }
}
