package io.isthmus.ipam.pool;

import io.isthmus.api.Cidr;
import io.isthmus.api.ipam.AddressRange;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.api.ipam.PoolSpec;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/**
 * The index space of one CIDR of a pool. Addresses are numbered from the network address (index 0); the
 * allocatable window is {@code [first, last]}: IPv4 skips the network and broadcast addresses (except /31, /32),
 * IPv6 skips the subnet-router anycast address (index 0). An IPv6 pool larger than 2^63 addresses (a /64) allocates
 * from its first 2^63 - 1 addresses, which a run-length set of longs can index.
 *
 * <p>{@code blocked}: never allocated (excluded ranges, the gateway). {@code reserved}: only as an explicit static
 * IP. Both are in {@link #base()}, the used-set of an empty pool.
 */
record Family(Cidr cidr, long first, long last, RunSet blocked, Set<Long> reserved, Optional<InetAddress> gateway) {
    private static final BigInteger MAX_INDEX = BigInteger.valueOf(Long.MAX_VALUE - 1);

    static Family of(PoolSpec spec, Cidr cidr) {
        BigInteger size = cidr.size();
        long first;
        long last;
        if (cidr.isIpv4()) {
            first = cidr.prefix() >= 31 ? 0 : 1;
            last = size.longValueExact() - (cidr.prefix() >= 31 ? 1 : 2);
        } else {
            first = cidr.prefix() == 128 ? 0 : 1;
            last = size.subtract(BigInteger.ONE).min(MAX_INDEX).longValueExact();
        }
        RunSet blocked = RunSet.EMPTY;
        for (AddressRange range : spec.exclude()) {
            if (range.isIpv4() == cidr.isIpv4()) {
                BigInteger low = cidr.indexOf(range.first()).max(BigInteger.valueOf(first));
                BigInteger high = cidr.indexOf(range.last()).min(BigInteger.valueOf(last));
                if (low.compareTo(high) <= 0) {
                    blocked = blocked.addRange(low.longValueExact(), high.longValueExact());
                }
            }
        }
        Optional<InetAddress> gateway = spec.gateway(cidr.isIpv4());
        Family partial = new Family(cidr, first, last, blocked, Set.of(), gateway);
        if (gateway.isPresent()) {
            long index = partial.indexOf(gateway.get());
            if (index >= 0) {
                blocked = blocked.add(index);
            }
        }
        Set<Long> reserved = new HashSet<>();
        for (InetAddress address : spec.reserved()) {
            long index = partial.indexOf(address);
            if (cidr.contains(address) && index >= 0 && !blocked.contains(index)) {
                reserved.add(index);
            }
        }
        return new Family(cidr, first, last, blocked, Set.copyOf(reserved), gateway);
    }

    /** The used-set of an empty pool: blocked and reserved indices. */
    RunSet base() {
        RunSet base = blocked;
        for (long index : reserved) {
            base = base.add(index);
        }
        return base;
    }

    boolean ipv4() {
        return cidr.isIpv4();
    }

    /** The index of an address of this CIDR, or -1 when it is outside the allocatable window. */
    long indexOf(InetAddress address) {
        if (!cidr.contains(address)) {
            return -1;
        }
        BigInteger index = cidr.indexOf(address);
        if (index.compareTo(BigInteger.valueOf(first)) < 0 || index.compareTo(BigInteger.valueOf(last)) > 0) {
            return -1;
        }
        return index.longValueExact();
    }

    InetAddress addressAt(long index) {
        return cidr.addressAt(index);
    }

    LeasedAddress leased(long index) {
        return new LeasedAddress(addressAt(index), cidr, gateway);
    }

    /** How many addresses can be picked automatically (the window minus blocked and reserved). */
    BigInteger capacity() {
        return BigInteger.valueOf(last - first + 1).subtract(BigInteger.valueOf(base().size()));
    }
}
