package io.isthmus.api;

import java.net.InetAddress;
import java.util.regex.Pattern;

/** Parses IP address literals without ever asking a resolver (InetAddress.getByName would). */
public final class IpLiteral {
    // InetAddress.ofLiteral also takes the old shorthands ("10.1" = 10.0.0.1); nobody means those in a config.
    private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private IpLiteral() {
    }

    public static InetAddress parse(String field, String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidFieldException(field, text == null ? "" : text, "must be an IPv4 or IPv6 address");
        }
        String literal = text.trim();
        if (!literal.contains(":") && !DOTTED_QUAD.matcher(literal).matches()) {
            throw new InvalidFieldException(field, text, "must be an IPv4 address in dotted-quad form (a.b.c.d) or an IPv6 address");
        }
        try {
            return InetAddress.ofLiteral(literal);
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException(field, text, "must be an IPv4 or IPv6 address");
        }
    }
}
