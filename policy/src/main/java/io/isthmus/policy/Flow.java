package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.Protocol;
import java.net.InetAddress;
import java.util.Objects;

/**
 * One flow as policy judges it: source and destination address (same family), IP protocol number and destination
 * port. {@code port} is -1 when there is none to read: a protocol without ports (ICMP...), or a non-first fragment,
 * which carries no transport header. Only rules without ports match a flow without a port.
 */
public record Flow(InetAddress source, InetAddress destination, int protocol, int port) {
    public static final int TCP = 6;
    public static final int UDP = 17;
    public static final int SCTP = 132;
    public static final int ICMP = 1;
    public static final int ICMPV6 = 58;
    public static final int NO_PORT = -1;

    public Flow {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(destination, "destination");
        if (source.getAddress().length != destination.getAddress().length) {
            throw new InvalidFieldException("flow.destination", destination.getHostAddress(),
                    "must be of the source's address family (" + source.getHostAddress() + ")");
        }
        if (protocol < 0 || protocol > 255) {
            throw new InvalidFieldException("flow.protocol", protocol, "must be an IP protocol number 0..255");
        }
        if (port < NO_PORT || port > 65535) {
            throw new InvalidFieldException("flow.port", port, "must be 0..65535, or -1 for none");
        }
        if (port != NO_PORT && !hasPorts(protocol)) {
            throw new InvalidFieldException("flow.port", port, "protocol " + protocol + " has no ports: give -1");
        }
    }

    public static Flow of(InetAddress source, InetAddress destination, Protocol protocol, int port) {
        return new Flow(source, destination, number(protocol), port);
    }

    /** A flow of a protocol without ports, or a non-first fragment of any protocol. */
    public static Flow withoutPort(InetAddress source, InetAddress destination, int protocol) {
        return new Flow(source, destination, protocol, NO_PORT);
    }

    public static int number(Protocol protocol) {
        return switch (protocol) {
            case TCP -> TCP;
            case UDP -> UDP;
            case SCTP -> SCTP;
        };
    }

    /** TCP, UDP and SCTP: the protocols whose destination port rules can name. */
    public static boolean hasPorts(int protocol) {
        return protocol == TCP || protocol == UDP || protocol == SCTP;
    }

    public static String protocolName(int protocol) {
        return switch (protocol) {
            case TCP -> "TCP";
            case UDP -> "UDP";
            case SCTP -> "SCTP";
            case ICMP -> "ICMP";
            case ICMPV6 -> "ICMPv6";
            default -> "protocol " + protocol;
        };
    }

    @Override
    public String toString() {
        return IpLiteral.format(source) + " -> " + IpLiteral.format(destination) + " " + protocolName(protocol)
                + (port == NO_PORT ? "" : "/" + port);
    }
}
