package io.isthmus.gateway.peering;

import io.isthmus.api.Endpoint;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.Protocol;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.api.grpc.peering.Export;
import io.isthmus.api.grpc.peering.Port;

import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** Converts between the wire messages and the value types; everything from the wire is validated here. */
final class PeerMessages {
    private PeerMessages() {
    }

    static Export toWire(ServiceExport export) {
        Export.Builder b = Export.newBuilder()
                .setNamespace(export.key().namespace())
                .setName(export.key().name())
                .setType(switch (export.type()) {
                    case CLUSTER_SET_IP -> io.isthmus.api.grpc.peering.ServiceType.CLUSTER_SET_IP;
                    case HEADLESS -> io.isthmus.api.grpc.peering.ServiceType.HEADLESS;
                })
                .setExportedAtMillis(export.exportedAt().toEpochMilli());
        export.offeredTo().forEach(cluster -> b.addOfferedTo(cluster.value()));
        for (ServicePort port : export.ports()) {
            b.addPorts(Port.newBuilder().setName(port.name()).setPort(port.port()).setProtocol(switch (port.protocol()) {
                case TCP -> io.isthmus.api.grpc.peering.Protocol.TCP;
                case UDP -> io.isthmus.api.grpc.peering.Protocol.UDP;
                case SCTP -> io.isthmus.api.grpc.peering.Protocol.SCTP;
            }));
        }
        for (Endpoint endpoint : export.endpoints()) {
            b.addEndpoints(io.isthmus.api.grpc.peering.Endpoint.newBuilder()
                    .setIp(endpoint.ip().getHostAddress()).setHostname(endpoint.hostname()));
        }
        return b.build();
    }

    /** @throws io.isthmus.api.InvalidFieldException naming the offending field of the peer's message */
    static ServiceExport fromWire(Export wire) {
        ServiceKey key = new ServiceKey(wire.getNamespace(), wire.getName());
        ServiceType type = switch (wire.getType()) {
            case CLUSTER_SET_IP -> ServiceType.CLUSTER_SET_IP;
            case HEADLESS -> ServiceType.HEADLESS;
            case SERVICE_TYPE_UNSPECIFIED, UNRECOGNIZED ->
                    throw new io.isthmus.api.InvalidFieldException("export " + key + " type", wire.getTypeValue(),
                            "unknown service type");
        };
        List<ServicePort> ports = new ArrayList<>();
        for (Port port : wire.getPortsList()) {
            Protocol protocol = switch (port.getProtocol()) {
                case TCP -> Protocol.TCP;
                case UDP -> Protocol.UDP;
                case SCTP -> Protocol.SCTP;
                case PROTOCOL_UNSPECIFIED, UNRECOGNIZED ->
                        throw new io.isthmus.api.InvalidFieldException("export " + key + " port protocol",
                                port.getProtocolValue(), "unknown protocol");
            };
            ports.add(new ServicePort(port.getName(), port.getPort(), protocol));
        }
        List<Endpoint> endpoints = new ArrayList<>();
        for (var endpoint : wire.getEndpointsList()) {
            InetAddress ip = IpLiteral.parse("export " + key + " ip", endpoint.getIp());
            try {
                endpoints.add(new Endpoint(ip, endpoint.getHostname()));
            } catch (io.isthmus.api.InvalidFieldException e) {
                throw e.as("export " + key + " hostname");
            }
        }
        java.util.SortedSet<io.isthmus.api.ClusterId> offeredTo = new java.util.TreeSet<>();
        for (String cluster : wire.getOfferedToList()) {
            try {
                offeredTo.add(io.isthmus.api.ClusterId.of(cluster));
            } catch (io.isthmus.api.InvalidFieldException e) {
                throw e.as("export " + key + " offered-to");
            }
        }
        return new ServiceExport(key, type, ports, endpoints, Instant.ofEpochMilli(wire.getExportedAtMillis()),
                offeredTo);
    }
}
