package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.ipam.cni.CniBackend.PodIdentity;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;
import io.isthmus.k8s.pods.PodOwners;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The pod a CNI call claims, checked against the Kubernetes API: an ADD or CHECK must name its pod with its uid
 * ({@code K8S_POD_NAMESPACE}, {@code K8S_POD_NAME}, {@code K8S_POD_UID}), and that pod must exist with that uid. The
 * pod informer's cache answers first; a pod it does not have (yet), or has with another uid, is read from the API
 * server itself, so a pod created a moment ago is not refused for the informer's lag.
 *
 * <p>A DEL must carry the uid too (without one the pools take it for any incarnation), but its pod may be gone
 * already: the pools then refuse a DEL of another incarnation or of another container, and nothing more is asked.
 */
public final class KubernetesPodClaims implements PoolCniBackend.PodClaims {
    private final PodOwners pods;
    private final KubernetesClient client;

    public KubernetesPodClaims(PodOwners pods, KubernetesClient client) {
        this.pods = pods;
        this.client = client;
    }

    @Override
    public CompletionStage<Void> confirm(Optional<PodIdentity> claimed, boolean adding) {
        if (claimed.isEmpty()) {
            return adding ? refused("the call names no pod: with Kubernetes, every ADD and CHECK must carry CNI_ARGS "
                    + "K8S_POD_NAMESPACE, K8S_POD_NAME and K8S_POD_UID (the container runtime passes them)")
                    : CompletableFuture.completedFuture(null); // owned by the container id: no pod's lease to reach
        }
        PodIdentity pod = claimed.get();
        String name = pod.namespace() + "/" + pod.name();
        if (pod.uid().isEmpty()) {
            return refused("the call names pod " + name + " without K8S_POD_UID in CNI_ARGS: with Kubernetes the uid "
                    + "is required, and checked against the API");
        }
        if (!adding || pods.uidOf(pod.namespace(), pod.name()).filter(pod.uid()::equals).isPresent()) {
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.supplyAsync(() -> client.pods().inNamespace(pod.namespace()).withName(pod.name()).get(),
                        command -> Thread.ofVirtual().name("cni-pod-check").start(command))
                .thenCompose(found -> {
                    if (found == null) {
                        return refused("no pod " + name + " in the Kubernetes API (the call claims uid " + pod.uid() + ")");
                    }
                    String uid = found.getMetadata().getUid();
                    if (!pod.uid().equals(uid)) {
                        return refused("pod " + name + " in the Kubernetes API has uid " + uid + ", not the claimed "
                                + pod.uid());
                    }
                    return CompletableFuture.<Void>completedFuture(null);
                });
    }

    private static CompletionStage<Void> refused(String why) {
        return CompletableFuture.failedFuture(new CniBackendException(CniBackendError.POD_NOT_CONFIRMED, why));
    }
}
