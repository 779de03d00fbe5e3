package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.isthmus.api.ClusterBackends;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ImportedService;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImportTranslationTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ServiceKey WEB = new ServiceKey("shop", "web");

    private static Endpoint ep(String text) {
        return Endpoint.parse("ip", text);
    }

    private static ImportedService clusterSetIp() {
        return new ImportedService(WEB, ServiceType.CLUSTER_SET_IP, List.of(new ServicePort("http", 80, Protocol.TCP)),
                List.of(new ClusterBackends(EAST, List.of(ep("10.96.0.10"))), new ClusterBackends(WEST, List.of(ep("10.97.0.10")))));
    }

    @Test
    void aClusterSetIpImportListsEveryClustersIpPortsAndClusters() {
        ServiceImportResource si = ImportTranslation.serviceImport(clusterSetIp());
        assertEquals("shop", si.getMetadata().getNamespace());
        assertEquals("web", si.getMetadata().getName());
        assertEquals(Mcs.MANAGED_BY, si.getMetadata().getLabels().get(Mcs.MANAGED_BY_LABEL));
        assertEquals(new ServiceImportSpec("ClusterSetIP", List.of(new ServiceImportSpec.Port("http", "TCP", 80)),
                List.of("10.96.0.10", "10.97.0.10"), "None"), si.getSpec());
        assertEquals(List.of(new ServiceImportStatus.Cluster("east"), new ServiceImportStatus.Cluster("west")),
                si.getStatus().clusters());
    }

    @Test
    void slicesAreWrittenForEveryOtherClusterLabelledPerMcs() {
        List<EndpointSlice> slices = ImportTranslation.endpointSlices(clusterSetIp(), WEST);
        assertEquals(1, slices.size(), "west's own endpoints are in west's own slices");
        EndpointSlice slice = slices.getFirst();
        assertEquals("web-east", slice.getMetadata().getName());
        assertEquals("web", slice.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL));
        assertEquals("east", slice.getMetadata().getLabels().get(Mcs.SOURCE_CLUSTER_LABEL));
        assertEquals(Mcs.ENDPOINT_SLICE_MANAGER, slice.getMetadata().getLabels().get(Mcs.ENDPOINT_SLICE_MANAGED_BY_LABEL));
        assertEquals("IPv4", slice.getAddressType());
        assertEquals(List.of("10.96.0.10"), slice.getEndpoints().getFirst().getAddresses());
        assertEquals(80, slice.getPorts().getFirst().getPort());
        assertEquals("http", slice.getPorts().getFirst().getName());
    }

    @Test
    void aHeadlessImportHasNoIpsAndItsSlicesCarryHostnamesAndOneSlicePerFamily() {
        ImportedService headless = new ImportedService(WEB, ServiceType.HEADLESS, List.of(new ServicePort("", 5432, Protocol.TCP)),
                List.of(new ClusterBackends(EAST, List.of(ep("pg-0=10.244.1.7"), ep("fd00::7")))));
        assertTrue(ImportTranslation.serviceImport(headless).getSpec().ips().isEmpty());
        List<EndpointSlice> slices = ImportTranslation.endpointSlices(headless, WEST);
        assertEquals(List.of("web-east", "web-east-v6"), slices.stream().map(s -> s.getMetadata().getName()).toList());
        assertEquals("pg-0", slices.get(0).getEndpoints().getFirst().getHostname());
        assertEquals("IPv6", slices.get(1).getAddressType());
        assertEquals(IpLiteral.parse("ip", "fd00::7").getHostAddress(), slices.get(1).getEndpoints().getFirst().getAddresses().getFirst());
        assertEquals(null, slices.get(0).getPorts().getFirst().getName(), "an unnamed port stays unnamed");
    }

    @Test
    void aServiceOnlyThisClusterExportsIsNotImportedHere() {
        ImportedService onlyEast = new ImportedService(WEB, ServiceType.CLUSTER_SET_IP, List.of(new ServicePort("http", 80, Protocol.TCP)),
                List.of(new ClusterBackends(EAST, List.of(ep("10.96.0.10")))));
        assertFalse(ImportTranslation.importedBy(onlyEast, EAST));
        assertTrue(ImportTranslation.importedBy(onlyEast, WEST));
    }
}
