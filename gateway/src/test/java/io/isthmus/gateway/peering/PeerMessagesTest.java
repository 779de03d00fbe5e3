package io.isthmus.gateway.peering;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.grpc.peering.Export;
import io.isthmus.api.grpc.peering.Port;
import io.isthmus.api.grpc.peering.Protocol;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeerMessagesTest {
    private static final Instant T0 = Instant.parse("2025-03-01T12:00:00.123Z");

    private static ServiceExport export(ServiceType type, List<String> ips, String... ports) {
        return ServiceExport.of(new ServiceKey("shop", "cart"), type,
                Arrays.stream(ports).map(ServicePort::parse).toList(),
                ips.stream().map(ip -> IpLiteral.parse("ip", ip)).toList(), T0);
    }

    private static Export.Builder validWire() {
        return PeerMessages.toWire(export(ServiceType.CLUSTER_SET_IP, List.of("10.96.0.10"), "http:80/TCP")).toBuilder();
    }

    private static void assertRoundTrips(ServiceExport export) {
        assertEquals(export, PeerMessages.fromWire(PeerMessages.toWire(export)));
        // and through the bytes that actually travel
        try {
            assertEquals(export, PeerMessages.fromWire(Export.parseFrom(PeerMessages.toWire(export).toByteArray())));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void roundTripsClusterSetIpWithNamedPorts() {
        assertRoundTrips(export(ServiceType.CLUSTER_SET_IP, List.of("10.96.0.10"), "http:80/TCP", "https:443/TCP"));
    }

    @Test
    void roundTripsUnnamedPort() {
        assertRoundTrips(export(ServiceType.CLUSTER_SET_IP, List.of("10.96.0.10"), "8080"));
    }

    @Test
    void roundTripsUdpAndSctpPorts() {
        assertRoundTrips(export(ServiceType.CLUSTER_SET_IP, List.of("10.96.0.10"), "dns:53/UDP", "dns-tcp:53/TCP",
                "sig:2905/SCTP"));
    }

    @Test
    void roundTripsIpv6() {
        assertRoundTrips(export(ServiceType.CLUSTER_SET_IP, List.of("fd00:10:96::a"), "http:80/TCP"));
    }

    @Test
    void roundTripsHeadlessWithSeveralIpsOfBothFamilies() {
        assertRoundTrips(export(ServiceType.HEADLESS, List.of("10.0.0.1", "10.0.0.2", "fd00::1"), "http:80/TCP"));
    }

    @Test
    void roundTripsHeadlessWithoutIps() {
        assertRoundTrips(export(ServiceType.HEADLESS, List.of(), "http:80/TCP"));
    }

    @Test
    void writesTheWireFieldsAsTheProtoDescribes() {
        Export wire = PeerMessages.toWire(export(ServiceType.HEADLESS, List.of("10.0.0.1", "fd00::1"), "dns:53/UDP",
                "web:80/TCP"));
        assertEquals("shop", wire.getNamespace());
        assertEquals("cart", wire.getName());
        assertEquals(io.isthmus.api.grpc.peering.ServiceType.HEADLESS, wire.getType());
        assertEquals(List.of(Port.newBuilder().setName("dns").setPort(53).setProtocol(Protocol.UDP).build(),
                Port.newBuilder().setName("web").setPort(80).setProtocol(Protocol.TCP).build()), wire.getPortsList());
        assertEquals(2, wire.getEndpointsCount());
        assertEquals("10.0.0.1", wire.getEndpoints(0).getIp());
        assertEquals(IpLiteral.parse("ip", "fd00::1"), IpLiteral.parse("ip", wire.getEndpoints(1).getIp()));
        assertEquals(T0.toEpochMilli(), wire.getExportedAtMillis());
    }

    @Test
    void rejectsUnknownServiceTypeNamingTheField() {
        Export wire = validWire().setType(io.isthmus.api.grpc.peering.ServiceType.SERVICE_TYPE_UNSPECIFIED).build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire));
        assertEquals("export shop/cart type", e.field());
        assertEquals("0", e.value());
    }

    @Test
    void rejectsServiceTypeFromANewerProtocolNamingTheField() {
        Export wire = validWire().setTypeValue(7).build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire));
        assertEquals("export shop/cart type", e.field());
        assertEquals("7", e.value());
    }

    @Test
    void rejectsUnknownProtocolNamingTheField() {
        Export unspecified = validWire().setPorts(0, Port.newBuilder().setName("http").setPort(80)).build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(unspecified));
        assertEquals("export shop/cart port protocol", e.field());
        assertEquals("0", e.value());

        Export newer = validWire().setPorts(0, Port.newBuilder().setName("http").setPort(80).setProtocolValue(9)).build();
        assertEquals("9", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(newer)).value());
    }

    @Test
    void rejectsIpThatIsNotAnAddressNamingTheField() {
        Export wire = validWire().setEndpoints(0, io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp("10.96.0.300")).build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire));
        assertEquals("export shop/cart ip", e.field());
        assertEquals("10.96.0.300", e.value());
    }

    @Test
    void rejectsHostNameInPlaceOfAnIp() {
        Export wire = validWire().setEndpoints(0, io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp("cart.shop.svc.cluster.local")).build();
        assertEquals("export shop/cart ip",
                assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire)).field());
    }

    @Test
    void rejectsNamespaceThatIsNotADnsLabel() {
        Export wire = validWire().setNamespace("Shop_1").build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire));
        assertEquals("namespace", e.field());
        assertEquals("Shop_1", e.value());
    }

    @Test
    void rejectsMissingName() {
        Export wire = validWire().clearName().build();
        assertEquals("name", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire)).field());
    }

    @Test
    void rejectsPortOutOfRange() {
        Export zero = validWire().setPorts(0, Port.newBuilder().setName("http").setPort(0).setProtocol(Protocol.TCP)).build();
        assertEquals("port", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(zero)).field());
        Export big = validWire().setPorts(0, Port.newBuilder().setName("http").setPort(70000).setProtocol(Protocol.TCP)).build();
        assertEquals("port", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(big)).field());
    }

    @Test
    void rejectsBadPortName() {
        Export wire = validWire().setPorts(0, Port.newBuilder().setName("HTTP").setPort(80).setProtocol(Protocol.TCP)).build();
        assertEquals("port name", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire)).field());
    }

    @Test
    void carriesHeadlessEndpointHostnamesBothWays() {
        ServiceExport headless = new ServiceExport(new io.isthmus.api.ServiceKey("db", "pg"),
                io.isthmus.api.ServiceType.HEADLESS, List.of(io.isthmus.api.ServicePort.parse("5432/TCP")),
                List.of(io.isthmus.api.Endpoint.parse("ip", "pg-0=10.244.1.5"),
                        io.isthmus.api.Endpoint.parse("ip", "10.244.1.6")), T0);
        assertEquals(headless, PeerMessages.fromWire(PeerMessages.toWire(headless)));
    }

    @Test
    void rejectsAnEndpointHostnameThatIsNotADnsLabel() {
        Export wire = Export.newBuilder(PeerMessages.toWire(new ServiceExport(new io.isthmus.api.ServiceKey("db", "pg"),
                        io.isthmus.api.ServiceType.HEADLESS, List.of(io.isthmus.api.ServicePort.parse("5432/TCP")),
                        List.of(io.isthmus.api.Endpoint.parse("ip", "10.244.1.5")), T0)))
                .setEndpoints(0, io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp("10.244.1.5").setHostname("PG_0"))
                .build();
        assertEquals("export db/pg hostname",
                assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(wire)).field());
    }

    @Test
    void rejectsExportThatBreaksTheExportRules() {
        Export noPorts = validWire().clearPorts().build();
        assertEquals("port", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(noPorts)).field());
        Export twoIps = validWire().addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder().setIp("10.96.0.11")).build();
        assertEquals("ip", assertThrows(InvalidFieldException.class, () -> PeerMessages.fromWire(twoIps)).field());
    }

    @Test
    void keepsTheExportTimeToTheMillisecond() {
        Export wire = validWire().setExportedAtMillis(1_700_000_000_123L).build();
        assertEquals(Instant.ofEpochMilli(1_700_000_000_123L), PeerMessages.fromWire(wire).exportedAt());
        assertTrue(PeerMessages.fromWire(validWire().build()).exportedAt().equals(T0));
    }
}
