package io.isthmus.api.ipam;

import java.net.InetAddress;
import java.time.Instant;
import java.util.List;

/**
 * The addresses one owner holds in one pool (one per family of the pool), and since when. {@code attachment}: the CNI
 * container id the lease is bound to (only that container's DEL releases it); empty when none.
 */
public record Lease(String pool, Owner owner, List<LeasedAddress> addresses, LeaseState state, Instant since,
                    String attachment) {
    public Lease {
        addresses = List.copyOf(addresses);
        attachment = attachment == null ? "" : attachment;
    }

    public List<InetAddress> ips() {
        return addresses.stream().map(LeasedAddress::address).toList();
    }
}
