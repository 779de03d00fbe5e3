package io.isthmus.gateway.peering;

import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.ipam.plan.Plan;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Tells the mesh view the endpoint scope the address plan gives, once a second (the view ignores a scope equal to
 * the one it has), and shows the endpoint filter in {@code /metrics}. Where no plan is configured there is nothing
 * to follow: the scope given at the start stays.
 */
public final class EndpointScopeFeed {
    static final Duration INTERVAL = Duration.ofSeconds(1);

    private EndpointScopeFeed() {
    }

    /** @param plan the plan as the ledger knows it now */
    public static Cancellable start(ActorSystem<?> system, Supplier<CompletionStage<Plan>> plan,
                                    ActorRef<MeshView.Command> mesh) {
        return system.scheduler().scheduleWithFixedDelay(Duration.ZERO, INTERVAL, () -> plan.get().thenAccept(
                p -> mesh.tell(new MeshView.EndpointScopeChanged(EndpointScope.of(p)))), system.executionContext());
    }

    /**
     * {@code isthmus_import_endpoints_refused_total{peer,reason}}: endpoints refused in what peers sent;
     * {@code isthmus_import_endpoints_refused{peer,reason}}: refused now (what the status lists).
     */
    public static void registerMetrics(Metrics metrics, Supplier<ImportFilter> filter) {
        metrics.counterFunction("isthmus_import_endpoints_refused_total",
                "Endpoint IPs in peers' exports refused by the endpoint filter (outside the sending cluster's "
                        + "segments and registered ranges, or special addresses), by peer and reason.",
                List.of("peer", "reason"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    ImportFilter now = filter.get();
                    if (now != null) {
                        now.counted().forEach((labels, count) -> out.put(labels, count.doubleValue()));
                    }
                    return out;
                });
        metrics.gauge("isthmus_import_endpoints_refused",
                "Endpoint IPs of peers' exports refused now, by peer and reason.", List.of("peer", "reason"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    ImportFilter now = filter.get();
                    if (now != null) {
                        now.refused().forEach((cluster, refused) -> refused.forEach(r -> out.merge(
                                List.of(cluster.value(), r.reason().label()), 1.0, Double::sum)));
                    }
                    return out;
                });
    }
}
