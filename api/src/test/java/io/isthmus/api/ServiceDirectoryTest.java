package io.isthmus.api;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.isthmus.api.Exports.T0;
import static io.isthmus.api.Exports.clusterSetIp;
import static io.isthmus.api.Exports.headless;
import static io.isthmus.api.Exports.ips;
import static io.isthmus.api.Exports.key;
import static io.isthmus.api.Exports.ports;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceDirectoryTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");
    private static final ClusterId NORTH = ClusterId.of("north");
    private static final ServiceKey CART = key("shop", "cart");
    private static final ServiceKey DB = key("shop", "db");

    private static ImportedService only(ServiceDirectory directory, ServiceKey key) {
        return directory.find(key).orElseThrow(() -> new AssertionError(key + " is not in " + directory));
    }

    @Test
    void emptyDirectoryHasVersionZeroAndNoServices() {
        assertEquals(0, ServiceDirectory.EMPTY.version());
        assertTrue(ServiceDirectory.EMPTY.services().isEmpty());
        assertTrue(ServiceDirectory.merge(0, Map.of()).services().isEmpty());
    }

    @Test
    void keepsTheVersionGiven() {
        ServiceDirectory directory = ServiceDirectory.merge(42, Map.of(EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "80"))));
        assertEquals(42, directory.version());
    }

    @Test
    void importsAServiceOfOneCluster() {
        ServiceDirectory directory = ServiceDirectory.merge(1,
                Map.of(EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP"))));
        ImportedService cart = only(directory, CART);
        assertEquals(CART, cart.key());
        assertEquals(ServiceType.CLUSTER_SET_IP, cart.type());
        assertEquals(ports("http:80/TCP"), cart.ports());
        assertEquals(List.of(ClusterBackends.ofIps(EAST, ips("10.96.0.10"))), cart.clusters());
        assertEquals(ips("10.96.0.10"), cart.addresses());
        assertTrue(directory.find(DB).isEmpty());
    }

    @Test
    void mergesTheSameServiceOfSeveralClustersWithTheAddressesOfAll() {
        ServiceDirectory directory = ServiceDirectory.merge(3, Map.of(
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0.plusSeconds(5), "http:80/TCP")),
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP"))));
        ImportedService cart = only(directory, CART);
        assertEquals(List.of(EAST, WEST), cart.clusters().stream().map(ClusterBackends::cluster).toList());
        assertEquals(ips("10.96.0.10", "10.97.0.10"), cart.addresses());
        assertEquals(ports("http:80/TCP"), cart.ports());
    }

    @Test
    void listsClustersInClusterIdOrderWhateverTheExportOrder() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                WEST, List.of(headless(CART, List.of("10.0.2.1"), T0, "80")),
                NORTH, List.of(headless(CART, List.of("10.0.1.1"), T0.plusSeconds(1), "80")),
                EAST, List.of(headless(CART, List.of("10.0.0.1"), T0.plusSeconds(2), "80"))));
        ImportedService cart = only(directory, CART);
        assertEquals(List.of(EAST, NORTH, WEST), cart.clusters().stream().map(ClusterBackends::cluster).toList());
        assertEquals(ips("10.0.0.1", "10.0.1.1", "10.0.2.1"), cart.addresses());
    }

    @Test
    void oldestExportDecidesTheTypeAndClustersOfTheOtherTypeAreLeftOut() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0.plusSeconds(10), "http:80/TCP")),
                WEST, List.of(headless(CART, List.of("10.1.0.1", "10.1.0.2"), T0, "http:80/TCP")),
                NORTH, List.of(headless(CART, List.of("10.2.0.1"), T0.plusSeconds(20), "http:80/TCP"))));
        ImportedService cart = only(directory, CART);
        assertEquals(ServiceType.HEADLESS, cart.type());
        assertEquals(List.of(NORTH, WEST), cart.clusters().stream().map(ClusterBackends::cluster).toList());
        assertEquals(ips("10.2.0.1", "10.1.0.1", "10.1.0.2"), cart.addresses());
    }

    @Test
    void lowerClusterIdDecidesTheTypeWhenExportsAreEquallyOld() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                WEST, List.of(headless(CART, List.of("10.1.0.1"), T0, "80")),
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "80"))));
        ImportedService cart = only(directory, CART);
        assertEquals(ServiceType.CLUSTER_SET_IP, cart.type());
        assertEquals(List.of(ClusterBackends.ofIps(EAST, ips("10.96.0.10"))), cart.clusters());
    }

    @Test
    void portsAreTheUnionOverTheClustersThatAreIn() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP")),
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0.plusSeconds(1), "http:80/TCP", "dns:53/UDP")),
                NORTH, List.of(headless(CART, List.of("10.2.0.1"), T0.plusSeconds(2), "admin:9000/TCP"))));
        ImportedService cart = only(directory, CART);
        assertEquals(ports("http:80/TCP", "dns:53/UDP"), cart.ports());
    }

    @Test
    void samePortNumberWithAnotherProtocolIsADifferentPort() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "dns:53/UDP")),
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0.plusSeconds(1), "dns-tcp:53/TCP"))));
        assertEquals(ports("dns:53/UDP", "dns-tcp:53/TCP"), only(directory, CART).ports());
    }

    @Test
    void oldestExportsDefinitionOfAPortWins() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0.plusSeconds(1), "web:80/TCP")),
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0, "http:80/TCP"))));
        assertEquals(ports("http:80/TCP"), only(directory, CART).ports());
    }

    @Test
    void keepsServicesOfDifferentKeysApart() {
        ServiceDirectory directory = ServiceDirectory.merge(7, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "80"), headless(DB, List.of("10.0.0.5"), T0, "5432")),
                WEST, List.of(headless(DB, List.of("10.1.0.5"), T0, "5432"))));
        assertEquals(2, directory.services().size());
        assertEquals(List.of(EAST), only(directory, CART).clusters().stream().map(ClusterBackends::cluster).toList());
        assertEquals(ips("10.0.0.5", "10.1.0.5"), only(directory, DB).addresses());
        assertEquals(ServiceType.HEADLESS, only(directory, DB).type());
    }

    @Test
    void headlessClusterWithoutEndpointsIsInButAddsNoAddresses() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(headless(DB, List.of(), T0, "5432")),
                WEST, List.of(headless(DB, List.of("10.1.0.5"), T0.plusSeconds(1), "5432"))));
        ImportedService db = only(directory, DB);
        assertEquals(2, db.clusters().size());
        assertEquals(ips("10.1.0.5"), db.addresses());
    }

    @Test
    void addressesLeaveOutRepeats() {
        ImportedService service = new ImportedService(DB, ServiceType.HEADLESS, ports("80"), List.of(
                ClusterBackends.ofIps(EAST, ips("10.0.0.1", "10.0.0.2")),
                ClusterBackends.ofIps(WEST, ips("10.0.0.2", "10.0.0.3"))));
        assertEquals(ips("10.0.0.1", "10.0.0.2", "10.0.0.3"), service.addresses());
    }

    @Test
    void theDirectoryIsImmutable() {
        Map<ServiceKey, ImportedService> services = new TreeMap<>();
        ServiceDirectory directory = new ServiceDirectory(1, services);
        services.put(CART, new ImportedService(CART, ServiceType.HEADLESS, ports("80"), List.of()));
        assertTrue(directory.services().isEmpty());
        ServiceDirectory merged = ServiceDirectory.merge(1, Map.of(EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "80"))));
        assertThrows(UnsupportedOperationException.class, () -> merged.services().clear());
        assertThrows(UnsupportedOperationException.class, () -> only(merged, CART).clusters().clear());
    }

    @Test
    void mergeIsTheSameWhateverTheOrderOfTheInput() {
        Map<ClusterId, List<ServiceExport>> a = new TreeMap<>();
        a.put(EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP")));
        a.put(WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0, "http:80/TCP", "dns:53/UDP")));
        Map<ClusterId, List<ServiceExport>> b = new TreeMap<>(java.util.Comparator.reverseOrder());
        b.putAll(a);
        assertEquals(ServiceDirectory.merge(1, a), ServiceDirectory.merge(1, b));
    }

    @Test
    void aTypeConflictIsRecordedNamingTheOldestExportAsTheOneUsed() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0.plusSeconds(5), "80")),
                WEST, List.of(headless(CART, List.of("10.1.0.5"), T0, "80"))));
        ImportedService cart = only(directory, CART);
        assertEquals(ServiceType.HEADLESS, cart.type());
        assertEquals(1, cart.conflicts().size());
        ExportConflict conflict = cart.conflicts().getFirst();
        assertEquals("type", conflict.field());
        assertEquals(WEST, conflict.winner());
        assertEquals(EAST, conflict.loser());
        assertTrue(conflict.involves(EAST) && conflict.involves(WEST));
        assertTrue(conflict.message().contains("oldest export, used"), conflict.message());
    }

    @Test
    void aPortWithTheSameNameButAnotherNumberIsAConflictAndTheOlderDefinitionIsUsed() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP")),
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0.plusSeconds(1), "http:8080/TCP"))));
        ImportedService cart = only(directory, CART);
        assertEquals(ports("http:80/TCP"), cart.ports());
        assertEquals(List.of("port http"), cart.conflicts().stream().map(ExportConflict::field).toList());
        assertEquals(EAST, cart.conflicts().getFirst().winner());
        assertEquals(2, cart.clusters().size(), "a port conflict keeps both clusters' endpoints");
    }

    @Test
    void clustersThatAgreeHaveNoConflicts() {
        ServiceDirectory directory = ServiceDirectory.merge(1, Map.of(
                EAST, List.of(clusterSetIp(CART, "10.96.0.10", T0, "http:80/TCP")),
                WEST, List.of(clusterSetIp(CART, "10.97.0.10", T0.plusSeconds(1), "http:80/TCP", "grpc:9090/TCP"))));
        assertTrue(only(directory, CART).conflicts().isEmpty());
        assertEquals(ports("http:80/TCP", "grpc:9090/TCP"), only(directory, CART).ports());
    }
}
