package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Optional;

/** A route handed to workloads with their address: {@code 0.0.0.0/0}, or {@code 10.96.0.0/12 via 10.8.0.1}. */
public record Route(Cidr destination, Optional<InetAddress> via) {
    public Route {
        if (destination == null) {
            throw new InvalidFieldException("route", "", "needs a destination CIDR");
        }
        via = via == null ? Optional.empty() : via;
        if (via.isPresent() && (via.get() instanceof Inet4Address) != destination.isIpv4()) {
            throw new InvalidFieldException("route", destination + " via " + LeasedAddress.text(via.get()),
                    "the next hop must be of the destination's family");
        }
    }

    /** Parses {@code CIDR} or {@code CIDR via ADDRESS}. */
    public static Route parse(String field, String text) {
        String value = text == null ? "" : text.trim();
        String[] parts = value.split("\\s+via\\s+");
        try {
            if (parts.length > 2) {
                throw new InvalidFieldException(field, text, "must be CIDR or CIDR via ADDRESS");
            }
            Cidr destination = Cidr.parse(field, parts[0]);
            return new Route(destination, parts.length == 2 ? Optional.of(IpLiteral.parse(field, parts[1])) : Optional.empty());
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException(field, text, "must be CIDR or CIDR via ADDRESS (" + e.reason() + ")");
        }
    }

    @Override
    public String toString() {
        return via.map(v -> destination + " via " + LeasedAddress.text(v)).orElse(destination.toString());
    }
}
