package io.isthmus.k8s.pods;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.k8s.controller.Watch;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * Who the pods of this cluster are, from the API server, for the policy's identity view: each pod's addresses
 * ({@code status.podIPs}) with its namespace, name and labels, and each namespace's labels. Pods on the host network
 * are left out (their address is the node's, shared by every such pod), and so are finished pods (phase Succeeded or
 * Failed: their address may already be another pod's). Two live pods with one address (an address handed on while
 * the old pod terminates) resolve to the one created last.
 *
 * <p>{@link #snapshot()} is immutable; its {@code version} moves only when the content changed, so a reader can
 * compare versions (informer resyncs and events that change nothing keep it). Before both informers have listed it is
 * empty at version 0; while a watch is down it keeps what was known (fabric8 lists again when it reconnects).
 */
public final class WorkloadLabels implements AutoCloseable {
    /** One pod: its namespace, name and labels. */
    public record LabelledPod(String namespace, String name, Map<String, String> labels) {
        public LabelledPod {
            labels = Map.copyOf(labels);
        }
    }

    /**
     * @param version    moves (by one) whenever the content changes
     * @param pods       every address of a running, non-host-network pod
     * @param namespaces every namespace's labels
     */
    public record Snapshot(long version, Map<InetAddress, LabelledPod> pods, Map<String, Map<String, String>> namespaces) {
        public static final Snapshot EMPTY = new Snapshot(0, Map.of(), Map.of());

        public Snapshot {
            pods = Map.copyOf(pods);
            namespaces = Map.copyOf(namespaces);
        }
    }

    private static final Comparator<Pod> CREATED_LAST = Comparator
            .comparing((Pod pod) -> Objects.requireNonNullElse(pod.getMetadata().getCreationTimestamp(), ""))
            .thenComparing(pod -> pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName());

    private final Watch<Pod> pods;
    private final Watch<Namespace> namespaces;
    private final AtomicBoolean changed = new AtomicBoolean(true);
    private Snapshot current = Snapshot.EMPTY;

    private WorkloadLabels(Watch<Pod> pods, Watch<Namespace> namespaces) {
        this.pods = pods;
        this.namespaces = namespaces;
    }

    /** Starts the Pod (all namespaces) and Namespace informers; {@code resync} re-delivers their caches (0: never). */
    public static WorkloadLabels start(KubernetesClient client, Duration resync) {
        WorkloadLabels labels = new WorkloadLabels(
                Watch.inNamespaces("Pods", client, client.pods(), List.of(), Optional.empty(), resync),
                Watch.clusterScoped("Namespaces", client, client.namespaces()));
        labels.pods.start(pod -> labels.changed.set(true), (doing, failure) -> { });
        labels.namespaces.start(namespace -> labels.changed.set(true), (doing, failure) -> { });
        return labels;
    }

    /** What is known now; rebuilt from the caches when an event came since the last call. */
    public synchronized Snapshot snapshot() {
        if (!pods.synced() || !namespaces.synced()) {
            return current;
        }
        if (!changed.getAndSet(false)) {
            return current;
        }
        Map<InetAddress, Pod> byAddress = new HashMap<>();
        for (Pod pod : pods.list()) {
            if (!counts(pod)) {
                continue;
            }
            for (InetAddress address : addresses(pod)) {
                byAddress.merge(address, pod, (a, b) -> CREATED_LAST.compare(a, b) >= 0 ? a : b);
            }
        }
        Map<InetAddress, LabelledPod> labelled = new HashMap<>();
        byAddress.forEach((address, pod) -> labelled.put(address, new LabelledPod(pod.getMetadata().getNamespace(),
                pod.getMetadata().getName(), labels(pod.getMetadata().getLabels()))));
        Map<String, Map<String, String>> namespaceLabels = new HashMap<>();
        for (Namespace namespace : namespaces.list()) {
            namespaceLabels.put(namespace.getMetadata().getName(), labels(namespace.getMetadata().getLabels()));
        }
        if (!labelled.equals(current.pods()) || !namespaceLabels.equals(current.namespaces())) {
            current = new Snapshot(current.version() + 1, labelled, namespaceLabels);
        }
        return current;
    }

    /** Why the snapshot may be incomplete (an informer not listed yet, or its watch down); empty when it is not. */
    public List<String> notReadyReasons() {
        return Stream.of(pods.notReadyReason(), namespaces.notReadyReason()).flatMap(Optional::stream)
                .map(reason -> "kubernetes workload labels: " + reason).toList();
    }

    private static boolean counts(Pod pod) {
        if (pod.getSpec() != null && Boolean.TRUE.equals(pod.getSpec().getHostNetwork())) {
            return false;
        }
        String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
        return !"Succeeded".equals(phase) && !"Failed".equals(phase);
    }

    private static List<InetAddress> addresses(Pod pod) {
        if (pod.getStatus() == null) {
            return List.of();
        }
        List<String> ips = new ArrayList<>();
        if (pod.getStatus().getPodIPs() != null) {
            pod.getStatus().getPodIPs().stream().map(PodIP::getIp).filter(Objects::nonNull).forEach(ips::add);
        }
        if (ips.isEmpty() && pod.getStatus().getPodIP() != null) {
            ips.add(pod.getStatus().getPodIP());
        }
        List<InetAddress> addresses = new ArrayList<>();
        for (String ip : ips) {
            try {
                addresses.add(InetAddress.ofLiteral(ip));
            } catch (IllegalArgumentException notAnAddress) {
                // the API server validates pod IPs; a value it let through that is not an address identifies nothing
            }
        }
        return addresses;
    }

    private static Map<String, String> labels(Map<String, String> labels) {
        return labels == null ? Map.of() : labels;
    }

    @Override
    public void close() {
        pods.stop();
        namespaces.stop();
    }
}
