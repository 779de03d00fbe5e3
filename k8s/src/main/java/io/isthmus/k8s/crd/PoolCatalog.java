package io.isthmus.k8s.crd;

import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * The gateway's IPAM as the {@link IpPoolReconciler} sees it (the gateway implements it over
 * {@code io.isthmus.ipam.Ipam}). Refusals fail the stage with an {@link io.isthmus.api.ipam.IpamException} whose
 * message, field and value end up in the IPPool's Ready condition.
 */
public interface PoolCatalog {
    /**
     * Creates the pool, or confirms the existing one when it has the same spec, and answers with its usage now;
     * {@code segmentKind} ({@code pod}, {@code service}, {@code underlay}, {@code global}) is the kind of segment
     * every CIDR must lie in.
     */
    CompletionStage<AppliedPool> ensure(PoolSpec spec, String segmentKind);

    /**
     * Deletes the pool, never forced: fails with POOL_IN_USE while it holds leases (they stay), with UNKNOWN_POOL
     * when there is none.
     */
    CompletionStage<io.isthmus.api.ipam.PoolDeletion> delete(String name);

    /** A pool as the gateway holds it, and the segments of this cluster that hold its CIDRs ("pod 10.128.0.0/16"). */
    record AppliedPool(PoolStatus status, List<String> segments) {
        public AppliedPool {
            segments = List.copyOf(segments);
        }
    }
}
