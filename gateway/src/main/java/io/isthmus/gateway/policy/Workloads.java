package io.isthmus.gateway.policy;

import io.isthmus.api.ClusterId;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One cluster's workloads as the policy identities know them: each pod address with its namespace, name and labels,
 * and the labels of each namespace. Immutable. This cluster's come from its IPAM leases and, with Kubernetes, from
 * the API server's pods and namespaces; another cluster's arrive over peering ({@link WorkloadExchange}).
 */
public record Workloads(Map<InetAddress, Pod> pods, Map<String, Map<String, String>> namespaceLabels) {
    public static final Workloads NONE = new Workloads(Map.of(), Map.of());

    /** One pod (or VM): {@code name} may be empty when only its address and namespace are known. */
    public record Pod(InetAddress address, String namespace, String name, Map<String, String> labels) {
        public Pod {
            labels = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels));
        }
    }

    public Workloads {
        pods = Map.copyOf(pods);
        Map<String, Map<String, String>> copy = new HashMap<>();
        namespaceLabels.forEach((namespace, labels) ->
                copy.put(namespace, java.util.Collections.unmodifiableSortedMap(new TreeMap<>(labels))));
        namespaceLabels = Map.copyOf(copy);
    }

    /** The pod of {@code namespace} named {@code name}, if one is known (the first address of a pod with several). */
    public Optional<Pod> named(String namespace, String name) {
        return pods.values().stream().filter(pod -> pod.namespace().equals(namespace) && pod.name().equals(name))
                .min(java.util.Comparator.comparing(pod -> pod.address().getHostAddress()));
    }

    /** {@code CLUSTER/NAMESPACE/NAME} of a pod, for messages. */
    public static String path(ClusterId cluster, Pod pod) {
        return cluster.value() + "/" + pod.namespace() + "/" + (pod.name().isEmpty() ? "?" : pod.name());
    }
}
