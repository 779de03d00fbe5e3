package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.fastpath.IpPrefix;
import io.isthmus.fastpath.Route;
import io.isthmus.fastpath.RouteNetlink;
import io.isthmus.fastpath.SystemCallException;

import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The route reconciler: keeps the kernel routes into the tunnel device in line with the peer ranges wanted, never
 * over a route it did not install. Each route is added with {@code NLM_F_EXCL} and marked {@link #ROUTE_PROTOCOL};
 * where the kernel says one to that destination exists already, the table is read and a route of ours through the
 * device is taken as installed, anything else is left alone, reported ({@link #blocked()}) and counted. Only routes
 * of ours are deleted (the delete names our protocol and device).
 *
 * <p>Not thread-safe: owned by the data plane's event loop, which alone calls {@link #apply}.
 */
public final class KernelRoutes {
    private static final TunnelLog log = new TunnelLog(KernelRoutes.class);
    /**
     * The routing protocol number ({@code rtm_protocol}) of the routes this gateway installs: how it tells its
     * own from everyone else's ({@code ip route show proto 73}). Not in iproute2's list of reserved numbers.
     */
    public static final int ROUTE_PROTOCOL = 73;

    private final RouteNetlink netlink;
    private final String device;
    private final Consumer<ClusterId> onBlocked;
    private final Set<Cidr> installed = new LinkedHashSet<>();
    /** Ranges not routed because a route this gateway did not install is there: the range → that route, in words. */
    private final Map<Cidr, String> blocked = new TreeMap<>();

    /** @param onBlocked told once per range that a foreign route keeps out (for a counter) */
    public KernelRoutes(RouteNetlink netlink, String device, Consumer<ClusterId> onBlocked) {
        this.netlink = netlink;
        this.device = device;
        this.onBlocked = onBlocked;
    }

    /** Routes every range of {@code wanted} (range → the peer that holds it) into the device; deletes the rest of ours. */
    public void apply(Map<Cidr, ClusterId> wanted) {
        for (Cidr gone : List.copyOf(installed)) {
            if (!wanted.containsKey(gone)) {
                try {
                    netlink.deleteRoute(route(gone));
                } catch (IOException e) {
                    log.warn("could not delete route %s dev %s: %s", gone, device, e.getMessage());
                }
                installed.remove(gone);
            }
        }
        blocked.keySet().retainAll(wanted.keySet());
        List<Route> table = null;
        for (Map.Entry<Cidr, ClusterId> entry : wanted.entrySet()) {
            Cidr range = entry.getKey();
            if (installed.contains(range)) {
                continue;
            }
            try {
                table = table != null ? table : netlink.routes(Route.MAIN_TABLE);
            } catch (IOException e) {
                log.warn("could not list the routes to check %s: %s", range, e.getMessage());
                return;
            }
            // Any route to the same destination, whatever its metric: one with a higher metric than ours would be
            // shadowed by ours, which is as good as replaced.
            IpPrefix destination = IpPrefix.parse(range.toString());
            List<Route> there = table.stream().filter(r -> r.destination().equals(destination)).toList();
            if (!there.isEmpty() && there.stream().allMatch(this::ours)) {
                installed.add(range); // ours, from before
                continue;
            }
            Optional<String> foreign = there.stream().filter(r -> !ours(r))
                    .map(r -> r + " (protocol " + r.protocol() + ")").findFirst();
            if (foreign.isEmpty()) {
                try {
                    netlink.addRoute(route(range)); // NLM_F_EXCL: never over a route that came in meanwhile
                    installed.add(range);
                    if (blocked.remove(range) != null) {
                        log.info("%s is routed into %s now (the route in its way is gone)", range, device);
                    }
                    continue;
                } catch (SystemCallException e) {
                    if (!e.alreadyExists()) {
                        log.warn("could not route %s into %s: %s", range, device, e.getMessage());
                        continue;
                    }
                    foreign = Optional.of("a route of another type (blackhole, unreachable, multipath)");
                } catch (IOException e) {
                    log.warn("could not route %s into %s: %s", range, device, e.getMessage());
                    continue;
                }
            }
            if (blocked.put(range, foreign.get()) == null) {
                onBlocked.accept(entry.getValue());
                log.warn("not routing %s of %s into %s: the route %s was not installed by this gateway and is left alone",
                        range, entry.getValue(), device, foreign.get());
            }
        }
    }

    /** The routes through the device now. */
    public List<Cidr> installed() {
        return List.copyOf(installed);
    }

    /** Ranges not routed because a route this gateway did not install is in the way, each a sentence. */
    public List<String> blocked() {
        return blocked.entrySet().stream().map(e -> e.getKey() + " not routed into " + device + ": "
                + e.getValue() + " is there, not installed by this gateway (left alone)").toList();
    }

    /** Forgets what was installed (the device is gone, and its routes with it). */
    public void clear() {
        installed.clear();
        blocked.clear();
    }

    private boolean ours(Route route) {
        return route.protocol() == ROUTE_PROTOCOL && route.device().equals(device);
    }

    private Route route(Cidr range) {
        return Route.to(IpPrefix.parse(range.toString()), device).withProtocol(ROUTE_PROTOCOL);
    }
}
