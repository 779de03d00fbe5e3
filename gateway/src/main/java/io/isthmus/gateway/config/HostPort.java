package io.isthmus.gateway.config;

import io.isthmus.api.InvalidFieldException;

import java.net.InetSocketAddress;

/** A host and port as written in config or on the command line: {@code host:port} or {@code [v6]:port}. */
public record HostPort(String host, int port) {
    public HostPort {
        if (host == null || host.isBlank()) {
            throw new InvalidFieldException("host", host == null ? "" : host, "must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new InvalidFieldException("port", port, "must be between 0 and 65535");
        }
    }

    /** Parses {@code host:port}; {@code field} names the setting in the error message. */
    public static HostPort parse(String field, String text) {
        String value = text == null ? "" : text.trim();
        int colon = value.lastIndexOf(':');
        if (colon <= 0 || colon == value.length() - 1) {
            throw new InvalidFieldException(field, value, "expected HOST:PORT, e.g. 127.0.0.1:7071 or [::1]:7071");
        }
        String host = value.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new InvalidFieldException(field, value, "an IPv6 host must be in brackets, e.g. [::1]:7071");
        }
        if (host.isEmpty() || !host.matches("[A-Za-z0-9.:%_-]+")) {
            throw new InvalidFieldException(field, value, "the host is not a valid name or address");
        }
        int port;
        try {
            port = Integer.parseInt(value.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new InvalidFieldException(field, value, "the port is not a number");
        }
        if (port < 1 || port > 65535) {
            throw new InvalidFieldException(field, value, "the port must be between 1 and 65535");
        }
        return new HostPort(host, port);
    }

    /** {@code host:port} of a bound socket, or "-" when there is none. */
    public static String format(InetSocketAddress address) {
        return address == null ? "-" : new HostPort(address.getAddress().getHostAddress(), address.getPort()).toString();
    }

    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}
