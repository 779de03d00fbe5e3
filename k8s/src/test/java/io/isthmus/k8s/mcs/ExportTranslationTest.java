package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServicePort;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceType;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportTranslationTest {
    private static ServiceExportResource export(String namespace, String name) {
        ServiceExportResource export = McsFixtures.serviceExport(namespace, name);
        export.getMetadata().setCreationTimestamp("2026-11-26T10:00:00Z");
        return export;
    }

    private static ExportTranslation.Outcome translate(Service service, EndpointSlice... slices) {
        return ExportTranslation.translate(export("shop", "web"), service, List.of(slices));
    }

    @Test
    void aClusterIpServiceWithAReadyEndpointIsOfferedWithItsClusterIpAndTheExportsCreationTime() {
        var outcome = translate(McsFixtures.service("shop", "web", "10.96.0.10", "http:80"),
                McsFixtures.slice("shop", "web", "web-1", "10.244.1.5", "!10.244.1.6"));
        ServiceExport export = assertInstanceOf(ExportTranslation.Offered.class, outcome).export();
        assertEquals(ServiceType.CLUSTER_SET_IP, export.type());
        assertEquals(List.of("10.96.0.10"), export.ips().stream().map(java.net.InetAddress::getHostAddress).toList());
        assertEquals(List.of(new ServicePort("http", 80, Protocol.TCP)), export.ports());
        assertEquals(Instant.parse("2026-11-26T10:00:00Z"), export.exportedAt());
    }

    @Test
    void aClusterIpServiceWithoutReadyEndpointsIsWithheld() {
        var outcome = translate(McsFixtures.service("shop", "web", "10.96.0.10", "http:80"),
                McsFixtures.slice("shop", "web", "web-1", "!10.244.1.6"));
        assertEquals("NoReadyEndpoints", assertInstanceOf(ExportTranslation.Withheld.class, outcome).reason());
    }

    @Test
    void aHeadlessServiceOffersEveryReadyEndpointOnceInAddressOrderWithUniqueHostnames() {
        var outcome = translate(McsFixtures.service("shop", "web", "None", "http:80"),
                McsFixtures.slice("shop", "web", "web-1", "web-1=10.244.2.7", "web-0=10.244.1.7", "!web-2=10.244.3.7"),
                // the same endpoint in a second slice (slices being rebalanced), and a hostname given twice
                McsFixtures.slice("shop", "web", "web-2", "web-0=10.244.1.7", "web-0=10.244.9.9"));
        ServiceExport export = assertInstanceOf(ExportTranslation.Offered.class, outcome).export();
        assertEquals(ServiceType.HEADLESS, export.type());
        assertEquals(List.of("web-0=10.244.1.7", "web-1=10.244.2.7", "10.244.9.9"),
                export.endpoints().stream().map(Endpoint::toString).toList());
    }

    @Test
    void aHeadlessServiceWithoutReadyEndpointsIsStillOfferedEmpty() {
        var outcome = translate(McsFixtures.service("shop", "web", "None", "http:80"));
        assertTrue(assertInstanceOf(ExportTranslation.Offered.class, outcome).export().endpoints().isEmpty());
    }

    @Test
    void aMissingServiceIsInvalidAndSaysWhichService() {
        var invalid = assertInstanceOf(ExportTranslation.Invalid.class, translate(null));
        assertEquals("ServiceNotFound", invalid.reason());
        assertTrue(invalid.message().contains("shop/web"), invalid.message());
    }

    @Test
    void anExternalNameServiceCannotBeExported() {
        Service service = McsFixtures.service("shop", "web", null, "http:80");
        service.getSpec().setType("ExternalName");
        assertEquals("ServiceTypeNotSupported", assertInstanceOf(ExportTranslation.Invalid.class, translate(service)).reason());
    }

    @Test
    void aServiceWithoutPortsIsInvalidNamingTheField() {
        var invalid = assertInstanceOf(ExportTranslation.Invalid.class,
                translate(McsFixtures.service("shop", "web", "10.96.0.10"), McsFixtures.slice("shop", "web", "w", "10.244.1.5")));
        assertEquals("InvalidServicePorts", invalid.reason());
        assertTrue(invalid.message().contains("port") && invalid.message().contains("at least one port"), invalid.message());
    }

    @Test
    void twoPortsWithTheSameNumberAndProtocolAreAPortClash() {
        Service service = McsFixtures.service("shop", "web", "10.96.0.10", "http:80");
        service.getSpec().getPorts().add(new ServicePortBuilder().withName("web").withProtocol("TCP").withPort(80).build());
        var invalid = assertInstanceOf(ExportTranslation.Invalid.class, translate(service, McsFixtures.slice("shop", "web", "w", "10.244.1.5")));
        assertEquals("InvalidServicePorts", invalid.reason());
        assertTrue(invalid.message().contains("the same port and protocol is given twice"), invalid.message());
    }

    @Test
    void aPortWithoutProtocolIsTcpAsKubernetesDefaultsIt() {
        Service service = McsFixtures.service("shop", "web", "10.96.0.10", "http:80");
        service.getSpec().getPorts().getFirst().setProtocol(null);
        ServiceExport export = assertInstanceOf(ExportTranslation.Offered.class,
                translate(service, McsFixtures.slice("shop", "web", "w", "10.244.1.5"))).export();
        assertEquals(Protocol.TCP, export.ports().getFirst().protocol());
    }

    @Test
    void aServiceWithoutClusterIpYetIsInvalidUntilItHasOne() {
        assertEquals("NoClusterIP", assertInstanceOf(ExportTranslation.Invalid.class,
                translate(McsFixtures.service("shop", "web", "", "http:80"))).reason());
    }
}
