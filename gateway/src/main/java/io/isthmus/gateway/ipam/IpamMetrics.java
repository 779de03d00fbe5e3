package io.isthmus.gateway.ipam;

import io.isthmus.api.ipam.FamilyUsage;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.ipam.Ipam;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Pool usage and reclaims in /metrics. Pools answer asynchronously and a scrape must not wait on the cluster, so the
 * statuses are refreshed in the background and the gauges read the latest.
 */
public final class IpamMetrics implements AutoCloseable {
    private final Cancellable refresh;

    private IpamMetrics(Cancellable refresh) {
        this.refresh = refresh;
    }

    public static IpamMetrics start(ActorSystem<?> system, Ipam ipam, Metrics metrics, Duration interval) {
        AtomicReference<List<PoolStatus>> latest = new AtomicReference<>(List.of());
        Cancellable refresh = system.scheduler().scheduleWithFixedDelay(Duration.ZERO, interval, () ->
                ipam.pools().thenCompose(specs -> {
                    List<CompletableFuture<PoolStatus>> each = specs.stream()
                            .map(spec -> ipam.pool(spec.name()).toCompletableFuture()).toList();
                    return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
                            .thenApply(done -> each.stream().map(CompletableFuture::join).toList());
                }).thenAccept(latest::set), system.executionContext());
        metrics.gauge("isthmus_ipam_addresses_used", "Addresses held (leased, parked or reserved) per pool CIDR.",
                List.of("pool", "cidr"), () -> perFamily(latest.get(), usage -> (double) usage.used()));
        metrics.gauge("isthmus_ipam_addresses_capacity", "Addresses a pool CIDR can hand out.",
                List.of("pool", "cidr"), () -> perFamily(latest.get(), usage -> usage.capacity().doubleValue()));
        metrics.gauge("isthmus_ipam_leases", "Leases per pool, by state.", List.of("pool", "state"), () -> {
            Map<List<String>, Double> out = new HashMap<>();
            for (PoolStatus status : latest.get()) {
                String pool = status.spec().name();
                out.put(List.of(pool, "active"), (double) status.active());
                out.put(List.of(pool, "parked"), (double) status.parked());
                out.put(List.of(pool, "reserved"), (double) status.reserved());
            }
            return out;
        });
        metrics.counterFunction("isthmus_ipam_reclaimed_total",
                "Leases the reclaimer freed because their owner was gone past the grace, per pool.", List.of("pool"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    latest.get().forEach(status -> out.put(List.of(status.spec().name()), (double) status.reclaimed()));
                    return out;
                });
        return new IpamMetrics(refresh);
    }

    private static Map<List<String>, Double> perFamily(List<PoolStatus> statuses,
                                                       java.util.function.ToDoubleFunction<FamilyUsage> value) {
        Map<List<String>, Double> out = new HashMap<>();
        for (PoolStatus status : statuses) {
            for (FamilyUsage usage : status.usage()) {
                out.put(List.of(status.spec().name(), usage.cidr().toString()), value.applyAsDouble(usage));
            }
        }
        return out;
    }

    @Override
    public void close() {
        refresh.cancel();
    }
}
