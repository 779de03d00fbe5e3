package io.isthmus.ipam.pool;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.IpamSerializable;
import io.isthmus.ipam.IpamSettings;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.ipam.OwnerLiveness.OwnerState;
import io.isthmus.ipam.directory.PoolDirectory;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import io.isthmus.ipam.pool.PoolProtocol.Request;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One pool: the sharded entity (id {@code <cluster>.<pool>}). It loads the pool's spec from the cluster's
 * {@link PoolDirectory}, starts the event-sourced {@link PoolLedger} as its child and forms group commits: requests
 * that arrive while a journal write is in flight wait and go together into the next write, so a pool does one
 * journal round trip per batch instead of one per request. It also runs the pool's timers: reservation expiry and
 * the reclaimer (survey the owners, ask {@link OwnerLiveness}, reclaim those gone for longer than the grace).
 *
 * <p>Mutable fields: this is an actor's private bookkeeping (the queue, the in-flight batch, when owners were first
 * seen gone), never shared and never persisted; the pool's state itself is the ledger's immutable {@link PoolState}.
 */
public final class PoolEntity extends AbstractBehavior<PoolEntity.Command> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "IpamPool");

    public sealed interface Command extends IpamSerializable
            permits Request, ReclaimNow, Locate, SpecLoaded, LedgerStopped, BatchDone, ExpiryTick, ReclaimTick, FromLedger,
            LivenessAnswered, Unregistered {
    }

    /** Runs the reclaimer now, without the grace: replies with the reclaims it made. */
    public record ReclaimNow(ActorRef<Reply> replyTo) implements Command {
    }

    /** Which replica runs this pool now: replies {@link PoolProtocol.Located} at once, even while it is loading. */
    public record Locate(ActorRef<Reply> replyTo) implements Command {
    }

    private record SpecLoaded(PoolDirectory.Reply reply, Throwable failure) implements Command {
    }

    private record LedgerStopped() implements Command {
    }

    private record BatchDone(boolean retired) implements Command {
    }

    private record ExpiryTick() implements Command {
    }

    private record ReclaimTick() implements Command {
    }

    private record FromLedger(Reply reply) implements Command {
    }

    private record Unregistered(PoolDirectory.Reply reply, Throwable failure) implements Command {
    }

    private record LivenessAnswered(List<PoolProtocol.SurveyEntry> entries, Map<Owner, OwnerState> states,
                                    Throwable failure) implements Command {
    }

    /** Entity ids are {@code cluster.pool}: both are DNS labels, so the dot is unambiguous. */
    public static String entityId(ClusterId cluster, String pool) {
        return cluster.value() + "." + pool;
    }

    /**
     * The journal of one incarnation of a pool: the first keeps the entity id (the journals written before pools could
     * be deleted), a pool created again after a delete gets a fresh stream, so it starts empty and no replay of the
     * deleted pool's events can bring its leases back.
     */
    public static PersistenceId persistenceId(String entityId, long incarnation) {
        return PersistenceId.of(ENTITY_TYPE_KEY.name(), incarnation == 0 ? entityId : entityId + "~" + incarnation);
    }

    public static Behavior<Command> create(EntityContext<Command> entity, IpamSettings settings, OwnerLiveness liveness,
                                           Clock clock) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers ->
                new PoolEntity(context, timers, entity.getEntityId(), entity.getShard(), settings, liveness, clock)));
    }

    private final TimerScheduler<Command> timers;
    private final String entityId;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final String poolName;
    private final IpamSettings settings;
    private final OwnerLiveness liveness;
    private final Clock clock;
    private final ActorRef<PoolLedger.BatchApplied> batchAdapter;
    private final ActorRef<Reply> ledgerReplies;

    private ActorRef<PoolLedger.Command> ledger;        // null until the spec is loaded
    private boolean unknown;                            // the directory has no such pool, or it was just deleted
    private long incarnation;
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    private List<Request> inFlight = List.of();
    private boolean writing;

    private final Map<String, Instant> goneSince = new HashMap<>(); // identity -> first survey that saw it gone
    private boolean surveying;
    private boolean surveyIgnoresGrace;
    private List<ActorRef<Reply>> surveyWaiters = List.of();          // served by the survey in progress
    private final List<ActorRef<Reply>> nextSurveyWaiters = new ArrayList<>();

    private PoolEntity(ActorContext<Command> context, TimerScheduler<Command> timers, String entityId,
                       ActorRef<ClusterSharding.ShardCommand> shard, IpamSettings settings, OwnerLiveness liveness,
                       Clock clock) {
        super(context);
        this.timers = timers;
        this.entityId = entityId;
        this.shard = shard;
        this.poolName = entityId.substring(entityId.indexOf('.') + 1);
        this.settings = settings;
        this.liveness = liveness;
        this.clock = clock;
        this.batchAdapter = context.messageAdapter(PoolLedger.BatchApplied.class, applied -> new BatchDone(applied.retired()));
        this.ledgerReplies = context.messageAdapter(Reply.class, FromLedger::new);
        String cluster = entityId.substring(0, Math.max(0, entityId.indexOf('.')));
        context.ask(PoolDirectory.Reply.class,
                ClusterSharding.get(context.getSystem()).entityRefFor(PoolDirectory.ENTITY_TYPE_KEY, cluster),
                settings.askTimeout(), replyTo -> new PoolDirectory.Lookup(poolName, replyTo), SpecLoaded::new);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder().onMessage(Command.class, this::onCommand).build();
    }

    private Behavior<Command> onCommand(Command command) {
        return switch (command) {
            case Request request -> {
                if (unknown) {
                    request.replyTo().tell(unknownPool());
                } else {
                    queue.add(request);
                    flush();
                }
                yield this;
            }
            case ReclaimNow(ActorRef<Reply> replyTo) -> {
                nextSurveyWaiters.add(replyTo);
                startSurvey();
                yield this;
            }
            case Locate(ActorRef<Reply> replyTo) -> {
                replyTo.tell(new PoolProtocol.Located(
                        org.apache.pekko.cluster.typed.Cluster.get(getContext().getSystem()).selfMember().address().toString()));
                yield this;
            }
            case SpecLoaded loaded -> onSpecLoaded(loaded);
            case BatchDone done -> {
                writing = false;
                inFlight = List.of();
                if (done.retired()) {
                    yield onRetired();
                }
                flush();
                yield this;
            }
            case Unregistered(var reply, var failure) -> {
                if (failure != null) { // the next start of this entity (or the deleting caller's resend) completes it
                    getContext().getLog().warn("pool {}: deleted, but the pool directory did not confirm the removal: {}",
                            entityId, failure.toString());
                }
                yield this;
            }
            case LedgerStopped stopped -> {
                getContext().getLog().warn("pool {}: its journal writer stopped (see the error above); {} requests fail "
                        + "with UNAVAILABLE and the pool restarts", entityId, inFlight.size() + queue.size());
                failAll(new PoolProtocol.Failed(IpamError.UNAVAILABLE, "pool " + poolName
                        + " could not write its journal; retry (requests are idempotent per owner)", "", ""));
                yield Behaviors.stopped();
            }
            case ExpiryTick tick -> {
                queue.add(new PoolProtocol.ExpireReservations(ledgerReplies));
                flush();
                yield this;
            }
            case ReclaimTick tick -> {
                startSurvey();
                yield this;
            }
            case FromLedger(Reply reply) -> onLedgerReply(reply);
            case LivenessAnswered answered -> onLiveness(answered);
        };
    }

    private Behavior<Command> onSpecLoaded(SpecLoaded loaded) {
        if (loaded.failure() != null || !(loaded.reply() instanceof PoolDirectory.Found(var spec, long current))) {
            getContext().getLog().warn("pool {}: the pool directory did not answer ({}); the pool restarts",
                    entityId, loaded.failure() == null ? loaded.reply() : loaded.failure().toString());
            failAll(new PoolProtocol.Failed(IpamError.UNAVAILABLE, "pool " + poolName
                    + " could not load its spec from the pool directory; retry", "", ""));
            return Behaviors.stopped();
        }
        if (spec.isEmpty()) {
            unknown = true;
            failAll(unknownPool());
            // Passivate (not just stop): a remembered entity that stops is restarted. Until the stop arrives we answer
            // UNKNOWN_POOL; the shard buffers what comes after and hands it to a fresh entity, which loads the spec
            // again (the pool may have been created meanwhile).
            shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
            return this;
        }
        incarnation = current;
        startLedger(spec.get());
        return this;
    }

    /**
     * The ledger wrote the pool's end: take it out of the directory (also when the deletion was found on recovery, after
     * a crash between the two writes), answer what waits with UNKNOWN_POOL and passivate, so that a pool created again
     * under this name starts on its own journal.
     */
    private Behavior<Command> onRetired() {
        unknown = true;
        timers.cancelAll();
        failAll(unknownPool());
        String cluster = entityId.substring(0, entityId.indexOf('.'));
        getContext().ask(PoolDirectory.Reply.class,
                ClusterSharding.get(getContext().getSystem()).entityRefFor(PoolDirectory.ENTITY_TYPE_KEY, cluster),
                settings.askTimeout(), replyTo -> new PoolDirectory.Unregister(poolName, incarnation, replyTo),
                Unregistered::new);
        shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf()));
        return this;
    }

    private void startLedger(PoolSpec spec) {
        ledger = getContext().spawn(PoolLedger.create(persistenceId(entityId, incarnation), spec,
                settings.reservationTimeout(), settings.snapshotEvery(), settings.reuseDelay(), incarnation), "ledger");
        getContext().watchWith(ledger, new LedgerStopped());
        timers.startTimerWithFixedDelay("expiry", new ExpiryTick(), settings.expiryCheckInterval());
        timers.startTimerWithFixedDelay("reclaim", new ReclaimTick(), settings.reclaimInterval());
        flush();
    }

    /** Sends the waiting requests as one batch, unless a write is in flight (they go next, together). */
    private void flush() {
        if (ledger == null || writing || queue.isEmpty()) {
            return;
        }
        List<Request> batch = new ArrayList<>(Math.min(queue.size(), settings.maxBatch()));
        while (!queue.isEmpty() && batch.size() < settings.maxBatch()) {
            batch.add(queue.poll());
        }
        inFlight = batch;
        writing = true;
        ledger.tell(new PoolLedger.ApplyBatch(batch, clock.instant(), batchAdapter));
    }

    private void failAll(Reply failure) {
        for (Request request : inFlight) {
            request.replyTo().tell(failure);
        }
        for (Request request : queue) {
            request.replyTo().tell(failure);
        }
        inFlight = List.of();
        queue.clear();
        for (ActorRef<Reply> waiter : surveyWaiters) {
            waiter.tell(failure);
        }
        for (ActorRef<Reply> waiter : nextSurveyWaiters) {
            waiter.tell(failure);
        }
        surveyWaiters = List.of();
        nextSurveyWaiters.clear();
    }

    private Reply unknownPool() {
        return new PoolProtocol.Failed(IpamError.UNKNOWN_POOL, "no pool named " + poolName + " in cluster "
                + entityId.substring(0, entityId.indexOf('.')), "pool", poolName);
    }

    // --- the reclaimer -------------------------------------------------------------------------------------------

    private void startSurvey() {
        if (surveying || ledger == null) {
            if (unknown) {
                nextSurveyWaiters.forEach(w -> w.tell(unknownPool()));
                nextSurveyWaiters.clear();
            }
            return; // a survey in progress; the waiters of the next one are served when it ends
        }
        surveying = true;
        surveyWaiters = List.copyOf(nextSurveyWaiters);
        nextSurveyWaiters.clear();
        surveyIgnoresGrace = !surveyWaiters.isEmpty();
        queue.add(new PoolProtocol.SurveyOwners(ledgerReplies));
        flush();
    }

    private Behavior<Command> onLedgerReply(Reply reply) {
        switch (reply) {
            case PoolProtocol.OwnerSurvey(List<PoolProtocol.SurveyEntry> entries) -> {
                if (entries.isEmpty()) {
                    goneSince.clear();
                    endSurvey(List.of());
                } else {
                    List<Owner> owners = entries.stream().map(PoolProtocol.SurveyEntry::owner).toList();
                    getContext().pipeToSelf(liveness.check(owners),
                            (states, failure) -> new LivenessAnswered(entries, states, failure));
                }
            }
            case PoolProtocol.ReclaimList(var reclaims) -> {
                reclaims.forEach(r -> getContext().getLog().info("pool {}: reclaimed {} from {} ({})", poolName,
                        r.addresses(), r.owner(), r.reason()));
                endSurvey(reclaims);
            }
            case PoolProtocol.Failed failed -> {
                getContext().getLog().warn("pool {}: internal request failed: {}", poolName, failed.message());
                if (surveying) {
                    endSurvey(List.of());
                }
            }
            case PoolProtocol.ExpiredCount(int count) -> {
                if (count > 0) {
                    getContext().getLog().debug("pool {}: {} reservations expired", poolName, count);
                }
            }
            case PoolProtocol.ReservationMade r -> { }
            case PoolProtocol.LeaseGranted r -> { }
            case PoolProtocol.ReleaseDone r -> { }
            case PoolProtocol.LeaseList r -> { }
            case PoolProtocol.StatusReport r -> { }
            case PoolProtocol.Located r -> { }
            case PoolProtocol.HolderFound r -> { }
            case PoolProtocol.Retired r -> { }
        }
        return this;
    }

    private Behavior<Command> onLiveness(LivenessAnswered answered) {
        if (answered.failure() != null || answered.states() == null) {
            getContext().getLog().warn("pool {}: owner liveness check failed ({}); nothing reclaimed this round",
                    poolName, answered.failure());
            surveyWaiters.forEach(w -> w.tell(new PoolProtocol.Failed(IpamError.UNAVAILABLE,
                    "the owner liveness source did not answer: " + answered.failure(), "", "")));
            surveyWaiters = List.of();
            endSurvey(List.of());
            return this;
        }
        Instant now = clock.instant();
        List<PoolProtocol.ReclaimOrder> orders = new ArrayList<>();
        if (!goneSince.isEmpty()) { // forget owners whose lease is gone (a big pool usually has none in here)
            Set<String> seen = answered.entries().stream().map(e -> e.owner().identity()).collect(Collectors.toSet());
            goneSince.keySet().retainAll(seen);
        }
        for (PoolProtocol.SurveyEntry entry : answered.entries()) {
            String identity = entry.owner().identity();
            OwnerState state = answered.states().get(entry.owner());
            if (!isGone(entry, state)) {
                if (!goneSince.isEmpty()) {
                    goneSince.remove(identity);
                }
                continue;
            }
            Instant since = goneSince.computeIfAbsent(identity, k -> now);
            if (surveyIgnoresGrace || !Duration.between(since, now).minus(settings.reclaimGrace()).isNegative()) {
                orders.add(new PoolProtocol.ReclaimOrder(identity, entry.owner().uid(), entry.since()));
            }
        }
        if (orders.isEmpty()) {
            endSurvey(List.of());
        } else {
            String reason = surveyIgnoresGrace ? "owner gone (reclaim requested)"
                    : "owner gone for at least " + settings.reclaimGrace().toSeconds() + " s";
            queue.add(new PoolProtocol.Reclaim(orders, reason, ledgerReplies));
            flush();
        }
        return this;
    }

    /**
     * A non-sticky owner is gone when its incarnation is; a sticky one (fixed IP) only when its identity is. An owner
     * the liveness source did not mention is unknown, never gone.
     */
    private static boolean isGone(PoolProtocol.SurveyEntry entry, OwnerState state) {
        if (state == null) {
            return false;
        }
        boolean sticky = entry.owner().kind().sticky();
        return switch (state) {
            case RUNNING -> false;
            case IDENTITY_KEPT -> !sticky;
            case GONE -> true;
        };
    }

    private void endSurvey(List<io.isthmus.api.ipam.ReclaimRecord> reclaims) {
        for (ActorRef<Reply> waiter : surveyWaiters) {
            waiter.tell(new PoolProtocol.ReclaimList(reclaims));
        }
        surveyWaiters = List.of();
        surveying = false;
        if (!nextSurveyWaiters.isEmpty()) {
            startSurvey();
        }
    }
}
