package io.isthmus.k8s.mcs;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * The spec of a {@code ServiceImport}: {@code type} is {@code ClusterSetIP} or {@code Headless}; {@code ips} are
 * the addresses a ClusterSetIP service is reached at (none for a headless one).
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ServiceImportSpec(String type, List<Port> ports, List<String> ips, String sessionAffinity) {
    public ServiceImportSpec {
        ports = ports == null ? List.of() : List.copyOf(ports);
        ips = ips == null ? List.of() : List.copyOf(ips);
    }

    /** An MCS ServicePort: {@code name} may be empty when the service has one port. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Port(String name, String protocol, int port) {
    }
}
