package io.isthmus.api;

import java.net.InetAddress;
import java.time.Instant;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A Service that one cluster offers to the clusterset (MCS ServiceExport), as it travels between gateways.
 * A ClusterSetIP service carries its one virtual IP; a headless service every ready endpoint (possibly none),
 * each with the hostname it has in DNS if it has one. {@code offeredTo} limits which clusters see it (empty:
 * every cluster), a choice the MCS KEP leaves open and users ask for.
 */
public record ServiceExport(ServiceKey key, ServiceType type, List<ServicePort> ports, List<Endpoint> endpoints,
                            Instant exportedAt, SortedSet<ClusterId> offeredTo) {
    public ServiceExport {
        if (key == null) {
            throw new InvalidFieldException("service", "", "namespace and name are required");
        }
        if (type == null) {
            throw new InvalidFieldException("type", "", "type must be ClusterSetIP or Headless");
        }
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
        offeredTo = Collections.unmodifiableSortedSet(new TreeSet<>(offeredTo == null ? Set.of() : offeredTo));
        if (ports.isEmpty()) {
            throw new InvalidFieldException("port", "", "an export needs at least one port");
        }
        Set<String> seenPorts = new HashSet<>();
        Set<String> seenNames = new HashSet<>();
        for (ServicePort p : ports) {
            if (!seenPorts.add(p.port() + "/" + p.protocol())) {
                throw new InvalidFieldException("port", p, "the same port and protocol is given twice");
            }
            if (!p.name().isEmpty() && !seenNames.add(p.name())) {
                throw new InvalidFieldException("port", p, "the port name '" + p.name() + "' is given twice");
            }
        }
        if (ports.size() > 1 && ports.stream().anyMatch(p -> p.name().isEmpty())) {
            throw new InvalidFieldException("port", ports, "a service with several ports must name each of them");
        }
        if (type == ServiceType.CLUSTER_SET_IP && endpoints.size() != 1) {
            throw new InvalidFieldException("ip", endpoints, "a ClusterSetIP export carries exactly one IP");
        }
        if (type == ServiceType.CLUSTER_SET_IP && !endpoints.getFirst().hostname().isEmpty()) {
            throw new InvalidFieldException("ip", endpoints.getFirst(), "only headless endpoints have hostnames");
        }
        Set<InetAddress> seenIps = new HashSet<>();
        Set<String> seenHostnames = new HashSet<>();
        for (Endpoint endpoint : endpoints) {
            if (!seenIps.add(endpoint.ip())) {
                throw new InvalidFieldException("ip", endpoint.ip().getHostAddress(), "the same IP is given twice");
            }
            if (!endpoint.hostname().isEmpty() && !seenHostnames.add(endpoint.hostname())) {
                throw new InvalidFieldException("ip", endpoint, "the hostname '" + endpoint.hostname() + "' is given twice");
            }
        }
        if (exportedAt == null) {
            throw new InvalidFieldException("exported-at", "", "is required");
        }
    }

    /** An export offered to every cluster. */
    public ServiceExport(ServiceKey key, ServiceType type, List<ServicePort> ports, List<Endpoint> endpoints,
                         Instant exportedAt) {
        this(key, type, ports, endpoints, exportedAt, new TreeSet<>());
    }

    /** Whether {@code cluster} may see this export. */
    public boolean isOfferedTo(ClusterId cluster) {
        return offeredTo.isEmpty() || offeredTo.contains(cluster);
    }

    public ServiceExport offeredOnlyTo(java.util.Collection<ClusterId> clusters) {
        return new ServiceExport(key, type, ports, endpoints, exportedAt, new TreeSet<>(clusters));
    }

    /** An export whose endpoints have no hostnames. */
    public static ServiceExport of(ServiceKey key, ServiceType type, List<ServicePort> ports, List<InetAddress> ips,
                                   Instant exportedAt) {
        return new ServiceExport(key, type, ports, ips.stream().map(Endpoint::of).toList(), exportedAt);
    }

    public List<InetAddress> ips() {
        return endpoints.stream().map(Endpoint::ip).toList();
    }

    public ServiceExport withExportedAt(Instant at) {
        return new ServiceExport(key, type, ports, endpoints, at, offeredTo);
    }
}
