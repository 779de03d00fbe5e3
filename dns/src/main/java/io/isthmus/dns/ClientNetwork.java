package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;

/**
 * An address block clients may come from ({@code 10.0.0.0/8}, {@code fc00::/7}), for the forwarding allow-list.
 * The address must be the first of its block, so a typo such as {@code 10.1.0.0/8} is caught, not widened.
 */
public record ClientNetwork(InetAddress network, int prefixLength) {
    private static final String FIELD = "dns forward allowed clients";

    /** Loopback, RFC 1918 and IPv6 unique local addresses: where cluster clients live, never the open Internet. */
    public static final List<ClientNetwork> PRIVATE = List.of(
            parse("127.0.0.0/8"), parse("::1/128"),
            parse("10.0.0.0/8"), parse("172.16.0.0/12"), parse("192.168.0.0/16"),
            parse("fc00::/7"));

    public ClientNetwork {
        if (network == null) {
            throw new InvalidFieldException(FIELD, "", "a network address is required");
        }
        int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits) {
            throw new InvalidFieldException(FIELD, network.getHostAddress() + "/" + prefixLength,
                    "the prefix length must be between 0 and " + bits);
        }
        byte[] masked = mask(network.getAddress(), prefixLength);
        if (!Arrays.equals(masked, network.getAddress())) {
            throw new InvalidFieldException(FIELD, network.getHostAddress() + "/" + prefixLength,
                    "has bits set past the prefix; did you mean " + literal(masked) + "/" + prefixLength + "?");
        }
    }

    /** Parses {@code ADDRESS/PREFIX}, or a bare address meaning that one host. */
    public static ClientNetwork parse(String text) {
        String value = text == null ? "" : text.trim();
        int slash = value.indexOf('/');
        InetAddress address;
        try {
            address = IpLiteral.parse(FIELD, slash < 0 ? value : value.substring(0, slash));
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(FIELD, text, "must be a network such as 10.0.0.0/8 or fc00::/7");
        }
        int bits = address.getAddress().length * 8;
        if (slash < 0) {
            return new ClientNetwork(address, bits);
        }
        String prefix = value.substring(slash + 1);
        if (!prefix.matches("\\d{1,3}")) {
            throw new InvalidFieldException(FIELD, text, "the prefix length must be a number between 0 and " + bits);
        }
        return new ClientNetwork(address, Integer.parseInt(prefix));
    }

    /** Whether {@code address} is in this block; an IPv4 address is never in an IPv6 block and the other way round. */
    public boolean contains(InetAddress address) {
        byte[] candidate = address.getAddress();
        byte[] ours = network.getAddress();
        if (candidate.length != ours.length) {
            return false;
        }
        int fullBytes = prefixLength / 8;
        for (int i = 0; i < fullBytes; i++) {
            if (candidate[i] != ours[i]) {
                return false;
            }
        }
        int restBits = prefixLength % 8;
        if (restBits == 0) {
            return true;
        }
        int mask = 0xFF << (8 - restBits) & 0xFF;
        return (candidate[fullBytes] & mask) == (ours[fullBytes] & mask);
    }

    private static byte[] mask(byte[] address, int prefixLength) {
        byte[] out = address.clone();
        for (int bit = prefixLength; bit < out.length * 8; bit++) {
            out[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return out;
    }

    private static String literal(byte[] address) {
        return IpLiteral.format(IpText.fromBytes(address));
    }

    @Override
    public String toString() {
        return IpLiteral.format(network) + "/" + prefixLength;
    }
}
