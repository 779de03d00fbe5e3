package io.isthmus.gateway.ipam;

import io.isthmus.gateway.metrics.Metrics;

import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Times address allocations where the gateway serves them, as {@code isthmus_ipam_allocation_seconds{path}}:
 * from the request reaching the gateway to the pool's answer. Only allocations that succeeded are timed, so a
 * burst of refusals (pool exhausted, bad owner) does not make allocation look fast.
 */
public final class AllocationTimer {
    public static final String METRIC = "isthmus_ipam_allocation_seconds";

    /** Where the allocation came in. */
    public enum Path {
        /** POST pools/NAME/allocations on the admin HTTP API. */
        ADMIN,
        /** the IpamService gRPC Allocate call. */
        GRPC,
        /** a CNI ADD's reservation on the node socket. */
        CNI;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Metrics.Histogram seconds;

    private AllocationTimer(Metrics.Histogram seconds) {
        this.seconds = seconds;
    }

    public static AllocationTimer register(Metrics metrics) {
        Metrics.Histogram seconds = metrics.histogram(METRIC,
                "Time from an allocation request reaching the gateway to the pool's answer, by path (admin, grpc, "
                        + "cni); successful allocations only.", Metrics.DEFAULT_SECONDS_BUCKETS, "path");
        for (Path path : Path.values()) {
            seconds.initialise(path.label());
        }
        return new AllocationTimer(seconds);
    }

    /** A timer whose figures go nowhere (callers built without the gateway's metrics, e.g. in tests). */
    public static AllocationTimer unrecorded() {
        return register(new Metrics());
    }

    <T> CompletionStage<T> time(Path path, Supplier<CompletionStage<T>> allocation) {
        long start = System.nanoTime();
        return allocation.get().whenComplete((result, failure) -> {
            if (failure == null) {
                seconds.observe((System.nanoTime() - start) / 1e9, path.label());
            }
        });
    }
}
