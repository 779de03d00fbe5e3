package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.isthmus.api.ClusterBackends;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ImportedService;
import io.isthmus.api.ServicePort;

import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Turns an imported service (the clusterset's merged view) into what one cluster's API server should hold: a
 * {@code ServiceImport} and, per other cluster that backs it, an {@code EndpointSlice} per address family with that
 * cluster's endpoints (its cluster IP for a ClusterSetIP service), labelled as MCS asks so that CoreDNS's own
 * multicluster mode could serve them too. Pure: the same import gives the same objects.
 */
public final class ImportTranslation {
    private ImportTranslation() {
    }

    /** Whether {@code self} should hold a ServiceImport for {@code service}: some other cluster exports it. */
    public static boolean importedBy(ImportedService service, ClusterId self) {
        return service.clusters().stream().anyMatch(backends -> !backends.cluster().equals(self));
    }

    public static ServiceImportResource serviceImport(ImportedService service) {
        ServiceImportResource resource = new ServiceImportResource();
        resource.setMetadata(new ObjectMetaBuilder()
                .withNamespace(service.key().namespace())
                .withName(service.key().name())
                .withLabels(Map.of(Mcs.MANAGED_BY_LABEL, Mcs.MANAGED_BY))
                .build());
        List<ServiceImportSpec.Port> ports = service.ports().stream()
                .map(p -> new ServiceImportSpec.Port(p.name(), p.protocol().name(), p.port())).toList();
        List<String> ips = switch (service.type()) {
            case CLUSTER_SET_IP -> service.addresses().stream().map(java.net.InetAddress::getHostAddress).toList();
            case HEADLESS -> List.of();
        };
        resource.setSpec(new ServiceImportSpec(service.type().label(), ports, ips, "None"));
        resource.setStatus(new ServiceImportStatus(service.clusters().stream()
                .map(backends -> new ServiceImportStatus.Cluster(backends.cluster().value())).toList()));
        return resource;
    }

    /** The EndpointSlices for every cluster but {@code self} (whose own slices are already in its API server). */
    public static List<EndpointSlice> endpointSlices(ImportedService service, ClusterId self) {
        List<EndpointSlice> slices = new ArrayList<>();
        List<EndpointPort> ports = service.ports().stream().map(ImportTranslation::port).toList();
        for (ClusterBackends backends : service.clusters()) {
            if (backends.cluster().equals(self)) {
                continue;
            }
            List<Endpoint> v4 = backends.endpoints().stream().filter(e -> !(e.ip() instanceof Inet6Address)).toList();
            List<Endpoint> v6 = backends.endpoints().stream().filter(e -> e.ip() instanceof Inet6Address).toList();
            // A cluster with no ready endpoint still gets its (empty) IPv4 slice: it says the cluster is in.
            slices.add(slice(service, backends.cluster(), "IPv4", v4, ports));
            if (!v6.isEmpty()) {
                slices.add(slice(service, backends.cluster(), "IPv6", v6, ports));
            }
        }
        return slices;
    }

    /** {@code <service>-<cluster>} (IPv4) or {@code <service>-<cluster>-v6}: one name per cluster and family. */
    public static String sliceName(String service, ClusterId cluster, String addressType) {
        return service + "-" + cluster.value() + ("IPv6".equals(addressType) ? "-v6" : "");
    }

    private static EndpointSlice slice(ImportedService service, ClusterId cluster, String addressType,
                                       List<Endpoint> endpoints, List<EndpointPort> ports) {
        return new EndpointSliceBuilder()
                .withMetadata(new ObjectMetaBuilder()
                        .withNamespace(service.key().namespace())
                        .withName(sliceName(service.key().name(), cluster, addressType))
                        .withLabels(Map.of(
                                Mcs.SERVICE_NAME_LABEL, service.key().name(),
                                Mcs.SOURCE_CLUSTER_LABEL, cluster.value(),
                                Mcs.ENDPOINT_SLICE_MANAGED_BY_LABEL, Mcs.ENDPOINT_SLICE_MANAGER,
                                Mcs.MANAGED_BY_LABEL, Mcs.MANAGED_BY))
                        .build())
                .withAddressType(addressType)
                .withEndpoints(endpoints.stream().map(e -> new EndpointBuilder()
                        .withAddresses(e.ip().getHostAddress())
                        .withHostname(e.hostname().isEmpty() ? null : e.hostname())
                        .withNewConditions().withReady(true).endConditions()
                        .build()).toList())
                .withPorts(ports)
                .build();
    }

    private static EndpointPort port(ServicePort port) {
        return new EndpointPortBuilder()
                .withName(port.name().isEmpty() ? null : port.name())
                .withProtocol(port.protocol().name())
                .withPort(port.port())
                .build();
    }
}
