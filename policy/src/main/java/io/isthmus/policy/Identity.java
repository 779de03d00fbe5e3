package io.isthmus.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.DnsLabel;
import io.isthmus.api.ServiceKey;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Who an address belongs to, as far as this gateway knows: its cluster and, for a workload (a pod, or a service
 * address), its namespace, pod labels, namespace labels and the exported services it backs. An identity with an
 * empty {@code namespace} knows only the cluster (a whole pod segment of another cluster, say): it has no labels to
 * offer, so a selector that asks for a namespace, labels or services never selects it ({@link #isWorkload()}).
 *
 * @param namespace       the workload's namespace; empty when only the cluster is known
 * @param podLabels       the pod's labels (none for a cluster-only identity)
 * @param namespaceLabels the labels of the namespace
 * @param services        the exported services the workload backs (its endpoints, or the service's own address)
 */
public record Identity(ClusterId cluster, String namespace, SortedMap<String, String> podLabels,
                       SortedMap<String, String> namespaceLabels, SortedSet<ServiceKey> services) {
    public Identity {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(namespace, "namespace");
        if (!namespace.isEmpty()) {
            DnsLabel.require("identity.namespace", namespace);
        }
        podLabels = labels("identity.podLabels", podLabels);
        namespaceLabels = labels("identity.namespaceLabels", namespaceLabels);
        services = Collections.unmodifiableSortedSet(new TreeSet<>(services));
        if (namespace.isEmpty() && !(podLabels.isEmpty() && namespaceLabels.isEmpty() && services.isEmpty())) {
            throw new io.isthmus.api.InvalidFieldException("identity.namespace", "",
                    "a cluster-only identity (" + cluster + ") has no labels or services: give the namespace");
        }
    }

    /** Only the cluster is known (a segment of another cluster). */
    public static Identity ofCluster(ClusterId cluster) {
        return new Identity(cluster, "", new TreeMap<>(), new TreeMap<>(), new TreeSet<>());
    }

    /** A workload of {@code namespace} in {@code cluster} with {@code podLabels}, no namespace labels, no services. */
    public static Identity workload(ClusterId cluster, String namespace, Map<String, String> podLabels) {
        return new Identity(cluster, DnsLabel.require("identity.namespace", namespace), new TreeMap<>(podLabels),
                new TreeMap<>(), new TreeSet<>());
    }

    /** Whether the namespace (hence labels and services) is known; false for a cluster-only identity. */
    public boolean isWorkload() {
        return !namespace.isEmpty();
    }

    public Identity withNamespaceLabels(Map<String, String> labels) {
        return new Identity(cluster, namespace, podLabels, new TreeMap<>(labels), services);
    }

    public Identity withService(ServiceKey service) {
        TreeSet<ServiceKey> more = new TreeSet<>(services);
        more.add(service);
        return new Identity(cluster, namespace, podLabels, namespaceLabels, more);
    }

    /** {@code east/shop app=cart,tier=web [backs shop/cart]}, or {@code east (cluster only)}. */
    @Override
    public String toString() {
        if (!isWorkload()) {
            return cluster + " (cluster only)";
        }
        StringBuilder text = new StringBuilder(cluster + "/" + namespace);
        if (!podLabels.isEmpty()) {
            text.append(' ').append(String.join(",",
                    podLabels.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
        }
        if (!services.isEmpty()) {
            text.append(" [backs ").append(String.join(",", services.stream().map(ServiceKey::toString).toList()))
                    .append(']');
        }
        return text.toString();
    }

    private static SortedMap<String, String> labels(String field, SortedMap<String, String> labels) {
        TreeMap<String, String> copy = new TreeMap<>(labels);
        copy.forEach((key, value) -> {
            LabelSelector.requireKey(field, key);
            LabelSelector.requireValue(field + "." + key, value);
        });
        return Collections.unmodifiableSortedMap(copy);
    }
}
