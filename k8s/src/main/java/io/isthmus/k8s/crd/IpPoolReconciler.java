package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ipam.FamilyUsage;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.controller.Watch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Keeps the gateway's pools in line with the cluster's {@link IPPool} objects: every IPPool seen (added, changed, or
 * again at every {@code statusInterval}) is turned into a {@link PoolSpec} and handed to the {@link PoolCatalog}; its
 * status then says what the gateway did: {@code Ready=True} with the pool's usage, or {@code Ready=False} with the
 * reason ({@code InvalidSpec}, {@code PoolOverlaps}, {@code OutsideSegments}, {@code PoolExists}, ...) and a message
 * naming the field and the value. A refused IPPool creates nothing. The IPAM has no pool removal yet: deleting an
 * IPPool leaves its pool (and leases) in the gateway, and the log says so.
 *
 * <p>It runs in the {@link Controller} shell, keyed by IPPool name: one IPPool at a time, events for a pool already
 * waiting coalesce, a failed status write is tried again with backoff. The status is
 * written ({@code PUT /status} at the resourceVersion seen) only when it changed, so a status write's own update event
 * ends here. Every replica may run this: the pool creation is idempotent, the statuses they write agree, and a write
 * that lost the race (409) is dropped since the winner's update event brings the object back.
 */
public final class IpPoolReconciler implements Controller.Reconciler<String> {
    private static final Logger log = LoggerFactory.getLogger(IpPoolReconciler.class);
    public static final String READY = "Ready";

    private final KubernetesClient client;
    private final PoolCatalog catalog;
    private final Duration callTimeout;
    private final Clock clock;
    private final Watch<IPPool> pools;

    private IpPoolReconciler(KubernetesClient client, PoolCatalog catalog, Duration callTimeout, Clock clock) {
        this.client = client;
        this.catalog = catalog;
        this.callTimeout = callTimeout;
        this.clock = clock;
        this.pools = Watch.clusterScoped("IPPools", client, client.resources(IPPool.class));
    }

    /**
     * Starts watching IPPools (the informer lists them in the background, retrying while the API server is away) and
     * refreshes every status each {@code statusInterval}; {@code callTimeout} bounds each call to the catalog.
     */
    public static Controller<String> start(KubernetesClient client, PoolCatalog catalog, Duration statusInterval,
                                             Duration callTimeout, Clock clock) {
        IpPoolReconciler reconciler = new IpPoolReconciler(client, catalog, callTimeout, clock);
        return Controller.byName("ippools", reconciler.pools, statusInterval, clock, reconciler);
    }

    @Override
    public Collection<String> keys() {
        return pools.names();
    }

    @Override
    public void reconcile(String name) {
        IPPool pool = pools.get(null, name);
        if (pool == null) {
            deletePool(name);
            return;
        }
        IPPoolStatus old = pool.getStatus();
        long generation = Objects.requireNonNullElse(pool.getMetadata().getGeneration(), 0L);
        IPPoolStatus next = decide(pool, generation, old);
        if (!sameIgnoringTimes(old, next)) {
            if (!StatusWrites.putStatus(client, pool, IPPool::new, next)) {
                return;
            }
            Condition ready = next.conditions().getFirst();
            boolean changed = previousReady(old).map(c -> !c.getStatus().equals(ready.getStatus())
                    || !c.getReason().equals(ready.getReason())).orElse(true);
            if (changed) { // usage refreshes are not news
                log.info("IPPool {}: Ready={} {} {}", name, ready.getStatus(), ready.getReason(), ready.getMessage());
            }
        }
    }

    /**
     * A deleted IPPool deletes its pool, never forced: while the pool holds leases it stays (with them) and the refusal
     * is logged, since the object that could carry a condition is gone. Not retried: the operator deletes it with
     * {@code isthmus ipam pool delete NAME --force}, or recreates the IPPool to manage it again.
     */
    private void deletePool(String name) {
        try {
            var deleted = catalog.delete(name).toCompletableFuture().get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
            log.info("IPPool {} deleted: its pool is deleted too", deleted.pool());
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof IpamException ipam && ipam.error() == io.isthmus.api.ipam.IpamError.UNKNOWN_POOL) {
                return; // never created (its spec was refused), or deleted already
            }
            log.warn("IPPool {} deleted, but its pool stays in the gateway's IPAM: {}; delete it with 'isthmus ipam pool "
                    + "delete {} --force' (releases its leases) or recreate the IPPool to manage it again", name,
                    cause instanceof IpamException ipam ? message(ipam) : String.valueOf(cause), name);
        } catch (TimeoutException e) {
            log.warn("IPPool {} deleted, but the gateway's IPAM did not answer the pool's deletion within {} ms; it may "
                    + "stay: check with 'isthmus ipam pools'", name, callTimeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubernetesClientException("interrupted while deleting the pool of IPPool " + name);
        }
    }

