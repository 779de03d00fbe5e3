package io.isthmus.api;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * IP address text, both ways, without ever asking a resolver (InetAddress.getByName would): {@link #parse} reads a
 * literal, {@link #format} writes the canonical form Kubernetes and {@code ip} print, which Java's
 * {@code getHostAddress} does not for IPv6 ({@code fd00:0:0:0:0:0:0:1} rather than {@code fd00::1}).
 */
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

    /** Dotted quad for IPv4; RFC 5952 for IPv6: lower case, no leading zeros, the longest run of zero groups as "::". */
    public static String format(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] bytes = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        // RFC 5952 §4.2: shorten the longest run of two or more zero groups, the first one on a tie.
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder text = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!text.isEmpty() && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }
}
