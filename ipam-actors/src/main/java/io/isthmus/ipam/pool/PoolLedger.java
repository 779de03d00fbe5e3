package io.isthmus.ipam.pool;

import io.isthmus.api.Cidr;
import io.isthmus.api.ipam.AllocationRequest;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.CniAttachmentKey;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.ReleaseMode;
import io.isthmus.api.ipam.ReleaseOutcome;
import io.isthmus.api.ipam.ReleaseResult;
import io.isthmus.ipam.IpamSerializable;
import io.isthmus.ipam.pool.PoolProtocol.Reply;
import io.isthmus.ipam.pool.PoolProtocol.Request;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The event-sourced half of a pool: executes a batch of requests in order against its state, persists all of the
 * batch's events in one atomic write, and only then replies to every requester (group commit: one journal round
 * trip per batch, not per request). {@link PoolEntity} in front of it forms the batches.
 */
public final class PoolLedger extends EventSourcedBehaviorWithEnforcedReplies<PoolLedger.Command, PoolEvent, PoolState> {

    public sealed interface Command extends IpamSerializable {
    }

    /** Execute {@code requests} in order; {@code now} stamps every event of the batch. */
    public record ApplyBatch(List<Request> requests, Instant now, ActorRef<BatchApplied> replyTo) implements Command {
    }

    /** {@code retired}: the pool is deleted now (its entity stops taking requests). */
    public record BatchApplied(int requests, int events, boolean retired) implements IpamSerializable {
        public BatchApplied(int requests, int events) {
            this(requests, events, false);
        }
    }

    private final PoolSpec spec;
    private final Duration reservationTimeout;
    private final int snapshotEvery;
    private final Duration reuseDelay;
    private final long incarnation;

    private PoolLedger(PersistenceId id, PoolSpec spec, Duration reservationTimeout, int snapshotEvery, Duration reuseDelay,
                       long incarnation) {
        super(id);
        this.incarnation = incarnation;
        this.spec = spec;
        this.reservationTimeout = reservationTimeout;
        this.snapshotEvery = snapshotEvery;
        this.reuseDelay = reuseDelay;
    }

    /** Without a reuse delay: a freed address is the first candidate again at once. */
    public static Behavior<Command> create(PersistenceId id, PoolSpec spec, Duration reservationTimeout, int snapshotEvery) {
        return create(id, spec, reservationTimeout, snapshotEvery, Duration.ZERO);
    }

    /**
     * @param reuseDelay a freed address is not picked for another owner until this long after it was freed, unless
     *                   no other address is free (then the one freed longest ago)
     */
    public static Behavior<Command> create(PersistenceId id, PoolSpec spec, Duration reservationTimeout, int snapshotEvery,
                                           Duration reuseDelay) {
        return create(id, spec, reservationTimeout, snapshotEvery, reuseDelay, 0);
    }

    /**
     * @param incarnation how many pools of this name were deleted before this one (the directory's count); each
     *                    incarnation has a journal of its own ({@link PoolEntity#persistenceId})
     */
    public static Behavior<Command> create(PersistenceId id, PoolSpec spec, Duration reservationTimeout, int snapshotEvery,
                                           Duration reuseDelay, long incarnation) {
        return new PoolLedger(id, spec, reservationTimeout, snapshotEvery, reuseDelay, incarnation);
    }

    @Override
    public PoolState emptyState() {
        return PoolState.empty(spec);
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(snapshotEvery, 2);
    }

    @Override
    public EventHandler<PoolState, PoolEvent> eventHandler() {
        return PoolState::apply;
    }

    @Override
    public CommandHandlerWithReply<Command, PoolEvent, PoolState> commandHandler() {
        return (state, command) -> switch (command) {
            case ApplyBatch batch -> onBatch(state, batch);
        };
    }

    record Decision(List<PoolEvent> events, Function<PoolState, Reply> reply) {
        static Decision reply(Reply reply) {
            return new Decision(List.of(), s -> reply);
        }
    }

