package io.isthmus.api;

import java.net.InetAddress;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A Service that one cluster offers to the clusterset (MCS ServiceExport), as it travels between gateways.
 * A ClusterSetIP service carries its one virtual IP; a headless service every ready endpoint IP (possibly none).
 */
public record ServiceExport(ServiceKey key, ServiceType type, List<ServicePort> ports, List<InetAddress> ips,
                            Instant exportedAt) {
    public ServiceExport {
        if (key == null) {
            throw new InvalidFieldException("service", "", "namespace and name are required");
        }
        if (type == null) {
            throw new InvalidFieldException("type", "", "type must be ClusterSetIP or Headless");
        }
        ports = List.copyOf(ports);
        ips = List.copyOf(ips);
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
        if (type == ServiceType.CLUSTER_SET_IP && ips.size() != 1) {
            throw new InvalidFieldException("ip", ips, "a ClusterSetIP export carries exactly one IP");
        }
        if (new HashSet<>(ips).size() != ips.size()) {
            throw new InvalidFieldException("ip", ips, "the same IP is given twice");
        }
        if (exportedAt == null) {
            throw new InvalidFieldException("exported-at", "", "is required");
        }
    }
}
