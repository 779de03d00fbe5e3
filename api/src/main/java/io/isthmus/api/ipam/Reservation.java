package io.isthmus.api.ipam;

import java.net.InetAddress;
import java.time.Instant;
import java.util.List;

/**
 * Addresses held for an owner until {@code expiresAt}; {@code commit(reservationId)} turns them into a lease. The
 * routes of the pool come along so a CNI plugin can answer without asking again.
 */
public record Reservation(String pool, String reservationId, Owner owner, List<LeasedAddress> addresses,
                          List<Route> routes, Instant expiresAt) {
    public Reservation {
        addresses = List.copyOf(addresses);
        routes = List.copyOf(routes);
    }

    public List<InetAddress> ips() {
        return addresses.stream().map(LeasedAddress::address).toList();
    }
}
