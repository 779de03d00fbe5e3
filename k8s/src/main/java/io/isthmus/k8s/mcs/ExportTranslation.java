package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;

import java.net.InetAddress;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Turns a {@code ServiceExport}, its {@code Service} and the Service's {@code EndpointSlice}s into the export the
 * gateway offers the clusterset, or says why there is none. Pure: the same objects give the same answer.
 *
 * <ul>
 *   <li>ClusterSetIP (a Service with a cluster IP): the export carries the cluster IP, and is offered only while
 *       the Service has a ready endpoint, so that other clusters do not send traffic to a cluster that has none.</li>
 *   <li>Headless ({@code clusterIP: None}): the export carries every ready endpoint, with its hostname.</li>
 *   <li>The export time is the ServiceExport's creation time: under the MCS rules the oldest export wins.</li>
 * </ul>
 */
public final class ExportTranslation {
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private ExportTranslation() {
    }

    /** What a ServiceExport comes to. */
    public sealed interface Outcome {
    }

    /** Offer {@code export} to the clusterset. */
    public record Offered(ServiceExport export) implements Outcome {
    }

    /** A valid export that is not offered now (no ready endpoint); {@code reason} is a CamelCase word. */
    public record Withheld(String reason, String message) implements Outcome {
    }

    /** Nothing can be exported until the user fixes something; {@code message} says what. */
    public record Invalid(String reason, String message) implements Outcome {
    }

    /**
     * @param export  the ServiceExport (its creation time stamps the export)
     * @param service the Service of the same namespace and name, or null when there is none
     * @param slices  the EndpointSlices labelled {@code kubernetes.io/service-name} with the Service's name
     */
    public static Outcome translate(ServiceExportResource export, Service service, Collection<EndpointSlice> slices) {
        String namespace = export.getMetadata().getNamespace();
        String name = export.getMetadata().getName();
        ServiceKey key;
        try {
            key = new ServiceKey(namespace, name);
        } catch (InvalidFieldException e) {
            return new Invalid("InvalidName", e.getMessage());
        }
        if (service == null) {
            return new Invalid("ServiceNotFound", "there is no Service " + key + " in this cluster: create it, or delete this ServiceExport");
        }
        String serviceType = service.getSpec() == null ? null : service.getSpec().getType();
        if ("ExternalName".equals(serviceType)) {
            return new Invalid("ServiceTypeNotSupported", "Service " + key + " is of type ExternalName, which MCS cannot export");
        }
        Instant exportedAt;
        try {
            exportedAt = Instant.parse(export.getMetadata().getCreationTimestamp()).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        } catch (DateTimeParseException | NullPointerException e) {
            return new Invalid("InvalidCreationTimestamp", "ServiceExport " + key + " has creationTimestamp '"
                    + export.getMetadata().getCreationTimestamp() + "', which is not an RFC 3339 time");
        }
        String clusterIp = service.getSpec().getClusterIP();
        boolean headless = "None".equals(clusterIp);
        try {
            List<ServicePort> ports = ports(service);
            List<Endpoint> ready = readyEndpoints(slices);
            if (headless) {
                return new Offered(new ServiceExport(key, ServiceType.HEADLESS, ports, ready, exportedAt));
            }
            if (clusterIp == null || clusterIp.isEmpty()) {
                return new Invalid("NoClusterIP", "Service " + key + " has no cluster IP yet");
            }
            InetAddress ip = IpLiteral.parse("spec.clusterIP", clusterIp);
            ServiceExport offered = new ServiceExport(key, ServiceType.CLUSTER_SET_IP, ports, List.of(Endpoint.of(ip)), exportedAt);
            if (ready.isEmpty()) {
                return new Withheld("NoReadyEndpoints", "Service " + key + " has no ready endpoint; it is offered to the clusterset again as soon as one is ready");
            }
            return new Offered(offered);
        } catch (InvalidFieldException e) {
            String reason = e.field().startsWith("port") ? "InvalidServicePorts" : "InvalidService";
            return new Invalid(reason, "Service " + key + ": " + e.getMessage());
        }
    }

    private static List<ServicePort> ports(Service service) {
        List<ServicePort> ports = new ArrayList<>();
        if (service.getSpec().getPorts() != null) {
            for (io.fabric8.kubernetes.api.model.ServicePort port : service.getSpec().getPorts()) {
                // Kubernetes defaults the protocol to TCP.
                Protocol protocol = port.getProtocol() == null ? Protocol.TCP : Protocol.parse("port protocol", port.getProtocol());
                if (port.getPort() == null) {
                    throw new InvalidFieldException("port", port.getName(), "has no port number");
                }
                ports.add(new ServicePort(port.getName(), port.getPort(), protocol));
            }
        }
        return ports;
    }

    /**
     * Every ready address of the slices, once each (an endpoint can be in two slices while they are rebalanced),
     * in address order so that the same endpoints always make the same export. A nil {@code ready} counts as
     * ready, as the EndpointSlice API asks. A hostname that is not a DNS label, or that an earlier address has,
     * is left off the address (the address is still offered).
     */
    static List<Endpoint> readyEndpoints(Collection<EndpointSlice> slices) {
        Map<InetAddress, String> byIp = new LinkedHashMap<>();
        for (EndpointSlice slice : slices) {
            if (!"IPv4".equals(slice.getAddressType()) && !"IPv6".equals(slice.getAddressType())) {
                continue; // FQDN slices name no address to offer
            }
            if (slice.getEndpoints() == null) {
                continue;
            }
            for (io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint : slice.getEndpoints()) {
                if (endpoint.getConditions() != null && Boolean.FALSE.equals(endpoint.getConditions().getReady())) {
                    continue;
                }
                String hostname = endpoint.getHostname() != null && DNS_LABEL.matcher(endpoint.getHostname()).matches()
                        ? endpoint.getHostname() : "";
                for (String address : endpoint.getAddresses() == null ? List.<String>of() : endpoint.getAddresses()) {
                    byIp.putIfAbsent(IpLiteral.parse("endpoint address", address), hostname);
                }
            }
        }
        Set<String> hostnames = new HashSet<>();
        List<Endpoint> endpoints = new ArrayList<>();
        List<InetAddress> ips = new ArrayList<>(byIp.keySet());
        ips.sort(ExportTranslation::compareAddresses);
        for (InetAddress ip : ips) {
            String hostname = byIp.get(ip);
            endpoints.add(new Endpoint(ip, !hostname.isEmpty() && hostnames.add(hostname) ? hostname : ""));
        }
        return endpoints;
    }

    /** IPv4 before IPv6, then byte by byte. */
    static int compareAddresses(InetAddress a, InetAddress b) {
        byte[] x = a.getAddress();
        byte[] y = b.getAddress();
        if (x.length != y.length) {
            return Integer.compare(x.length, y.length);
        }
        return Arrays.compareUnsigned(x, y);
    }
}
