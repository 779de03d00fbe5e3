package io.isthmus.tunnel;

import io.isthmus.api.Cidr;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;

/**
 * The destinations a decrypted packet may be delivered to: this cluster's segments and exported addresses, as the
 * gateway hands them to {@link TunnelEngine#deliverTo}. Immutable; the networks are merged into disjoint address
 * intervals kept in sorted primitive arrays (IPv4 as unsigned ints, IPv6 as pairs of longs), so a lookup straight
 * from packet bytes is a binary search that allocates nothing.
 */
public final class LocalDestinations {
    /** Nothing is delivered (an engine that was not told its cluster's destinations). */
    public static final LocalDestinations NONE = new LocalDestinations(List.of());

    private final List<Cidr> networks;
    private final int[] v4First;
    private final int[] v4Last;
    /** IPv6 intervals: [2i] high, [2i+1] low 64 bits. */
    private final long[] v6First;
    private final long[] v6Last;

    private LocalDestinations(List<Cidr> networks) {
        this.networks = List.copyOf(networks);
        List<long[]> v4 = new ArrayList<>();
        List<long[]> v6 = new ArrayList<>();
        for (Cidr cidr : networks) {
            byte[] network = cidr.network().getAddress();
            if (cidr.isIpv4()) {
                long first = Integer.toUnsignedLong(int32(network, 0));
                long size = 1L << (32 - cidr.prefix());
                v4.add(new long[] {first, first + size - 1});
            } else {
                long high = int64(network, 0);
                long low = int64(network, 8);
                int hostBits = 128 - cidr.prefix();
                long lastHigh = hostBits >= 64 ? high | (hostBits == 128 ? -1L : (1L << (hostBits - 64)) - 1) : high;
                long lastLow = hostBits >= 64 ? -1L : low | (hostBits == 0 ? 0 : (1L << hostBits) - 1);
                v6.add(new long[] {high, low, lastHigh, lastLow});
            }
        }
        v4.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged4 = new ArrayList<>();
        for (long[] range : v4) {
            long[] last = merged4.isEmpty() ? null : merged4.getLast();
            if (last != null && range[0] <= last[1] + 1) {
                last[1] = Math.max(last[1], range[1]);
            } else {
                merged4.add(range.clone());
            }
        }
        v4First = new int[merged4.size()];
        v4Last = new int[merged4.size()];
        for (int i = 0; i < merged4.size(); i++) {
            v4First[i] = (int) merged4.get(i)[0];
            v4Last[i] = (int) merged4.get(i)[1];
        }
        v6.sort((a, b) -> compare(a[0], a[1], b[0], b[1]));
        List<long[]> merged6 = new ArrayList<>();
        for (long[] range : v6) {
            long[] last = merged6.isEmpty() ? null : merged6.getLast();
            if (last != null && compare(range[0], range[1], last[2], last[3]) <= 0) {
                if (compare(range[2], range[3], last[2], last[3]) > 0) { // same start, wider
                    last[2] = range[2];
                    last[3] = range[3];
                }
                continue;
            }
            merged6.add(range.clone());
        }
        v6First = new long[merged6.size() * 2];
        v6Last = new long[merged6.size() * 2];
        for (int i = 0; i < merged6.size(); i++) {
            long[] range = merged6.get(i);
            v6First[2 * i] = range[0];
            v6First[2 * i + 1] = range[1];
            v6Last[2 * i] = range[2];
            v6Last[2 * i + 1] = range[3];
        }
    }

    public static LocalDestinations of(Collection<Cidr> networks) {
        return networks.isEmpty() ? NONE : new LocalDestinations(List.copyOf(networks));
    }

    /** The networks as given. */
    public List<Cidr> networks() {
        return networks;
    }

    /** Whether the IPv4 address at {@code bytes[at]} lies in one of the networks. */
    public boolean containsIpv4(byte[] bytes, int at) {
        int address = int32(bytes, at);
        int low = 0;
        int high = v4First.length - 1;
        while (low <= high) { // the last interval starting at or before the address
            int mid = (low + high) >>> 1;
            if (Integer.compareUnsigned(v4First[mid], address) <= 0) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return high >= 0 && Integer.compareUnsigned(address, v4Last[high]) <= 0;
    }

    /** Whether the IPv6 address at {@code bytes[at]} lies in one of the networks. */
    public boolean containsIpv6(byte[] bytes, int at) {
        long addressHigh = int64(bytes, at);
        long addressLow = int64(bytes, at + 8);
        int low = 0;
        int high = v6First.length / 2 - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (compare(v6First[2 * mid], v6First[2 * mid + 1], addressHigh, addressLow) <= 0) {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        return high >= 0 && compare(addressHigh, addressLow, v6Last[2 * high], v6Last[2 * high + 1]) <= 0;
    }

    /** Whether {@code address} (4 or 16 bytes) lies in one of the networks. */
    public boolean contains(byte[] address) {
        return address.length == 4 ? containsIpv4(address, 0) : containsIpv6(address, 0);
    }

    private static int compare(long aHigh, long aLow, long bHigh, long bLow) {
        int c = Long.compareUnsigned(aHigh, bHigh);
        return c != 0 ? c : Long.compareUnsigned(aLow, bLow);
    }

    private static int int32(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }

    private static long int64(byte[] b, int at) {
        return Integer.toUnsignedLong(int32(b, at)) << 32 | Integer.toUnsignedLong(int32(b, at + 4));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LocalDestinations other && Arrays.equals(v4First, other.v4First)
                && Arrays.equals(v4Last, other.v4Last) && Arrays.equals(v6First, other.v6First)
                && Arrays.equals(v6Last, other.v6Last);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(v4First) * 31 + Arrays.hashCode(v6First);
    }

    @Override
    public String toString() {
        return "LocalDestinations" + networks;
    }
}
