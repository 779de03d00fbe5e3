package io.isthmus.ipam;

import io.isthmus.api.ipam.Owner;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Port: which owners still exist? Kubernetes pods (and VMs) later; tests drive it now. The reclaimer asks with the
 * owners of a pool's leases. An owner missing from the answer is treated as unknown and never reclaimed.
 */
@FunctionalInterface
public interface OwnerLiveness {
    CompletionStage<Map<Owner, OwnerState>> check(List<Owner> owners);

    enum OwnerState {
        /** This incarnation (uid) runs. */
        RUNNING,
        /** This incarnation is gone but its identity remains (the StatefulSet still has web-0, the VM still exists). */
        IDENTITY_KEPT,
        /** Neither the incarnation nor the identity exists any more. */
        GONE
    }
}
