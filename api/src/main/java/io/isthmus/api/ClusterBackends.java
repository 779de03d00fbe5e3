package io.isthmus.api;

import java.net.InetAddress;
import java.util.List;

/** The endpoints one cluster contributes to an imported service. */
public record ClusterBackends(ClusterId cluster, List<Endpoint> endpoints) {
    public ClusterBackends {
        endpoints = List.copyOf(endpoints);
    }

    public static ClusterBackends ofIps(ClusterId cluster, List<InetAddress> ips) {
        return new ClusterBackends(cluster, ips.stream().map(Endpoint::of).toList());
    }

    public List<InetAddress> ips() {
        return endpoints.stream().map(Endpoint::ip).toList();
    }
}
