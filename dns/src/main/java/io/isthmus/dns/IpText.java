package io.isthmus.dns;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Addresses as text the way Kubernetes writes them, which Java's {@code getHostAddress} does not for IPv6. */
final class IpText {
    private IpText() {
    }

    /** Dotted quad for IPv4; RFC 5952 for IPv6 (lower case, longest run of zero groups as "::"). */
    static String canonical(InetAddress address) {
        if (address instanceof Inet4Address) {
            return address.getHostAddress();
        }
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = (b[2 * i] & 0xFF) << 8 | b[2 * i + 1] & 0xFF;
        }
        // RFC 5952 §4.2: shorten the longest run of two or more zero groups, the first one on a tie.
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        StringBuilder out = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                out.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!out.isEmpty() && out.charAt(out.length() - 1) != ':') {
                out.append(':');
            }
            out.append(Integer.toHexString(groups[i]));
        }
        return out.toString();
    }

    /**
     * The label Kubernetes gives an endpoint without a hostname: its address with '.' or ':' as '-',
     * {@code 10-244-1-5} or {@code fd00--1}.
     */
    static String dashed(InetAddress address) {
        return canonical(address).replace('.', '-').replace(':', '-');
    }

    static InetAddress fromBytes(byte[] address) {
        try {
            return address.length == 16 ? Inet6Address.getByAddress(null, address, null) : InetAddress.getByAddress(address);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("an address is 4 or 16 bytes, not " + address.length, e);
        }
    }
}