    private ReplyEffect<PoolEvent, PoolState> onBatch(PoolState state, ApplyBatch batch) {
        PoolState working = state;
        List<PoolEvent> events = new ArrayList<>();
        List<ActorRef<Reply>> recipients = new ArrayList<>(batch.requests().size());
        List<Reply> replies = new ArrayList<>(batch.requests().size());
        for (Request request : batch.requests()) {
            Reply reply;
            try {
                Decision decision = decide(working, request, batch.now());
                for (PoolEvent event : decision.events()) {
                    working = working.apply(event);
                }
                events.addAll(decision.events());
                reply = decision.reply().apply(working);
            } catch (IpamException e) {
                reply = PoolProtocol.Failed.of(e);
            }
            recipients.add(request.replyTo());
            replies.add(reply);
        }
        BatchApplied done = new BatchApplied(batch.requests().size(), events.size(), working.retiredAt() != null);
        Runnable answer = () -> {
            for (int i = 0; i < replies.size(); i++) {
                recipients.get(i).tell(replies.get(i));
            }
        };
        if (events.isEmpty()) {
            return Effect().none().thenRun(s -> answer.run()).thenReply(batch.replyTo(), s -> done);
        }
        PoolEvent stored = events.size() == 1 ? events.getFirst() : new PoolEvent.Batch(events);
        return Effect().persist(stored).thenRun(s -> answer.run()).thenReply(batch.replyTo(), s -> done);
    }

    private Decision decide(PoolState s, Request request, Instant now) {
        if (s.retiredAt() != null) {
            return PoolRetirement.whenRetired(s, request, incarnation);
        }
        return switch (request) {
            case PoolProtocol.Reserve(AllocationRequest r, String attachment, var replyTo) -> reserve(s, r, attachment, now);
            case PoolProtocol.Allocate(AllocationRequest r, var replyTo) -> allocate(s, r, now);
            case PoolProtocol.Commit(String id, var replyTo) -> commit(s, id, now);
            case PoolProtocol.Release(Owner owner, ReleaseMode mode, String attachment, var replyTo) ->
                    release(s, owner, mode, attachment, now);
            case PoolProtocol.GetLeases g -> Decision.reply(new PoolProtocol.LeaseList(s.leases()));
            case PoolProtocol.GetStatus g -> Decision.reply(new PoolProtocol.StatusReport(s.status()));
            case PoolProtocol.GetReclaims g -> Decision.reply(new PoolProtocol.ReclaimList(s.recentReclaims()));
            case PoolProtocol.GetHolder(InetAddress address, var replyTo) -> holder(s, address);
            case PoolProtocol.ExpireReservations e -> expire(s, now);
            case PoolProtocol.SurveyOwners o -> Decision.reply(new PoolProtocol.OwnerSurvey(s.unorderedHoldings().stream()
                    .filter(h -> h.state() != LeaseState.RESERVED)
                    .map(h -> new PoolProtocol.SurveyEntry(h.owner(), h.state(), h.since())).toList()));
            case PoolProtocol.Reclaim(List<PoolProtocol.ReclaimOrder> orders, String reason, var replyTo) ->
                    reclaim(s, orders, reason, now);
            case PoolProtocol.Retire(boolean force, var replyTo) -> PoolRetirement.retire(s, force, incarnation, now);
        };
    }

    private Decision reserve(PoolState s, AllocationRequest request, String attachment, Instant now) {
        Holding existing = s.holding(request.owner().identity());
        if (existing != null) {
            requireSameContainer(existing, request.owner(), attachment, "reserve for");
        }
        long[] picked = pick(s, request, now);
        if (existing != null && existing.state() == LeaseState.RESERVED && existing.owner().equals(request.owner())
                && CniAttachmentKey.sameContainer(existing.attachment(), attachment) && existing.expiresAt().isAfter(now)) {
            // A repeated request (a resend, a runtime retrying its ADD): the open reservation, not a second one
            // that would make the first one's id, which the caller may already hold, unknown.
            return Decision.reply(new PoolProtocol.ReservationMade(s.reservation(existing)));
        }
        String id = spec.name() + "-" + (s.reservationSeq() + 1);
        PoolEvent event = new PoolEvent.Reserved(request.owner(), picked[0], picked[1], id, now,
                now.plus(reservationTimeout), attachment);
        String identity = request.owner().identity();
        return new Decision(List.of(event),
                after -> new PoolProtocol.ReservationMade(after.reservation(after.holding(identity))));
    }

