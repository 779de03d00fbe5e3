package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import java.util.ArrayList;
import java.util.List;

/**
 * Route reconciliation: brings the engine (the destinations it delivers to, the translation, each peer's ranges)
 * and the kernel routes into the device ({@link KernelRoutes}) in line with the {@link TunnelRoutes} wanted. A range
 * another peer still holds is left for the next round, and said.
 *
 * <p>Not thread-safe: owned by the data plane's event loop.
 */
final class RouteReconciler {
    private static final TunnelLog log = new TunnelLog(RouteReconciler.class);

    private final TunnelEngine engine;
    private final PeerEndpoints peers;
    private final KernelRoutes kernel;
    private TunnelRoutes wanted = TunnelRoutes.none();
    private List<String> errors = List.of();

    RouteReconciler(TunnelEngine engine, PeerEndpoints peers, KernelRoutes kernel) {
        this.engine = engine;
        this.peers = peers;
        this.kernel = kernel;
    }

    /** Follows {@code routes}: what the engine delivers and translates, each peer's ranges, the kernel routes. */
    void follow(TunnelRoutes routes) {
        if (!routes.problems().equals(wanted.problems())) {
            routes.problems().forEach(problem -> log.warn("%s", problem));
        }
        wanted = routes;
        LocalDestinations destinations = LocalDestinations.of(routes.local());
        if (!destinations.equals(engine.destinations())) {
            engine.deliverTo(destinations);
            log.info("delivering to %s", routes.local());
        }
        if (!routes.translation().mappings().equals(engine.translation().mappings())) {
            engine.translate(routes.translation());
            log.info("translating %s", routes.translation().mappings());
        }
        List<String> refused = new ArrayList<>();
        for (ClusterId cluster : peers.clusters()) {
            try {
                peers.route(cluster, routes.rangesOf(cluster));
            } catch (InvalidFieldException e) {
                refused.add(e.getMessage()); // another peer still holds an overlapping range: next round
            }
        }
        errors = List.copyOf(refused);
        applyKernelRoutes();
    }

    /** Routes every range of the peers in the engine into the device, and no other range of ours. */
    void applyKernelRoutes() {
        kernel.apply(peers.routed());
    }

    /** The routes followed last. */
    TunnelRoutes wanted() {
        return wanted;
    }

    /** Ranges the engine refused in the last round, each a sentence. */
    List<String> errors() {
        return errors;
    }

    KernelRoutes kernel() {
        return kernel;
    }
}
