package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.Protocol;
import java.net.InetAddress;
import java.util.Locale;
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

    /**
     * A flow as {@code isthmus policy explain} takes it: {@code source} an address, {@code destination}
     * {@code ADDRESS:PORT/PROTOCOL} ({@code 10.2.0.7:5432/tcp}, {@code [fd00::7]:53/udp}, {@code 10.2.0.7/icmp},
     * {@code 10.2.0.7/47} for a protocol by number; no protocol given: TCP). Errors name {@code field} and the value.
     */
    public static Flow parse(String field, String source, String destination) {
        InetAddress from = IpLiteral.parse(field + ".from", source.trim());
        String text = destination.trim();
        int protocol = TCP;
        int slash = text.lastIndexOf('/');
        if (slash >= 0) {
            String name = text.substring(slash + 1).toLowerCase(Locale.ROOT);
            protocol = switch (name) {
                case "tcp" -> TCP;
                case "udp" -> UDP;
                case "sctp" -> SCTP;
                case "icmp" -> ICMP;
                case "icmpv6" -> ICMPV6;
                default -> {
                    if (!name.matches("\\d{1,3}") || Integer.parseInt(name) > 255) {
                        throw new InvalidFieldException(field + ".to", destination,
                                "the protocol must be tcp, udp, sctp, icmp, icmpv6 or a number 0..255");
                    }
                    yield Integer.parseInt(name);
                }
            };
            text = text.substring(0, slash);
        }
        String host = text;
        int port = NO_PORT;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new InvalidFieldException(field + ".to", destination, "an IPv6 address in [ ] lacks its ]");
            }
            host = text.substring(1, close);
            if (text.length() > close + 1) {
                if (text.charAt(close + 1) != ':') {
                    throw new InvalidFieldException(field + ".to", destination, "expected :PORT after ]");
                }
                port = port(field, destination, text.substring(close + 2));
            }
        } else if (text.indexOf(':') >= 0 && text.indexOf(':') == text.lastIndexOf(':')) { // IPv4:PORT
            host = text.substring(0, text.indexOf(':'));
            port = port(field, destination, text.substring(text.indexOf(':') + 1));
        }
        InetAddress to = IpLiteral.parse(field + ".to", host);
        if (hasPorts(protocol) && port == NO_PORT) {
            throw new InvalidFieldException(field + ".to", destination, "give the port: ADDRESS:PORT/"
                    + protocolName(protocol).toLowerCase(Locale.ROOT));
        }
        if (!hasPorts(protocol) && port != NO_PORT) {
            throw new InvalidFieldException(field + ".to", destination, protocolName(protocol) + " has no ports");
        }
        return new Flow(from, to, protocol, port);
    }

    private static int port(String field, String destination, String text) {
        if (!text.matches("\\d{1,5}") || Integer.parseInt(text) > 65535) {
            throw new InvalidFieldException(field + ".to", destination, "the port must be 0..65535");
        }
        return Integer.parseInt(text);
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
