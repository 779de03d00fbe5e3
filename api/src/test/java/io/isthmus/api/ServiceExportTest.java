package io.isthmus.api;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static io.isthmus.api.Exports.T0;
import static io.isthmus.api.Exports.ips;
import static io.isthmus.api.Exports.key;
import static io.isthmus.api.Exports.ports;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServiceExportTest {
    private static final ServiceKey CART = key("shop", "cart");

    private static InvalidFieldException rejects(ServiceType type, List<ServicePort> ports, List<InetAddress> ips) {
        return assertThrows(InvalidFieldException.class, () -> ServiceExport.of(CART, type, ports, ips, T0));
    }

    @Test
    void acceptsClusterSetIpWithOneIpAndNamedPorts() {
        ServiceExport export = ServiceExport.of(CART, ServiceType.CLUSTER_SET_IP,
                ports("http:80/TCP", "https:443/TCP", "dns:53/UDP"), ips("10.96.0.10"), T0);
        assertEquals(3, export.ports().size());
        assertEquals(ips("10.96.0.10"), export.ips());
    }

    @Test
    void acceptsOneUnnamedPort() {
        ServiceExport export = ServiceExport.of(CART, ServiceType.CLUSTER_SET_IP, ports("80"), ips("10.96.0.10"), T0);
        assertEquals("", export.ports().getFirst().name());
    }

    @Test
    void acceptsHeadlessWithoutAnyIp() {
        ServiceExport export = ServiceExport.of(CART, ServiceType.HEADLESS, ports("80"), List.of(), T0);
        assertTrue(export.ips().isEmpty());
    }

    @Test
    void acceptsHeadlessWithSeveralIpsOfBothFamilies() {
        ServiceExport export = ServiceExport.of(CART, ServiceType.HEADLESS, ports("80"),
                ips("10.0.0.1", "10.0.0.2", "fd00::1"), T0);
        assertEquals(3, export.ips().size());
    }

    @Test
    void rejectsExportWithoutPorts() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, List.of(), ips("10.96.0.10"));
        assertEquals("port", e.field());
        assertTrue(e.reason().contains("at least one port"), e.reason());
    }

    @Test
    void rejectsTheSamePortAndProtocolTwice() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("http:80/TCP", "web:80/TCP"),
                ips("10.96.0.10"));
        assertEquals("port", e.field());
        assertEquals("web:80/TCP", e.value());
        assertTrue(e.reason().contains("given twice"), e.reason());
    }

    @Test
    void acceptsTheSamePortNumberWithDifferentProtocols() {
        ServiceExport export = ServiceExport.of(CART, ServiceType.CLUSTER_SET_IP, ports("dns:53/UDP", "dns-tcp:53/TCP"),
                ips("10.96.0.10"), T0);
        assertEquals(2, export.ports().size());
    }

    @Test
    void rejectsTheSamePortNameTwice() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("http:80/TCP", "http:8080/TCP"),
                ips("10.96.0.10"));
        assertEquals("port", e.field());
        assertTrue(e.reason().contains("'http'"), e.reason());
    }

    @Test
    void rejectsSeveralPortsWhenOneIsUnnamed() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("http:80/TCP", "443/TCP"),
                ips("10.96.0.10"));
        assertEquals("port", e.field());
        assertTrue(e.reason().contains("name each"), e.reason());
    }

    @Test
    void rejectsSeveralUnnamedPorts() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("80/TCP", "443/TCP"), ips("10.96.0.10"));
        assertTrue(e.reason().contains("name each"), e.reason());
    }

    @Test
    void rejectsClusterSetIpWithoutIp() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("80"), List.of());
        assertEquals("ip", e.field());
        assertTrue(e.reason().contains("exactly one IP"), e.reason());
    }

    @Test
    void rejectsClusterSetIpWithTwoIps() {
        InvalidFieldException e = rejects(ServiceType.CLUSTER_SET_IP, ports("80"), ips("10.96.0.10", "10.96.0.11"));
        assertEquals("ip", e.field());
        assertTrue(e.reason().contains("exactly one IP"), e.reason());
    }

    @Test
    void rejectsTheSameIpTwice() {
        InvalidFieldException e = rejects(ServiceType.HEADLESS, ports("80"), ips("10.0.0.1", "10.0.0.2", "10.0.0.1"));
        assertEquals("ip", e.field());
        assertTrue(e.reason().contains("given twice"), e.reason());
    }

    @Test
    void rejectsTheSameIpv6AddressWrittenDifferently() {
        InvalidFieldException e = rejects(ServiceType.HEADLESS, ports("80"), ips("fd00::1", "fd00:0:0:0:0:0:0:1"));
        assertEquals("ip", e.field());
    }

    @Test
    void rejectsMissingKeyTypeOrExportTime() {
        assertEquals("service", assertThrows(InvalidFieldException.class, () -> ServiceExport.of(null,
                ServiceType.HEADLESS, ports("80"), List.of(), T0)).field());
        assertEquals("type", assertThrows(InvalidFieldException.class, () -> ServiceExport.of(CART,
                null, ports("80"), List.of(), T0)).field());
        assertEquals("exported-at", assertThrows(InvalidFieldException.class, () -> ServiceExport.of(CART,
                ServiceType.HEADLESS, ports("80"), List.of(), null)).field());
    }

    @Test
    void copiesPortsAndIpsSoLaterChangesDoNotLeakIn() {
        List<ServicePort> ports = new ArrayList<>(ports("80"));
        List<InetAddress> ips = new ArrayList<>(ips("10.0.0.1"));
        ServiceExport export = ServiceExport.of(CART, ServiceType.HEADLESS, ports, ips, T0);
        ports.add(ServicePort.parse("81"));
        ips.clear();
        assertEquals(1, export.ports().size());
        assertEquals(1, export.ips().size());
        assertThrows(UnsupportedOperationException.class, () -> export.ips().add(ips("10.0.0.9").getFirst()));
    }

    @Test
    void parsesServiceTypeInTheFormsUsersWrite() {
        assertEquals(ServiceType.CLUSTER_SET_IP, ServiceType.parse("type", "ClusterSetIP"));
        assertEquals(ServiceType.CLUSTER_SET_IP, ServiceType.parse("type", "cluster-set-ip"));
        assertEquals(ServiceType.CLUSTER_SET_IP, ServiceType.parse("type", "CLUSTER_SET_IP"));
        assertEquals(ServiceType.HEADLESS, ServiceType.parse("type", "Headless"));
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ServiceType.parse("--type", "NodePort"));
        assertEquals("--type", e.field());
        assertEquals("NodePort", e.value());
    }
}
