package io.isthmus.gateway.ipam;

import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.Ipam;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * IPAM's part of {@code /readyz}: a started replica is ready for IPAM once its pool directory and every pool in it
 * have answered (their shards placed, their journals recovered). Without it a restarted gateway said ready a
 * moment before its pools answered, and the first CNI ADDs got UNAVAILABLE. It probes every {@code interval} until
 * the first complete answer, then stays ready: a pool that moves later (a replica died) stalls for a few seconds,
 * which requests ride out by retrying; it does not make this replica unready.
 */
public final class IpamReadiness implements AutoCloseable {
    private final Ipam ipam;
    private final AtomicBoolean ready = new AtomicBoolean();
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile String waitingFor = "the pool directory has not answered yet";
    private final Cancellable probe;

    private IpamReadiness(ActorSystem<?> system, Ipam ipam, Duration interval) {
        this.ipam = ipam;
        this.probe = system.scheduler().scheduleWithFixedDelay(Duration.ZERO, interval, this::probe, system.executionContext());
    }

    public static IpamReadiness start(ActorSystem<?> system, Ipam ipam, Duration interval) {
        return new IpamReadiness(system, ipam, interval);
    }

    /** Why IPAM is not ready yet; empty once every pool answered. */
    public Optional<String> notReadyReason() {
        return ready.get() ? Optional.empty() : Optional.of("ipam: " + waitingFor);
    }

    private void probe() {
        if (ready.get()) {
            probe.cancel();
            return;
        }
        if (!probing.compareAndSet(false, true)) {
            return; // the previous probe is still waiting for answers
        }
        ipam.pools().thenCompose(this::askEveryPool).whenComplete((answered, failure) -> {
            probing.set(false);
            if (failure != null) {
                waitingFor = "waiting for the pools to answer (" + failure.getMessage() + ")";
            } else {
                ready.set(true);
            }
        });
    }

    private CompletableFuture<Void> askEveryPool(List<PoolSpec> pools) {
        waitingFor = "waiting for " + pools.size() + " pools to answer";
        return CompletableFuture.allOf(pools.stream().map(pool -> ipam.pool(pool.name()).toCompletableFuture())
                .toArray(CompletableFuture[]::new));
    }

    @Override
    public void close() {
        probe.cancel();
    }
}
