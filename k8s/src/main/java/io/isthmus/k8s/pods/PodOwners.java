package io.isthmus.k8s.pods;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.k8s.controller.Watch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Which IPAM owners still exist, from Pod and StatefulSet informers (all namespaces): the reclaimer's owner source in
 * a Kubernetes cluster, so a deleted pod's address comes back even when the CNI DEL never came.
 *
 * <ul>
 *   <li>{@code Pod} owner (keyed with its uid): {@link Presence#RUNNING} while a pod of that namespace, name and uid
 *       exists and has not finished (phase Succeeded/Failed), else {@link Presence#GONE}.</li>
 *   <li>{@code StatefulSetPod} owner (keyed by namespace/name): {@code RUNNING} while that incarnation runs;
 *       {@link Presence#IDENTITY_KEPT} while a pod of that name exists (another uid: the next incarnation) or, with no
 *       pod, while the StatefulSet {@code <set>-<ordinal>} still wants that ordinal; {@code GONE} once neither is so
 *       (the set was deleted or scaled below the ordinal).</li>
 *   <li>Owners this source cannot speak for are left out, so they are never reclaimed: {@code VirtualMachine},
 *       {@code Static}, and {@code Pod} owners without a uid (not a pod incarnation: CNI calls without pod
 *       arguments, operator allocations).</li>
 * </ul>
 * While an informer has not listed yet, or its watch is down (it reconnects and lists again by itself), the answer is
 * empty: a cache that may have missed new pods must never make live owners look gone.
 */
public final class PodOwners implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PodOwners.class);
    private static final Pattern ORDINAL = Pattern.compile("(.+)-(\\d{1,9})");

    /** What this source knows of an owner (the IPAM's OwnerLiveness states, without depending on the IPAM). */
    public enum Presence {
        RUNNING, IDENTITY_KEPT, GONE
    }

    private final Watch<Pod> pods;
    private final Watch<StatefulSet> sets;
    private final AtomicBoolean reportedOutOfSync = new AtomicBoolean();

    private PodOwners(Watch<Pod> pods, Watch<StatefulSet> sets) {
        this.pods = pods;
        this.sets = sets;
    }

    /** Starts both informers (they list, then watch; {@code resync} re-delivers the cache, 0 for never). */
    public static PodOwners start(KubernetesClient client, Duration resync) {
        Watch<Pod> pods = Watch.inNamespaces("Pods", client, client.pods(), List.of(), Optional.empty(), resync);
        Watch<StatefulSet> sets = Watch.inNamespaces("StatefulSets", client, client.apps().statefulSets(), List.of(),
                Optional.empty(), resync);
        pods.start();
        sets.start();
        return new PodOwners(pods, sets);
    }

    /** True when both informers have listed and are watching: only then are answers given. */
    public boolean inSync() {
        return notReadyReasons().isEmpty();
    }

    /** Why the answers are empty now (an informer not listed yet, or its watch down); empty when they are given. */
    public List<String> notReadyReasons() {
        return Stream.of(pods.notReadyReason(), sets.notReadyReason()).flatMap(Optional::stream)
                .map(reason -> "kubernetes pod owners: " + reason + " (no lease is reclaimed meanwhile)").toList();
    }

    /** The presence of every owner this source can speak for; empty while {@link #inSync() out of sync}. */
    public Map<Owner, Presence> check(List<Owner> owners) {
        if (!inSync()) {
            if (reportedOutOfSync.compareAndSet(false, true)) {
                log.warn("pod/StatefulSet informers not in sync with the API server: no lease is reclaimed until they are");
            }
            return Map.of();
        }
        if (reportedOutOfSync.compareAndSet(true, false)) {
            log.info("pod/StatefulSet informers in sync again: the reclaimer has its owner source back");
        }
        Map<Owner, Presence> answer = new HashMap<>();
        for (Owner owner : owners) {
            presence(owner).ifPresent(presence -> answer.put(owner, presence));
        }
        return answer;
    }

    /**
     * The kind of owner a pod is, from its controller: {@code StatefulSetPod} when a StatefulSet controls it, else
     * {@code Pod}. Empty when the pod is not (yet) in the cache.
     */
    public Optional<OwnerKind> kindOf(String namespace, String name) {
        Pod pod = pods.get(namespace, name);
        if (pod == null) {
            return Optional.empty();
        }
        return Optional.of(controlledByStatefulSet(pod) ? OwnerKind.STATEFUL_POD : OwnerKind.POD);
    }

    /** The uid of the pod in the informer's cache; empty when the pod is not (yet) there. */
    public Optional<String> uidOf(String namespace, String name) {
        Pod pod = pods.get(namespace, name);
        return pod == null ? Optional.empty() : Optional.ofNullable(pod.getMetadata().getUid());
    }

    private Optional<Presence> presence(Owner owner) {
        Pod pod = pods.get(owner.namespace(), owner.name());
        return switch (owner.kind()) {
            case POD -> owner.uid().isEmpty() ? Optional.empty()
                    : Optional.of(pod != null && owner.uid().equals(pod.getMetadata().getUid()) && !finished(pod)
                    ? Presence.RUNNING : Presence.GONE);
            case STATEFUL_POD -> {
                if (pod != null) {
                    boolean thisIncarnation = owner.uid().isEmpty() || owner.uid().equals(pod.getMetadata().getUid());
                    yield Optional.of(thisIncarnation && !finished(pod) ? Presence.RUNNING : Presence.IDENTITY_KEPT);
                }
                yield Optional.of(statefulSetWants(owner.namespace(), owner.name()) ? Presence.IDENTITY_KEPT : Presence.GONE);
            }
            case VIRTUAL_MACHINE, STATIC -> Optional.empty();
        };
    }

    /** Does a StatefulSet of this namespace have {@code name} ({@code <set>-<ordinal>}) among its wanted pods? */
    private boolean statefulSetWants(String namespace, String name) {
        Matcher m = ORDINAL.matcher(name);
        if (!m.matches()) {
            return false;
        }
        StatefulSet set = sets.get(namespace, m.group(1));
        if (set == null || set.getSpec() == null || set.getMetadata().getDeletionTimestamp() != null) {
            return false;
        }
        long ordinal = Long.parseLong(m.group(2));
        int start = set.getSpec().getOrdinals() != null && set.getSpec().getOrdinals().getStart() != null
                ? set.getSpec().getOrdinals().getStart() : 0;
        int replicas = set.getSpec().getReplicas() != null ? set.getSpec().getReplicas() : 1;
        return ordinal >= start && ordinal < (long) start + replicas;
    }

    private static boolean finished(Pod pod) {
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return "Succeeded".equals(phase) || "Failed".equals(phase);
    }

    private static boolean controlledByStatefulSet(Pod pod) {
        List<OwnerReference> refs = pod.getMetadata().getOwnerReferences();
        return refs != null && refs.stream().anyMatch(ref -> Boolean.TRUE.equals(ref.getController())
                && "StatefulSet".equals(ref.getKind()) && ref.getApiVersion() != null
                && ref.getApiVersion().startsWith("apps/"));
    }

    @Override
    public void close() {
        pods.stop();
        sets.stop();
    }
}
