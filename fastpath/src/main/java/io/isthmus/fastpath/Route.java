package io.isthmus.fastpath;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * A unicast route as {@link RouteNetlink} installs it: {@code destination} through {@code device}, optionally via a
 * {@code gateway}, in a routing {@code table} (254 is the main table) with a {@code metric} (0: the kernel's default,
 * which is 0 for IPv4 and 1024 for IPv6). Made with {@link #to} and the {@code via/inTable/withMetric} methods.
 */
public record Route(IpPrefix destination, String device, Optional<InetAddress> gateway, int table, int metric) {
    /** The main routing table ({@code RT_TABLE_MAIN}). */
    public static final int MAIN_TABLE = 254;

    public Route {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(gateway, "gateway");
        if (!destination.isNetwork()) {
            throw new InvalidArgumentException("route destination", destination, "has host bits set: did you mean "
                    + destination.network() + "?");
        }
        if (device == null || device.isEmpty()) {
            throw new InvalidArgumentException("route device", device, "must name a network device");
        }
        if (gateway.isPresent() && (gateway.get() instanceof Inet4Address) != destination.isIpv4()) {
            throw new InvalidArgumentException("route gateway", gateway.get().getHostAddress(),
                    "is not of the same IP version as the destination " + destination);
        }
        if (table < 1 || table == 255 || table == 253) {
            throw new InvalidArgumentException("route table", Integer.toUnsignedString(table),
                    "must be 1..2^31-1 and not the kernel's own local (255) or default (253) table");
        }
        if (metric < 0) {
            throw new InvalidArgumentException("route metric", metric, "must be 0 or positive");
        }
    }

    /** {@code destination} straight through {@code device} (no gateway), main table, default metric. */
    public static Route to(IpPrefix destination, String device) {
        return new Route(destination, device, Optional.empty(), MAIN_TABLE, 0);
    }

    public Route via(InetAddress gateway) {
        return new Route(destination, device, Optional.of(gateway), table, metric);
    }

    public Route inTable(int table) {
        return new Route(destination, device, gateway, table, metric);
    }

    public Route withMetric(int metric) {
        return new Route(destination, device, gateway, table, metric);
    }

    @Override
    public String toString() {
        return destination + gateway.map(g -> " via " + g.getHostAddress()).orElse("") + " dev " + device
                + (table == MAIN_TABLE ? "" : " table " + table) + (metric == 0 ? "" : " metric " + metric);
    }
}
