package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.DnsLabel;
import io.isthmus.api.InvalidFieldException;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * An IP pool as its creator describes it: a name (DNS label) and one IPv4 and/or one IPv6 CIDR. A dual-stack pool
 * gives every owner one address of each family. {@code exclude}d ranges are never allocated; {@code reserved}
 * addresses are never picked automatically but may be asked for as an explicit static IP; the {@code gateways} (at
 * most one per family) are never allocated and are handed out with every lease, as are the {@code routes}.
 *
 * <p>Every check names the field as a client writes it: {@code pool.cidr}, {@code pool.exclude[2]},
 * {@code pool.reserved[0]}, {@code pool.gateway[1]}, {@code pool.route[0]}.
 */
public record PoolSpec(String name, List<Cidr> cidrs, List<AddressRange> exclude, List<InetAddress> reserved,
                       List<InetAddress> gateways, List<Route> routes) {
    public PoolSpec {
        DnsLabel.require("pool.name", name);
        cidrs = copy(cidrs);
        exclude = copy(exclude);
        reserved = copy(reserved);
        gateways = copy(gateways);
        routes = copy(routes);
        if (cidrs.isEmpty()) {
            throw new InvalidFieldException("pool.cidr", "", "a pool needs an IPv4 or an IPv6 CIDR, or one of each");
        }
        if (cidrs.size() > 2 || cidrs.size() == 2 && cidrs.get(0).isIpv4() == cidrs.get(1).isIpv4()) {
            throw new InvalidFieldException("pool.cidr", cidrs,
                    "at most one IPv4 and one IPv6 CIDR (a dual-stack pair gives each owner one of each)");
        }
        cidrs = cidrs.stream().sorted(Comparator.naturalOrder()).toList(); // IPv4 first
        List<Cidr> pool = cidrs;
        for (int i = 0; i < exclude.size(); i++) {
            AddressRange range = exclude.get(i);
            if (familyCidr(pool, range.isIpv4()).filter(range::isInside).isEmpty()) {
                throw new InvalidFieldException("pool.exclude[" + i + "]", range, "is outside the pool's CIDRs " + pool);
            }
        }
        for (int i = 0; i < reserved.size(); i++) {
            InetAddress address = reserved.get(i);
            if (familyCidr(pool, address instanceof Inet4Address).filter(c -> c.contains(address)).isEmpty()) {
                throw new InvalidFieldException("pool.reserved[" + i + "]", LeasedAddress.text(address),
                        "is outside the pool's CIDRs " + pool);
            }
        }
        boolean[] gatewayOfFamily = new boolean[2];
        for (int i = 0; i < gateways.size(); i++) {
            InetAddress gateway = gateways.get(i);
            String field = "pool.gateway[" + i + "]";
            boolean v4 = gateway instanceof Inet4Address;
            Cidr cidr = familyCidr(pool, v4).filter(c -> c.contains(gateway)).orElseThrow(() ->
                    new InvalidFieldException(field, LeasedAddress.text(gateway), "is outside the pool's CIDRs " + pool));
            if (gatewayOfFamily[v4 ? 0 : 1]) {
                throw new InvalidFieldException(field, LeasedAddress.text(gateway), "at most one gateway per address family");
            }
            gatewayOfFamily[v4 ? 0 : 1] = true;
            if (v4 && cidr.prefix() < 31 && (gateway.equals(cidr.network())
                    || gateway.equals(cidr.addressAt(cidr.size().subtract(BigInteger.ONE))))) {
                throw new InvalidFieldException(field, LeasedAddress.text(gateway),
                        "is the network or broadcast address of " + cidr);
            }
        }
        for (int i = 0; i < routes.size(); i++) {
            Route route = routes.get(i);
            if (familyCidr(pool, route.destination().isIpv4()).isEmpty()) {
                throw new InvalidFieldException("pool.route[" + i + "]", route,
                        "the pool has no " + (route.destination().isIpv4() ? "IPv4" : "IPv6") + " CIDR for it");
            }
        }
    }

    /** A pool of one or two CIDRs and nothing else. */
    public static PoolSpec of(String name, Cidr... cidrs) {
        return new PoolSpec(name, List.of(cidrs), List.of(), List.of(), List.of(), List.of());
    }

    public PoolSpec withExclude(List<AddressRange> ranges) {
        return new PoolSpec(name, cidrs, ranges, reserved, gateways, routes);
    }

    public PoolSpec withReserved(List<InetAddress> addresses) {
        return new PoolSpec(name, cidrs, exclude, addresses, gateways, routes);
    }

    public PoolSpec withGateways(List<InetAddress> addresses) {
        return new PoolSpec(name, cidrs, exclude, reserved, addresses, routes);
    }

    public PoolSpec withRoutes(List<Route> list) {
        return new PoolSpec(name, cidrs, exclude, reserved, gateways, list);
    }

    public Optional<Cidr> ipv4() {
        return familyCidr(cidrs, true);
    }

    public Optional<Cidr> ipv6() {
        return familyCidr(cidrs, false);
    }

    public Optional<InetAddress> gateway(boolean ipv4) {
        return gateways.stream().filter(g -> (g instanceof Inet4Address) == ipv4).findFirst();
    }

    /** True when some address is in both pools. */
    public boolean overlaps(PoolSpec other) {
        return cidrs.stream().anyMatch(mine -> other.cidrs.stream().anyMatch(mine::overlaps));
    }

    private static Optional<Cidr> familyCidr(List<Cidr> cidrs, boolean ipv4) {
        return cidrs.stream().filter(c -> c.isIpv4() == ipv4).findFirst();
    }

    private static <T> List<T> copy(List<T> list) {
        if (list == null) {
            return List.of();
        }
        List<T> copy = new ArrayList<>(list.size());
        for (T item : list) {
            if (item == null) {
                throw new InvalidFieldException("pool", list, "lists must not contain empty entries");
            }
            copy.add(item);
        }
        return List.copyOf(copy);
    }
}