    private IPPoolStatus decide(IPPool pool, long generation, IPPoolStatus old) {
        String name = pool.getMetadata().getName();
        PoolSpec spec;
        String kind;
        try {
            kind = IpPoolSpecs.segmentKind(pool.getSpec());
            spec = IpPoolSpecs.toPoolSpec(name, pool.getSpec());
        } catch (InvalidFieldException e) {
            return refused(old, generation, "InvalidSpec", e.getMessage());
        }
        try {
            PoolCatalog.AppliedPool applied = catalog.ensure(spec, kind).toCompletableFuture()
                    .get(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
            return ready(old, generation, applied);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
            if (cause instanceof IpamException ipam) {
                return refused(old, generation, reason(ipam.error()), message(ipam));
            }
            if (cause instanceof InvalidFieldException invalid) {
                return refused(old, generation, "InvalidSpec", IpPoolSpecs.specMessage(invalid.getMessage()));
            }
            return refused(old, generation, "Unavailable", "the gateway's IPAM failed: " + cause);
        } catch (TimeoutException e) {
            return refused(old, generation, "Unavailable", "the gateway's IPAM did not answer within "
                    + callTimeout.toMillis() + " ms; tried again at the next status refresh");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubernetesClientException("interrupted while reconciling IPPool " + name);
        }
    }

    /** {@code POOL_OVERLAPS} → {@code PoolOverlaps}: the condition's reason (CamelCase, as the API conventions ask). */
    static String reason(IpamError error) {
        StringBuilder reason = new StringBuilder();
        for (String word : error.name().split("_")) {
            reason.append(word.charAt(0)).append(word.substring(1).toLowerCase(Locale.ROOT));
        }
        return reason.toString();
    }

    /** The IPAM's message, its field names said as the IPPool's, and the field and value when it does not name them. */
    static String message(IpamException e) {
        String text = IpPoolSpecs.specMessage(e.getMessage());
        String field = IpPoolSpecs.specField(e.field());
        if (!field.isEmpty() && !text.contains(field)) {
            text = field + " '" + e.value() + "': " + text;
        }
        return text;
    }

    private IPPoolStatus ready(IPPoolStatus old, long generation, PoolCatalog.AppliedPool applied) {
        PoolStatus status = applied.status();
        BigInteger size = status.usage().stream().map(FamilyUsage::capacity).reduce(BigInteger.ZERO, BigInteger::add);
        String cidrs = status.spec().cidrs().toString();
        Condition condition = condition(old, generation, "True", "PoolReady",
                "pool " + status.spec().name() + " " + cidrs + " is in the gateway's IPAM");
        return new IPPoolStatus(List.of(condition), generation, size.toString(), (long) status.active(),
                (long) status.parked(), (long) status.reserved(), status.reclaimed(), applied.segments());
    }

    private IPPoolStatus refused(IPPoolStatus old, long generation, String reason, String message) {
        // Usage figures stay as they were: a refusal of a changed spec says nothing about the pool the gateway holds.
        Condition condition = condition(old, generation, "False", reason, message);
        return old == null ? new IPPoolStatus(List.of(condition), generation, null, null, null, null, null, null)
                : new IPPoolStatus(List.of(condition), generation, old.size(), old.allocated(), old.parked(),
                old.reserved(), old.reclaimed(), old.segments());
    }

    private Condition condition(IPPoolStatus old, long generation, String status, String reason, String message) {
        return StatusWrites.condition(old == null ? null : old.conditions(), generation, READY, status, reason, message,
                clock.instant());
    }

    private static Optional<Condition> previousReady(IPPoolStatus old) {
        return StatusWrites.find(old == null ? null : old.conditions(), READY);
    }

    private static boolean sameIgnoringTimes(IPPoolStatus old, IPPoolStatus next) {
        if (old == null) {
            return false;
        }
        IPPoolStatus a = new IPPoolStatus(StatusWrites.withoutTimes(old.conditions()), old.observedGeneration(), old.size(),
                old.allocated(), old.parked(), old.reserved(), old.reclaimed(), old.segments());
        IPPoolStatus b = new IPPoolStatus(StatusWrites.withoutTimes(next.conditions()), next.observedGeneration(), next.size(),
                next.allocated(), next.parked(), next.reserved(), next.reclaimed(), next.segments());
        return a.equals(b);
    }
}
