package io.isthmus.gateway.replicas;

import com.typesafe.config.Config;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.coordination.lease.LeaseSettings;
import org.apache.pekko.coordination.lease.scaladsl.Lease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Function1;
import scala.Option;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.BoxedUnit;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A Pekko Coordination lease kept in PostgreSQL (see {@link PostgresLeaseStore}), for the split-brain resolver's
 * {@code lease-majority} strategy: whichever side of a split takes the lease stays up, so the survivor of any loss
 * keeps running, also the one of two replicas that keep-majority would have downed. Pekko makes it by reflection
 * from the config block named by {@code lease-implementation}, which holds {@code url}, {@code user} and
 * {@code password} besides the usual lease timings.
 *
 * <p>A held lease is renewed every {@code heartbeat-interval} and expires {@code heartbeat-timeout} after the last
 * renewal, so a crashed holder gives it up by itself; {@link #checkLease()} says false as soon as the last renewal is
 * older than that, before anyone else can have taken it.
 */
public final class PostgresLease extends Lease {
    private static final Logger log = LoggerFactory.getLogger(PostgresLease.class);

    private final LeaseSettings settings;
    private final PostgresLeaseStore store;
    private final ScheduledExecutorService worker;
    private final Duration ttl;
    private final Duration renewEvery;
    /** System.nanoTime when the last successful take was sent; null while not held. */
    private final AtomicReference<Long> heldSince = new AtomicReference<>();
    private volatile ScheduledFuture<?> renewal;

    public PostgresLease(LeaseSettings settings, ExtendedActorSystem system) {
        super(settings);
        this.settings = settings;
        Config config = settings.leaseConfig();
        this.ttl = settings.timeoutSettings().getHeartbeatTimeout();
        this.renewEvery = settings.timeoutSettings().getHeartbeatInterval();
        this.store = new PostgresLeaseStore(config.getString("url"), config.getString("user"),
                config.getString("password"), settings.timeoutSettings().getOperationTimeout());
        this.worker = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "isthmus-lease-" + settings.leaseName());
            thread.setDaemon(true);
            return thread;
        });
        // Connect (and create the table) now, not during a failover: at the first take of a busy replica, the
        // connection and the statement's first run took about a second, all of it added to the takeover.
        worker.execute(() -> {
            try {
                store.prepare();
            } catch (java.sql.SQLException e) {
                log.warn("lease {}: PostgreSQL not reachable yet ({}); the first take will connect", settings.leaseName(),
                        e.getMessage());
            }
        });
        system.registerOnTermination(() -> {
            worker.shutdownNow();
            store.close();
        });
    }

    @Override
    public Future<Object> acquire() {
        return acquire(lost -> BoxedUnit.UNIT);
    }

    @Override
    public Future<Object> acquire(Function1<Option<Throwable>, BoxedUnit> leaseLost) {
        return asScala(CompletableFuture.supplyAsync(() -> {
            long sentAt = System.nanoTime();
            try {
                if (!store.take(settings.leaseName(), settings.ownerName(), ttl)) {
                    log.info("lease {} is held by another owner; {} did not get it", settings.leaseName(),
                            settings.ownerName());
                    return false;
                }
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("could not take lease " + settings.leaseName() + " in PostgreSQL: "
                        + e.getMessage(), e);
            }
            heldSince.set(sentAt);
            if (renewal == null) {
                renewal = worker.scheduleWithFixedDelay(() -> renew(leaseLost), renewEvery.toMillis(),
                        renewEvery.toMillis(), TimeUnit.MILLISECONDS);
            }
            log.info("lease {} taken by {}", settings.leaseName(), settings.ownerName());
            return true;
        }, worker));
    }

    private void renew(Function1<Option<Throwable>, BoxedUnit> leaseLost) {
        Long since = heldSince.get();
        if (since == null) {
            return;
        }
        long sentAt = System.nanoTime();
        try {
            if (store.take(settings.leaseName(), settings.ownerName(), ttl)) {
                heldSince.set(sentAt);
                return;
            }
            lost(leaseLost, null, "another owner holds it now");
        } catch (java.sql.SQLException e) {
            if (!checkLease()) {
                lost(leaseLost, e, "it could not be renewed within " + ttl.toMillis() + " ms: " + e.getMessage());
            }
        }
    }

    private void lost(Function1<Option<Throwable>, BoxedUnit> leaseLost, Throwable cause, String why) {
        heldSince.set(null);
        stopRenewing();
        log.warn("lease {} lost by {}: {}", settings.leaseName(), settings.ownerName(), why);
        leaseLost.apply(Option.apply(cause));
    }

    private void stopRenewing() {
        ScheduledFuture<?> current = renewal;
        renewal = null;
        if (current != null) {
            current.cancel(false);
        }
    }

    @Override
    public Future<Object> release() {
        return asScala(CompletableFuture.supplyAsync(() -> {
            heldSince.set(null);
            stopRenewing();
            try {
                return store.giveBack(settings.leaseName(), settings.ownerName());
            } catch (java.sql.SQLException e) {
                throw new IllegalStateException("could not release lease " + settings.leaseName()
                        + " in PostgreSQL (it expires by itself): " + e.getMessage(), e);
            }
        }, worker));
    }

    @Override
    public boolean checkLease() {
        Long since = heldSince.get();
        return since != null && System.nanoTime() - since < ttl.toNanos();
    }

    @SuppressWarnings("unchecked")
    private static Future<Object> asScala(CompletableFuture<Boolean> future) {
        return (Future<Object>) (Future<?>) FutureConverters.asScala(future);
    }
}