    private Decision allocate(PoolState s, AllocationRequest request, Instant now) {
        long[] picked = pick(s, request, now);
        String identity = request.owner().identity();
        Holding existing = s.holding(identity);
        if (existing != null && existing.state() == LeaseState.ACTIVE && existing.owner().equals(request.owner())) {
            return Decision.reply(new PoolProtocol.LeaseGranted(s.lease(existing))); // a repeated request
        }
        return new Decision(List.of(new PoolEvent.Leased(request.owner(), picked[0], picked[1], now)),
                after -> new PoolProtocol.LeaseGranted(after.lease(after.holding(identity))));
    }

    private Decision commit(PoolState s, String reservationId, Instant now) {
        String identity = s.reservationOwner(reservationId);
        if (identity == null) {
            throw new IpamException(IpamError.UNKNOWN_RESERVATION, "reservation '" + reservationId + "' of pool "
                    + spec.name() + " is unknown: it expired (after " + reservationTimeout.toSeconds()
                    + " s), was committed already, or was never made", "reservationId", reservationId);
        }
        Holding h = s.holding(identity);
        if (!h.expiresAt().isAfter(now)) {
            // Past due but not yet swept: expire it now, in this batch, rather than commit a reservation that is over.
            return new Decision(List.of(new PoolEvent.ReservationExpired(identity, reservationId, now)),
                    after -> new PoolProtocol.Failed(IpamError.UNKNOWN_RESERVATION, "reservation '" + reservationId
                            + "' of pool " + spec.name() + " expired at " + h.expiresAt(), "reservationId", reservationId));
        }
        return new Decision(List.of(new PoolEvent.Committed(identity, reservationId, now)),
                after -> new PoolProtocol.LeaseGranted(after.lease(after.holding(identity))));
    }

    private Decision release(PoolState s, Owner owner, ReleaseMode mode, String attachment, Instant now) {
        String identity = owner.identity();
        Holding h = s.holding(identity);
        if (h == null) {
            return Decision.reply(new PoolProtocol.ReleaseDone(
                    new ReleaseResult(spec.name(), owner, List.of(), ReleaseOutcome.NOT_HELD)));
        }
        if (!owner.uid().isEmpty() && !h.owner().uid().equals(owner.uid())) {
            throw new IpamException(IpamError.NOT_OWNER, owner + " does not hold " + s.addresses(h.v4(), h.v6())
                    + " in pool " + spec.name() + ": " + h.owner() + " does", "owner.uid", owner.uid());
        }
        if (!attachment.isEmpty() && !h.attachment().isEmpty() && !CniAttachmentKey.sameContainer(h.attachment(), attachment)) {
            throw new IpamException(IpamError.NOT_OWNER, "container " + attachment + " does not hold "
                    + s.addresses(h.v4(), h.v6()) + " of " + h.owner() + " in pool " + spec.name() + ": container "
                    + h.attachment() + " does, and only its DEL releases them", "attachment", attachment);
        }
        boolean freed = mode == ReleaseMode.FORGET || !owner.kind().sticky();
        List<InetAddress> addresses = s.addresses(h.v4(), h.v6());
        if (!freed && h.state() == LeaseState.PARKED) {
            return Decision.reply(new PoolProtocol.ReleaseDone(
                    new ReleaseResult(spec.name(), owner, addresses, ReleaseOutcome.KEPT_FOR_IDENTITY)));
        }
        return new Decision(List.of(new PoolEvent.Released(identity, freed, now)),
                after -> new PoolProtocol.ReleaseDone(new ReleaseResult(spec.name(), h.owner(), addresses,
                        freed ? ReleaseOutcome.FREED : ReleaseOutcome.KEPT_FOR_IDENTITY)));
    }

