package io.isthmus.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolDeletion;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseResult;
import io.isthmus.api.ipam.Reservation;
import io.isthmus.ipam.directory.PoolDirectory;
import io.isthmus.ipam.pool.PoolEntity;
import io.isthmus.ipam.pool.PoolProtocol;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.japi.function.Function;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * The IPAM core of one cluster, as the gateway, gRPC, HTTP and the CNI adapter use it. {@link #start} initializes
 * sharding for the pools and the pool directory once; every method asks the right entity with the configured
 * timeout and returns a {@link CompletionStage}. A refused request fails the stage with an {@link IpamException}
 * whose {@link IpamError code} callers map to HTTP or CNI; a timeout fails it with {@link IpamError#UNAVAILABLE}.
 * Every acknowledged change is durable in the journal.
 */
public final class Ipam {
    private final ActorSystem<?> system;
    private final ClusterSharding sharding;
    private final ClusterId cluster;
    private final SegmentGuard segments;
    private final IpamSettings settings;

    private Ipam(ActorSystem<?> system, ClusterId cluster, SegmentGuard segments, IpamSettings settings) {
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.cluster = cluster;
        this.segments = segments;
        this.settings = settings;
    }

    /**
     * Initializes sharding of pools and the pool directory (call once per actor system). Pools are remembered
     * entities: after a crash or a rebalance they start again by themselves, so reservations expire and the
     * reclaimer runs without waiting for a request.
     */
    public static Ipam start(ActorSystem<?> system, ClusterId cluster, SegmentGuard segments, OwnerLiveness liveness,
                             IpamSettings settings, Clock clock) {
        ClusterSharding sharding = ClusterSharding.get(system);
        sharding.init(Entity.of(PoolDirectory.ENTITY_TYPE_KEY,
                entity -> PoolDirectory.create(entity.getEntityId(), clock)));
        sharding.init(Entity.of(PoolEntity.ENTITY_TYPE_KEY, entity -> PoolEntity.create(entity, settings, liveness, clock))
                .withSettings(ClusterShardingSettings.create(system)
                        .withRememberEntities(true)
                        .withRememberEntitiesStoreMode(ClusterShardingSettings.rememberEntitiesStoreModeEventSourced())));
        return new Ipam(system, cluster, segments, settings);
    }

    /** {@link #start} with the settings of {@code isthmus.ipam} in the system's config and the system clock. */
    public static Ipam start(ActorSystem<?> system, ClusterId cluster, SegmentGuard segments, OwnerLiveness liveness) {
        return start(system, cluster, segments, liveness, IpamSettings.fromConfig(system.settings().config()),
                Clock.systemUTC());
    }

    public ClusterId cluster() {
        return cluster;
    }

    public IpamSettings settings() {
        return settings;
    }

    /**
     * Creates a pool once every CIDR of it is inside a segment the cluster holds ({@link SegmentGuard}) and it
     * overlaps no pool of the cluster. The same spec again succeeds without a change. Refusals: OUTSIDE_SEGMENTS,
     * POOL_OVERLAPS, POOL_EXISTS (same name, other spec); nothing is stored then.
     */
    public CompletionStage<PoolSpec> createPool(PoolSpec spec) {
        List<CompletableFuture<SegmentGuard.SegmentDecision>> checks = new ArrayList<>();
        for (var cidr : spec.cidrs()) {
            checks.add(segments.check(cluster, cidr).toCompletableFuture());
        }
        return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new)).thenCompose(ignored -> {
            for (int i = 0; i < checks.size(); i++) {
                if (checks.get(i).join() instanceof SegmentGuard.Refused(String reason)) {
                    throw new IpamException(IpamError.OUTSIDE_SEGMENTS, "pool " + spec.name() + ": " + reason,
                            "pool.cidr", spec.cidrs().get(i).toString());
                }
            }
            // Registering the same spec again is a no-op: safe to resend.
            return this.<PoolDirectory.Command, PoolDirectory.Reply>askResending(directory(),
                    replyTo -> new PoolDirectory.Register(spec, replyTo));
        }).handle((reply, failure) -> switch (unwrap(failure, "the pool directory of cluster " + cluster, reply)) {
            case PoolDirectory.Registered registered -> registered.spec();
            case PoolDirectory.Refused(IpamError error, String message) -> throw new IpamException(error, message);
            case PoolDirectory.Found found -> throw unexpected(found);
            case PoolDirectory.Pools pools -> throw unexpected(pools);
            case PoolDirectory.Unregistered u -> throw unexpected(u);
        });
    }

    /**
     * Deletes a pool. While it holds leases (active, parked fixed IPs or reservations) it is refused with POOL_IN_USE
     * naming the pool and the count, and nothing changes; with {@code force} every lease is released in the same
     * journal write that ends the pool. Then the pool leaves the directory: allocations on it are refused with
     * UNKNOWN_POOL, and a pool created again under the name starts empty on a journal of its own. UNKNOWN_POOL if
     * there is no pool of that name.
     */
    public CompletionStage<PoolDeletion> deletePool(String name, boolean force) {
        return ask(name, replyTo -> new PoolProtocol.Retire(force, replyTo), PoolProtocol.Retired.class, true)
                .thenCompose(retired -> this.<PoolDirectory.Command, PoolDirectory.Reply>askResending(directory(),
                                replyTo -> new PoolDirectory.Unregister(name, retired.incarnation(), replyTo))
                        .handle((reply, failure) -> switch (unwrap(failure, "the pool directory of cluster " + cluster, reply)) {
                            case PoolDirectory.Unregistered u -> new PoolDeletion(name, retired.active(), retired.parked(),
                                    retired.reserved());
                            case PoolDirectory.Registered r -> throw unexpected(r);
                            case PoolDirectory.Refused r -> throw unexpected(r);
                            case PoolDirectory.Found r -> throw unexpected(r);
                            case PoolDirectory.Pools r -> throw unexpected(r);
                        }));
    }

    /** The pools of the cluster, in the order they were created. */
    public CompletionStage<List<PoolSpec>> pools() {
        return this.<PoolDirectory.Command, PoolDirectory.Reply>askResending(directory(), PoolDirectory.ListPools::new)
                .handle((reply, failure) -> switch (unwrap(failure, "the pool directory of cluster " + cluster, reply)) {
                    case PoolDirectory.Pools pools -> pools.pools();
                    case PoolDirectory.Registered r -> throw unexpected(r);
                    case PoolDirectory.Refused r -> throw unexpected(r);
                    case PoolDirectory.Found r -> throw unexpected(r);
                    case PoolDirectory.Unregistered r -> throw unexpected(r);
                });
    }

    /** The spec and usage of one pool; UNKNOWN_POOL if there is none of that name. */
    public CompletionStage<PoolStatus> pool(String name) {
        return ask(name, PoolProtocol.GetStatus::new, PoolProtocol.StatusReport.class, true).thenApply(PoolProtocol.StatusReport::status);
    }

    /**
     * Who holds {@code address} in its pool: the lease (reserved, active or parked), empty when the address is free
     * (or is the pool's network, gateway, an excluded or reserved address nobody holds). The pool is the cluster's
     * pool whose CIDR contains the address; UNKNOWN_POOL when there is none. Answered from the used set, then a scan
     * of the pool's holdings (O(leases) for a held address: an operator's query, not a hot path).
     */
    public CompletionStage<java.util.Optional<Lease>> holderOf(java.net.InetAddress address) {
        return pools().thenCompose(specs -> {
            String text = io.isthmus.api.ipam.LeasedAddress.text(address);
            PoolSpec pool = specs.stream().filter(spec -> spec.cidrs().stream().anyMatch(c -> c.contains(address)))
                    .findFirst().orElseThrow(() -> new IpamException(IpamError.UNKNOWN_POOL, "no pool of cluster "
                            + cluster + " contains " + text, "address", text));
            return ask(pool.name(), replyTo -> new PoolProtocol.GetHolder(address, replyTo),
                    PoolProtocol.HolderFound.class, true)
                    .thenApply(found -> found.lease().stream().findFirst());
        });
    }

    /**
     * The replica (its Pekko address, {@code pekko://isthmus@host:port}) that runs the pool's entity now; the pool
     * starts there if it was not running. For operators and the failover benchmark: which pools a replica's loss
     * would stall.
     */
    public CompletionStage<String> servedBy(String name) {
        return ask(name, PoolEntity.Locate::new, PoolProtocol.Located.class, true).thenApply(PoolProtocol.Located::replica);
    }

    /**
     * Holds addresses for the owner (its fixed IP if its identity holds one) until {@link #commit} or expiry
     * ({@code isthmus.ipam.reservation-timeout}). The CNI ADD path: reserve, configure the interface, commit.
     */
    public CompletionStage<Reservation> reserve(String pool, AllocationRequest request) {
        return reserve(pool, request, "");
    }

    /**
     * {@link #reserve(String, AllocationRequest)} bound to the CNI container {@code attachment}: the lease it becomes
     * is released only by that container ({@link #release(String, Owner, ReleaseMode, String)}), and another
     * container of the same owner incarnation cannot take it over (NOT_OWNER).
     */
    public CompletionStage<Reservation> reserve(String pool, AllocationRequest request, String attachment) {
        return checkOwner(request.owner()).thenCompose(ok -> ask(pool,
                replyTo -> new PoolProtocol.Reserve(request, attachment, replyTo),
                PoolProtocol.ReservationMade.class, true)).thenApply(PoolProtocol.ReservationMade::reservation);
    }

    /** Turns a reservation into a lease; UNKNOWN_RESERVATION if it expired or was never made. */
    public CompletionStage<Lease> commit(String pool, String reservationId) {
        return ask(pool, replyTo -> new PoolProtocol.Commit(reservationId, replyTo), PoolProtocol.LeaseGranted.class, false)
                .thenApply(PoolProtocol.LeaseGranted::lease);
    }

    /** Reserve and commit in one durable step: for API callers. Repeating it for the same owner returns the same lease. */
    public CompletionStage<Lease> allocate(String pool, AllocationRequest request) {
        return checkOwner(request.owner()).thenCompose(ok -> ask(pool,
                replyTo -> new PoolProtocol.Allocate(request, replyTo), PoolProtocol.LeaseGranted.class, true))
                .thenApply(PoolProtocol.LeaseGranted::lease);
    }

    /** {@link #release(String, Owner, ReleaseMode)} with {@link ReleaseMode#KEEP_FIXED}: what a CNI DEL does. */
    public CompletionStage<ReleaseResult> release(String pool, Owner owner) {
        return release(pool, owner, ReleaseMode.KEEP_FIXED);
    }

    /**
     * Releases what the owner holds. An owner with an empty uid stands for any incarnation of its identity; an owner
     * with another uid than the holder's is refused (NOT_OWNER), so a late DEL of an old pod cannot free the
     * address of its successor. Releasing what is not held succeeds with {@code NOT_HELD}.
     */
    public CompletionStage<ReleaseResult> release(String pool, Owner owner, ReleaseMode mode) {
        return release(pool, owner, mode, "");
    }

    /**
     * As a CNI container ({@code attachment}; "" for an operator): a lease bound to another container is refused
     * (NOT_OWNER) and stays.
     */
    public CompletionStage<ReleaseResult> release(String pool, Owner owner, ReleaseMode mode, String attachment) {
        return checkOwner(owner).thenCompose(ok -> ask(pool,
                replyTo -> new PoolProtocol.Release(owner, mode, attachment, replyTo),
                PoolProtocol.ReleaseDone.class, true)).thenApply(PoolProtocol.ReleaseDone::result);
    }

    /** Every lease of the pool (reserved, active and parked), by owner identity. */
    public CompletionStage<List<Lease>> leases(String pool) {
        return ask(pool, PoolProtocol.GetLeases::new, PoolProtocol.LeaseList.class, true).thenApply(PoolProtocol.LeaseList::leases);
    }

    /** The most recent reclaims of the pool (at most 100), oldest first; {@link PoolStatus#reclaimed()} counts all. */
    public CompletionStage<List<ReclaimRecord>> reclaims(String pool) {
        return ask(pool, PoolProtocol.GetReclaims::new, PoolProtocol.ReclaimList.class, true)
                .thenApply(PoolProtocol.ReclaimList::reclaims);
    }

    /**
     * Runs the reclaimer of the pool now and without the grace (the operator's explicit request): asks
     * {@link OwnerLiveness} about every owner and frees what belongs to gone owners. Returns what it reclaimed.
     */
    public CompletionStage<List<ReclaimRecord>> reclaimNow(String pool) {
        return ask(pool, PoolEntity.ReclaimNow::new, PoolProtocol.ReclaimList.class, false)
                .thenApply(PoolProtocol.ReclaimList::reclaims);
    }

    private EntityRef<PoolDirectory.Command> directory() {
        return sharding.entityRefFor(PoolDirectory.ENTITY_TYPE_KEY, cluster.value());
    }

    /**
     * Asks the pool's entity. With {@code resend} (the request is idempotent: repeating it changes nothing and gets
     * the same answer) it is sent again every {@code resend-interval} until the first answer or {@code ask-timeout}.
     */
    private <T extends Reply> CompletionStage<T> ask(String pool, Function<ActorRef<Reply>, PoolEntity.Command> message,
                                                     Class<T> expected, boolean resend) {
        try {
            io.isthmus.api.DnsLabel.require("pool", pool);
        } catch (InvalidFieldException e) {
            return CompletableFuture.failedFuture(IpamException.invalid(e));
        }
        EntityRef<PoolEntity.Command> ref = sharding.entityRefFor(PoolEntity.ENTITY_TYPE_KEY, PoolEntity.entityId(cluster, pool));
        CompletionStage<Reply> sent = resend ? askResending(ref, message) : ref.ask(message, settings.askTimeout());
        return sent.handle((reply, failure) -> {
            Reply answer = unwrap(failure, "pool " + pool, reply);
            if (answer instanceof PoolProtocol.Failed failed) {
                throw failed.toException();
            }
            if (!expected.isInstance(answer)) {
                throw unexpected(answer);
            }
            return expected.cast(answer);
        });
    }

    /**
     * Sends {@code message} now and again every {@code resend-interval} until one answer arrives; fails when none
     * arrived within {@code ask-timeout}. Why: sharding routes a pool's messages to the replica that hosts it; when
     * that replica dies, what is sent there is lost (not refused) until the cluster has removed it and the pool has
     * started on a survivor. A single ask would wait out the whole timeout for an answer that never comes.
     */
    private <C, R> CompletionStage<R> askResending(EntityRef<C> ref, Function<ActorRef<R>, C> message) {
        CompletableFuture<R> answer = new CompletableFuture<>();
        long deadline = System.nanoTime() + settings.askTimeout().toNanos();
        send(ref, message, answer, deadline);
        return answer;
    }

    private <C, R> void send(EntityRef<C> ref, Function<ActorRef<R>, C> message, CompletableFuture<R> answer,
                             long deadline) {
        long left = deadline - System.nanoTime();
        if (answer.isDone() || left <= 0) {
            return;
        }
        // Every attempt ends at the same deadline, so the first failure is either a refusal or the deadline.
        ref.<R>ask(message, java.time.Duration.ofNanos(left)).whenComplete((reply, failure) -> {
            if (failure == null) {
                answer.complete(reply);
            } else {
                answer.completeExceptionally(failure);
            }
        });
        if (left > settings.resendInterval().toNanos()) {
            system.scheduler().scheduleOnce(settings.resendInterval(), () -> send(ref, message, answer, deadline),
                    system.executionContext());
        }
    }

    private CompletionStage<Void> checkOwner(Owner owner) {
        if (!owner.cluster().equals(cluster)) {
            return CompletableFuture.failedFuture(new IpamException(IpamError.INVALID_INPUT, "invalid owner.cluster '"
                    + owner.cluster() + "': this gateway allocates for cluster " + cluster, "owner.cluster",
                    owner.cluster().value()));
        }
        return CompletableFuture.completedFuture(null);
    }

    private static <R> R unwrap(Throwable failure, String what, R reply) {
        if (failure == null) {
            return reply;
        }
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof IpamException ipam) {
            throw ipam;
        }
        if (cause instanceof TimeoutException) {
            throw new IpamException(IpamError.UNAVAILABLE, what + " did not answer in time; retry (requests are "
                    + "idempotent per owner)");
        }
        throw new IpamException(IpamError.UNAVAILABLE, what + " failed: " + cause);
    }

    private static IllegalStateException unexpected(Object reply) {
        return new IllegalStateException("unexpected reply " + reply);
    }

}
