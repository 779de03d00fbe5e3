package io.isthmus.fastpath;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An IP address with a prefix length, e.g. {@code 10.99.0.1/24} (an interface address, host bits kept) or
 * {@code 10.99.0.0/16} (a route destination: {@link #isNetwork()}). IPv4 or IPv6. This module's own small type,
 * since it depends on nothing of ours; {@code io.isthmus.api.Cidr} converts through {@link #parse} and
 * {@link #toString()}.
 */
public record IpPrefix(InetAddress address, int length) {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]+");

    public IpPrefix {
        Objects.requireNonNull(address, "address");
        if (address instanceof Inet6Address v6 && v6.getScopeId() != 0) {
            throw new InvalidArgumentException("ip prefix", address.getHostAddress(), "must not carry a scope id");
        }
        int max = address instanceof Inet4Address ? 32 : 128;
        if (length < 0 || length > max) {
            throw new InvalidArgumentException("prefix length", length, "must be between 0 and " + max + " for "
                    + address.getHostAddress());
        }
    }

    /** {@code 10.0.0.1/24}, {@code fd00::1/64}; a bare address is a host prefix (/32, /128). Never a name lookup. */
    public static IpPrefix parse(String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidArgumentException("ip prefix", text, "must be an address with a prefix length, e.g."
                    + " 10.0.0.0/24 or fd00::/64");
        }
        int slash = text.indexOf('/');
        InetAddress address = parseAddress(slash < 0 ? text : text.substring(0, slash), "ip prefix", text);
        int max = address instanceof Inet4Address ? 32 : 128;
        if (slash < 0) {
            return new IpPrefix(address, max);
        }
        String digits = text.substring(slash + 1);
        if (!digits.matches("\\d{1,3}")) {
            throw new InvalidArgumentException("ip prefix", text, "prefix length '" + digits + "' is not a number");
        }
        int length = Integer.parseInt(digits);
        if (length > max) {
            throw new InvalidArgumentException("ip prefix", text, "prefix length " + length + " is more than " + max);
        }
        return new IpPrefix(address, length);
    }

    /** An IPv4 or IPv6 literal, never a name lookup; {@code field} names it in the complaint. */
    public static InetAddress parseAddress(String text, String field) {
        return parseAddress(text, field, text);
    }

    private static InetAddress parseAddress(String text, String field, String whole) {
        boolean v6 = text.indexOf(':') >= 0;
        if (!(v6 ? IPV6.matcher(text).matches() : IPV4.matcher(text).matches())) {
            throw new InvalidArgumentException(field, whole, "'" + text + "' is not an IPv4 or IPv6 address");
        }
        try {
            return InetAddress.getByName(text); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new InvalidArgumentException(field, whole, "'" + text + "' is not an IPv4 or IPv6 address");
        }
    }

    public boolean isIpv4() {
        return address instanceof Inet4Address;
    }

    /** True when the bits past the prefix are zero, as a route destination must be. */
    public boolean isNetwork() {
        return Arrays.equals(address.getAddress(), network().address.getAddress());
    }

    /** The same prefix with the host bits cleared: {@code 10.0.0.1/24} → {@code 10.0.0.0/24}. */
    public IpPrefix network() {
        byte[] bytes = address.getAddress();
        for (int bit = length; bit < bytes.length * 8; bit++) {
            bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        try {
            return new IpPrefix(InetAddress.getByAddress(bytes), length);
        } catch (UnknownHostException e) {
            throw new AssertionError("4 or 16 bytes are an address", e);
        }
    }

    @Override
    public String toString() {
        return address.getHostAddress() + "/" + length;
    }
}
