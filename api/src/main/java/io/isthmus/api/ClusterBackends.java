package io.isthmus.api;

import java.net.InetAddress;
import java.util.List;

/** The addresses one cluster contributes to an imported service. */
public record ClusterBackends(ClusterId cluster, List<InetAddress> ips) {
    public ClusterBackends {
        ips = List.copyOf(ips);
    }
}
