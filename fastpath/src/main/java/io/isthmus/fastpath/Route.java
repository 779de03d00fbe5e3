package io.isthmus.fastpath;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * A unicast route as {@link RouteNetlink} installs it: {@code destination} through {@code device}, optionally via a
 * {@code gateway}, in a routing {@code table} (254 is the main table) with a {@code metric} (0: the kernel's default,
 * which is 0 for IPv4 and 1024 for IPv6), marked with the routing {@code protocol} that made it ({@code rtm_protocol}:
 * 4 static by default; 2 is the kernel's own for an address's network; a program may mark its routes with a number of
 * its own, so it can tell them from everyone else's). Made with {@link #to} and the
 * {@code via/inTable/withMetric/withProtocol} methods.
 */
public record Route(IpPrefix destination, String device, Optional<InetAddress> gateway, int table, int metric,
                    int protocol) {
    /** The main routing table ({@code RT_TABLE_MAIN}). */
    public static final int MAIN_TABLE = 254;
    /** {@code RTPROT_KERNEL}: routes the kernel made for an address's network. */
    public static final int PROTOCOL_KERNEL = 2;
    /** {@code RTPROT_STATIC}: routes an administrator (or a program without a number of its own) added. */
    public static final int PROTOCOL_STATIC = 4;

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
        if (protocol < 0 || protocol > 255) {
            throw new InvalidArgumentException("route protocol", protocol, "must be 0..255");
        }
    }

    /** {@code destination} straight through {@code device} (no gateway), main table, default metric. */
    public static Route to(IpPrefix destination, String device) {
        return new Route(destination, device, Optional.empty(), MAIN_TABLE, 0, PROTOCOL_STATIC);
    }

    public Route via(InetAddress gateway) {
        return new Route(destination, device, Optional.of(gateway), table, metric, protocol);
    }

    public Route inTable(int table) {
        return new Route(destination, device, gateway, table, metric, protocol);
    }

    public Route withMetric(int metric) {
        return new Route(destination, device, gateway, table, metric, protocol);
    }

    public Route withProtocol(int protocol) {
        return new Route(destination, device, gateway, table, metric, protocol);
    }

    @Override
    public String toString() {
        return destination + gateway.map(g -> " via " + g.getHostAddress()).orElse("") + " dev " + device
                + (table == MAIN_TABLE ? "" : " table " + table) + (metric == 0 ? "" : " metric " + metric)
                + (protocol == PROTOCOL_STATIC ? "" : " proto " + protocol);
    }
}
