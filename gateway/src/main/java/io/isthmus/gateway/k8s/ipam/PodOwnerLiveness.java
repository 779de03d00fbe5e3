package io.isthmus.gateway.k8s.ipam;

import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.k8s.pods.PodOwners;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The reclaimer's owner source in Kubernetes: {@link PodOwners} (Pod and StatefulSet informers) as {@link OwnerLiveness}. */
public final class PodOwnerLiveness implements OwnerLiveness {
    private final PodOwners pods;

    public PodOwnerLiveness(PodOwners pods) {
        this.pods = pods;
    }

    @Override
    public CompletionStage<Map<Owner, OwnerState>> check(List<Owner> owners) {
        Map<Owner, OwnerState> states = new HashMap<>();
        pods.check(owners).forEach((owner, presence) -> states.put(owner, switch (presence) {
            case RUNNING -> OwnerState.RUNNING;
            case IDENTITY_KEPT -> OwnerState.IDENTITY_KEPT;
            case GONE -> OwnerState.GONE;
        }));
        return CompletableFuture.completedFuture(states);
    }
}