    /**
     * A CNI container may take over what another container of the same owner holds only for a new incarnation (another
     * uid: the old pod is gone, its late DEL must not free the successor's address); within one incarnation the
     * holder's DEL comes first, so a caller cannot re-bind a running pod's address to a container of its own and
     * then release it. Holdings bound to no container (API allocations, parked fixed IPs) are free to take.
     */
    private void requireSameContainer(Holding existing, Owner owner, String attachment, String what) {
        if (attachment.isEmpty() || existing.attachment().isEmpty()
                || CniAttachmentKey.sameContainer(existing.attachment(), attachment)) {
            return;
        }
        boolean newIncarnation = !owner.uid().isEmpty() && !existing.owner().uid().isEmpty()
                && !owner.uid().equals(existing.owner().uid());
        if (!newIncarnation) {
            throw new IpamException(IpamError.NOT_OWNER, "cannot " + what + " " + owner + " from container "
                    + attachment + ": container " + existing.attachment() + " holds its addresses in pool " + spec.name()
                    + " (" + existing.state().name().toLowerCase(java.util.Locale.ROOT)
                    + "); that container's DEL must come first", "attachment", attachment);
        }
    }

    private Decision holder(PoolState s, InetAddress address) {
        boolean v4 = address instanceof Inet4Address;
        Family family = s.family(v4);
        if (family == null || !family.cidr().contains(address)) {
            throw new IpamException(IpamError.INVALID_INPUT, "invalid address '" + LeasedAddress.text(address)
                    + "': is outside pool " + spec.name() + " " + spec.cidrs(), "address", LeasedAddress.text(address));
        }
        long index = family.indexOf(address);
        String identity = index < 0 || !s.used(v4).contains(index) ? null : s.holderOf(v4, index);
        return Decision.reply(new PoolProtocol.HolderFound(identity == null ? List.of()
                : List.of(s.lease(s.holding(identity)))));
    }

    /**
     * From the lowest free {@code index} on, the first free index not freed within the reuse delay; when every free
     * one was, the one freed longest ago (a pool near exhaustion still allocates). Only recently freed indices are
     * skipped, at most {@link Cooling#LIMIT}.
     */
    private long pastReuseDelay(PoolState s, boolean v4, RunSet used, long index, long high, Instant now) {
        Instant cooledEnough = now.minus(reuseDelay);
        long oldest = -1;
        Instant oldestAt = null;
        while (index >= 0) {
            Instant freedAt = s.freedAt(v4, index);
            if (freedAt == null || !freedAt.isAfter(cooledEnough)) {
                return index;
            }
            if (oldestAt == null || freedAt.isBefore(oldestAt)) {
                oldest = index;
                oldestAt = freedAt;
            }
            index = index < high ? used.firstFree(index + 1, high) : -1;
        }
        return oldest;
    }

    private Decision expire(PoolState s, Instant now) {
        List<PoolEvent> events = s.expiredReservations(now).stream()
                .<PoolEvent>map(h -> new PoolEvent.ReservationExpired(h.owner().identity(), h.reservationId(), now))
                .toList();
        return new Decision(events, after -> new PoolProtocol.ExpiredCount(events.size()));
    }

    private Decision reclaim(PoolState s, List<PoolProtocol.ReclaimOrder> orders, String reason, Instant now) {
        List<PoolEvent> events = new ArrayList<>();
        List<ReclaimRecord> records = new ArrayList<>();
        for (PoolProtocol.ReclaimOrder order : orders) {
            Holding h = s.holding(order.identity());
            // Only the lease the survey saw: a new incarnation or a fresh allocation since then is left alone.
            if (h != null && h.state() != LeaseState.RESERVED && h.owner().uid().equals(order.uid())
                    && h.since().equals(order.since())) {
                events.add(new PoolEvent.Reclaimed(h.owner(), h.v4(), h.v6(), now, reason));
                records.add(new ReclaimRecord(spec.name(), h.owner(), s.addresses(h.v4(), h.v6()), now, reason));
            }
        }
        return new Decision(events, after -> new PoolProtocol.ReclaimList(List.copyOf(records)));
    }

