package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;

/**
 * What an owner asks a pool for. Empty lists: any free address (one per family of the pool).
 * {@code addresses}: an explicit static IP (at most one per family). {@code within}: limit the choice to a range of
 * the pool (at most one CIDR per family).
 */
public record AllocationRequest(Owner owner, List<InetAddress> addresses, List<Cidr> within) {
    public AllocationRequest {
        if (owner == null) {
            throw new InvalidFieldException("owner", "", "is required");
        }
        addresses = addresses == null ? List.of() : List.copyOf(addresses);
        within = within == null ? List.of() : List.copyOf(within);
        if (addresses.size() > 2 || addresses.size() == 2
                && (addresses.get(0) instanceof Inet4Address) == (addresses.get(1) instanceof Inet4Address)) {
            throw new InvalidFieldException("request.ip", addresses.stream().map(LeasedAddress::text).toList(),
                    "at most one IPv4 and one IPv6 address");
        }
        if (within.size() > 2 || within.size() == 2 && within.get(0).isIpv4() == within.get(1).isIpv4()) {
            throw new InvalidFieldException("request.range", within, "at most one IPv4 and one IPv6 range");
        }
    }

    /** Any free address for {@code owner}. */
    public static AllocationRequest any(Owner owner) {
        return new AllocationRequest(owner, List.of(), List.of());
    }

    /** Exactly these addresses (an explicit static IP). */
    public static AllocationRequest exactly(Owner owner, InetAddress... addresses) {
        return new AllocationRequest(owner, List.of(addresses), List.of());
    }

    /** Any free address inside {@code ranges} (one per family). */
    public static AllocationRequest within(Owner owner, Cidr... ranges) {
        return new AllocationRequest(owner, List.of(), List.of(ranges));
    }

    public Optional<InetAddress> address(boolean ipv4) {
        return addresses.stream().filter(a -> (a instanceof Inet4Address) == ipv4).findFirst();
    }

    public Optional<Cidr> within(boolean ipv4) {
        return within.stream().filter(c -> c.isIpv4() == ipv4).findFirst();
    }
}
