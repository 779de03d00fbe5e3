package io.isthmus.api.ipam;

import java.net.InetAddress;
import java.time.Instant;
import java.util.List;

/** The addresses one owner holds in one pool (one per family of the pool), and since when. */
public record Lease(String pool, Owner owner, List<LeasedAddress> addresses, LeaseState state, Instant since) {
    public Lease {
        addresses = List.copyOf(addresses);
    }

    public List<InetAddress> ips() {
        return addresses.stream().map(LeasedAddress::address).toList();
    }
}
