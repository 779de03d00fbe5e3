package io.isthmus.api;

import java.net.InetAddress;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The merged view of one exported service across the clusters that export it (MCS ServiceImport), with the
 * conflicts found while merging (empty when the clusters agree).
 */
public record ImportedService(ServiceKey key, ServiceType type, List<ServicePort> ports, List<ClusterBackends> clusters,
                              List<ExportConflict> conflicts) {
    public ImportedService {
        ports = List.copyOf(ports);
        clusters = List.copyOf(clusters);
        conflicts = List.copyOf(conflicts);
    }

    public ImportedService(ServiceKey key, ServiceType type, List<ServicePort> ports, List<ClusterBackends> clusters) {
        this(key, type, ports, clusters, List.of());
    }

    /** Every address of every contributing cluster, without repeats, in cluster order. */
    public List<InetAddress> addresses() {
        Set<InetAddress> all = new LinkedHashSet<>();
        for (ClusterBackends backends : clusters) {
            all.addAll(backends.ips());
        }
        return List.copyOf(all);
    }
}
