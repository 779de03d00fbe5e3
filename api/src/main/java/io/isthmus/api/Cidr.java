package io.isthmus.api;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 network in CIDR form ({@code 10.8.0.0/16}, {@code fd00:8::/48}): the address with every host bit
 * zero, and the prefix length. Immutable; ordered by family (IPv4 first), then network address, then prefix.
 *
 * <p>Addresses inside a network are numbered from 0 (the network address itself) to {@code size() - 1}; the math
 * is done on {@link BigInteger} so IPv6 networks of any size work the same way as IPv4 ones.
 */
public final class Cidr implements Comparable<Cidr> {
    private final byte[] network;
    private final int prefix;

    private Cidr(byte[] network, int prefix) {
        this.network = network;
        this.prefix = prefix;
    }

    /**
     * Parses {@code ADDRESS/PREFIX}; host bits must be zero ({@code 10.0.0.1/8} is refused, since a typo there would
     * otherwise silently claim a different network than the one written).
     */
    public static Cidr parse(String field, String text) {
        if (text == null || text.isBlank()) {
            throw new InvalidFieldException(field, text == null ? "" : text, "must be a CIDR such as 10.8.0.0/16 or fd00::/64");
        }
        String trimmed = text.trim();
        int slash = trimmed.indexOf('/');
        if (slash < 0) {
            throw new InvalidFieldException(field, text, "must be a CIDR such as 10.8.0.0/16 or fd00::/64 (the /prefix is missing)");
        }
        InetAddress address;
        try {
            address = IpLiteral.parse(field, trimmed.substring(0, slash));
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(field, text, "must be a CIDR such as 10.8.0.0/16 or fd00::/64 (" + e.reason() + ")");
        }
        int bits = address.getAddress().length * 8;
        String prefixText = trimmed.substring(slash + 1);
        int prefix;
        try {
            prefix = prefixText.matches("\\d{1,3}") ? Integer.parseInt(prefixText) : -1;
        } catch (NumberFormatException e) {
            prefix = -1;
        }
        if (prefix < 0 || prefix > bits) {
            throw new InvalidFieldException(field, text, "prefix length must be 0.." + bits);
        }
        Cidr cidr = of(address, prefix);
        if (!Arrays.equals(cidr.network, address.getAddress())) {
            throw new InvalidFieldException(field, text, "host bits must be zero (did you mean " + cidr + "?)");
        }
        return cidr;
    }

    /** The network of the given prefix length that contains {@code address} (host bits are cleared). */
    public static Cidr of(InetAddress address, int prefix) {
        byte[] bytes = address.getAddress();
        if (prefix < 0 || prefix > bytes.length * 8) {
            throw new IllegalArgumentException("prefix " + prefix + " out of range for " + address.getHostAddress());
        }
        for (int bit = prefix; bit < bytes.length * 8; bit++) {
            bytes[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        return new Cidr(bytes, prefix);
    }

    public boolean isIpv4() {
        return network.length == 4;
    }

    /** Address length in bits: 32 or 128. */
    public int addressBits() {
        return network.length * 8;
    }

    public int prefix() {
        return prefix;
    }

    public InetAddress network() {
        return toAddress(network);
    }

    /** How many addresses the network spans (2^(bits - prefix)). */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(addressBits() - prefix);
    }

    /** The address at {@code index} (0 = the network address). */
    public InetAddress addressAt(BigInteger index) {
        if (index.signum() < 0 || index.compareTo(size()) >= 0) {
            throw new IllegalArgumentException("index " + index + " outside " + this);
        }
        return toAddress(toBytes(new BigInteger(1, network).add(index), network.length));
    }

    public InetAddress addressAt(long index) {
        return addressAt(BigInteger.valueOf(index));
    }

    /** The index of {@code address} inside this network; the address must be {@link #contains(InetAddress) in it}. */
    public BigInteger indexOf(InetAddress address) {
        if (!contains(address)) {
            throw new IllegalArgumentException(address.getHostAddress() + " is outside " + this);
        }
        return new BigInteger(1, address.getAddress()).subtract(new BigInteger(1, network));
    }

    public boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return bytes.length == network.length && Arrays.equals(of(address, prefix).network, network);
    }

    /** True when every address of {@code other} is in this network. */
    public boolean contains(Cidr other) {
        return other.network.length == network.length && other.prefix >= prefix && contains(other.network());
    }

    /** True when the two networks share at least one address (one contains the other, since CIDRs nest). */
    public boolean overlaps(Cidr other) {
        return contains(other) || other.contains(this);
    }

    /** The {@code index}-th subnet of prefix {@code subnetPrefix} inside this network. */
    public Cidr subnet(int subnetPrefix, BigInteger index) {
        if (subnetPrefix < prefix || subnetPrefix > addressBits()) {
            throw new IllegalArgumentException("subnet prefix /" + subnetPrefix + " does not fit in " + this);
        }
        BigInteger count = BigInteger.ONE.shiftLeft(subnetPrefix - prefix);
        if (index.signum() < 0 || index.compareTo(count) >= 0) {
            throw new IllegalArgumentException("subnet index " + index + " outside 0.." + count.subtract(BigInteger.ONE));
        }
        BigInteger start = new BigInteger(1, network).add(index.shiftLeft(addressBits() - subnetPrefix));
        return new Cidr(toBytes(start, network.length), subnetPrefix);
    }

    /** How many subnets of prefix {@code subnetPrefix} this network holds. */
    public BigInteger subnetCount(int subnetPrefix) {
        if (subnetPrefix < prefix || subnetPrefix > addressBits()) {
            throw new IllegalArgumentException("subnet prefix /" + subnetPrefix + " does not fit in " + this);
        }
        return BigInteger.ONE.shiftLeft(subnetPrefix - prefix);
    }

    private static byte[] toBytes(BigInteger value, int length) {
        byte[] raw = value.toByteArray();
        byte[] bytes = new byte[length];
        int copy = Math.min(raw.length, length);
        System.arraycopy(raw, raw.length - copy, bytes, length - copy, copy);
        return bytes;
    }

    private static InetAddress toAddress(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes.clone());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only thrown for a wrong length, which we never build
        }
    }

    @Override
    public int compareTo(Cidr other) {
        if (network.length != other.network.length) {
            return Integer.compare(network.length, other.network.length);
        }
        int byNetwork = Arrays.compareUnsigned(network, other.network);
        return byNetwork != 0 ? byNetwork : Integer.compare(prefix, other.prefix);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cidr other && prefix == other.prefix && Arrays.equals(network, other.network);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(network) + prefix;
    }

    /** The canonical form: {@code 10.8.0.0/16}, {@code fd00:8::/48} (IPv6 compressed, lower case). */
    @Override
    public String toString() {
        return IpLiteral.format(network()) + "/" + prefix;
    }
}
