package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.k8s.pods.PodOwners;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The reclaimer's owner source in Kubernetes: {@link PodOwners} (Pod and StatefulSet informers) as {@link OwnerLiveness},
 * with every "gone" of a pod incarnation confirmed by the API server itself.
 *
 * <p>Why the confirmation: an informer's cache can miss a pod for a moment (a pod created just now whose ADD event
 * has not arrived, a watch that relisted). The reclaimer's grace is short (seconds), so a cache miss alone must not
 * make a live pod look gone. For every {@code Pod} owner (and {@code StatefulSetPod} owner without a pod in the cache)
 * that the cache calls {@code GONE}, this reads the pod from the API server (a GET, served from etcd); a pod found
 * there with the owner's uid and not finished is {@code RUNNING}, a StatefulSet pod found with another uid is
 * {@code IDENTITY_KEPT}. A GET that fails leaves the owner out of the answer (unknown: never reclaimed this round).
 */
public final class PodOwnerLiveness implements OwnerLiveness {
    private static final Logger log = LoggerFactory.getLogger(PodOwnerLiveness.class);
    private final PodOwners pods;
    private final KubernetesClient client; // null: the cache alone (tests of the cache)

    public PodOwnerLiveness(PodOwners pods, KubernetesClient client) {
        this.pods = pods;
        this.client = client;
    }

    @Override
    public CompletionStage<Map<Owner, OwnerState>> check(List<Owner> owners) {
        Map<Owner, OwnerState> states = new HashMap<>();
        List<Owner> toConfirm = new ArrayList<>();
        pods.check(owners).forEach((owner, presence) -> {
            OwnerState state = switch (presence) {
                case RUNNING -> OwnerState.RUNNING;
                case IDENTITY_KEPT -> OwnerState.IDENTITY_KEPT;
                case GONE -> OwnerState.GONE;
            };
            if (state == OwnerState.GONE && client != null) {
                toConfirm.add(owner);
            } else {
                states.put(owner, state);
            }
        });
        if (toConfirm.isEmpty()) {
            return CompletableFuture.completedFuture(states);
        }
        return CompletableFuture.supplyAsync(() -> {
            for (Owner owner : toConfirm) {
                confirmed(owner).ifPresent(state -> states.put(owner, state));
            }
            return states;
        }, command -> Thread.ofVirtual().name("ipam-owner-confirm").start(command));
    }

    /** The API server's word on an owner the cache calls gone; empty when it cannot be asked. */
    private Optional<OwnerState> confirmed(Owner owner) {
        Pod pod;
        try {
            pod = client.pods().inNamespace(owner.namespace()).withName(owner.name()).get();
        } catch (RuntimeException e) {
            log.warn("cannot confirm with the API server that pod {}/{} is gone ({}): not reclaimed this round",
                    owner.namespace(), owner.name(), e.toString());
            return Optional.empty();
        }
        if (pod == null) {
            return Optional.of(OwnerState.GONE);
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        boolean finished = "Succeeded".equals(phase) || "Failed".equals(phase);
        boolean sameUid = owner.uid().isEmpty() || owner.uid().equals(pod.getMetadata().getUid());
        if (sameUid && !finished) {
            log.info("pod {}/{} is missing from the informer cache but the API server has it: not reclaimed",
                    owner.namespace(), owner.name());
            return Optional.of(OwnerState.RUNNING);
        }
        return Optional.of(owner.kind() == OwnerKind.STATEFUL_POD ? OwnerState.IDENTITY_KEPT : OwnerState.GONE);
    }
}