    /** The indices {v4, v6} for a request: the owner's fixed IP if it holds one, else a free or the asked-for address. */
    private long[] pick(PoolState s, AllocationRequest request, Instant now) {
        Holding existing = s.holding(request.owner().identity());
        if (existing != null) {
            for (InetAddress asked : request.addresses()) {
                boolean v4 = asked instanceof Inet4Address;
                Family family = s.family(v4);
                long index = family == null ? -1 : family.indexOf(asked);
                if (index != (v4 ? existing.v4() : existing.v6())) {
                    throw new IpamException(IpamError.ADDRESS_IN_USE, request.owner().identity() + " already holds "
                            + s.addresses(existing.v4(), existing.v6()) + " in pool " + spec.name()
                            + "; release it before asking for " + LeasedAddress.text(asked), "request.ip", LeasedAddress.text(asked));
                }
            }
            return new long[]{existing.v4(), existing.v6()};
        }
        for (InetAddress asked : request.addresses()) {
            Family family = s.family(asked instanceof Inet4Address);
            if (family == null || !family.cidr().contains(asked)) {
                throw new IpamException(IpamError.INVALID_INPUT, "invalid request.ip '" + LeasedAddress.text(asked)
                        + "': is outside pool " + spec.name() + " " + spec.cidrs(), "request.ip", LeasedAddress.text(asked));
            }
        }
        for (Cidr range : request.within()) {
            Family family = s.family(range.isIpv4());
            if (family == null || !family.cidr().contains(range)) {
                throw new IpamException(IpamError.INVALID_INPUT, "invalid request.range '" + range
                        + "': is outside pool " + spec.name() + " " + spec.cidrs(), "request.range", range.toString());
            }
        }
        // Pick every family before anything is recorded: a dual-stack request gets both addresses or neither.
        return new long[]{pickFamily(s, true, request, now), pickFamily(s, false, request, now)};
    }

    private long pickFamily(PoolState s, boolean v4, AllocationRequest request, Instant now) {
        Family family = s.family(v4);
        if (family == null) {
            return -1;
        }
        RunSet used = s.used(v4);
        if (request.address(v4).isPresent()) {
            InetAddress asked = request.address(v4).get();
            long index = family.indexOf(asked);
            if (index < 0 || family.blocked().contains(index)) {
                throw new IpamException(IpamError.ADDRESS_IN_USE, LeasedAddress.text(asked) + " is not allocatable in pool "
                        + spec.name() + " (network, broadcast, gateway or excluded address)", "request.ip", LeasedAddress.text(asked));
            }
            String holder = used.contains(index) ? s.holderOf(v4, index) : null;
            if (holder != null || used.contains(index) && !family.reserved().contains(index)) {
                throw new IpamException(IpamError.ADDRESS_IN_USE, LeasedAddress.text(asked) + " in pool " + spec.name()
                        + " is held by " + holder, "request.ip", LeasedAddress.text(asked));
            }
            return index;
        }
        long low = family.first();
        long high = family.last();
        if (request.within(v4).isPresent()) {
            Cidr range = request.within(v4).get();
            BigInteger start = family.cidr().indexOf(range.network());
            low = Math.max(low, start.min(BigInteger.valueOf(Long.MAX_VALUE - 1)).longValueExact());
            high = Math.min(high, start.add(range.size()).subtract(BigInteger.ONE)
                    .min(BigInteger.valueOf(Long.MAX_VALUE - 1)).longValueExact());
        }
        long index = used.firstFree(low, high);
        if (reuseDelay.isPositive()) {
            index = pastReuseDelay(s, v4, used, index, high, now);
        }
        if (index < 0) {
            throw new IpamException(IpamError.POOL_EXHAUSTED, "pool " + spec.name() + " has no free "
                    + (v4 ? "IPv4" : "IPv6") + " address" + request.within(v4).map(r -> " in " + r).orElse("")
                    + " (" + family.cidr() + ")");
        }
        return index;
    }
}
