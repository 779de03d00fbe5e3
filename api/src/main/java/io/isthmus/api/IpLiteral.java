package io.isthmus.api;

import java.net.InetAddress;

/** Parses IP address literals without ever asking a resolver (InetAddress.getByName would). */
public final class IpLiteral {
    private IpLiteral() {
    }

    public static InetAddress parse(String field, String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidFieldException(field, text == null ? "" : text, "must be an IPv4 or IPv6 address");
        }
        try {
            return InetAddress.ofLiteral(text.trim());
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, text, "must be an IPv4 or IPv6 address");
        }
    }
}
