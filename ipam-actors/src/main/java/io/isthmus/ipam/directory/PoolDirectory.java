package io.isthmus.ipam.directory;

import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.ipam.IpamSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The pools of one cluster (one sharded, event-sourced entity per cluster id): names are unique and no two pools
 * share an address. A pool exists once its registration is in this journal, and only then; the pool entity reads
 * its spec from here, so a crash between the two leaves nothing half-made.
 */
public final class PoolDirectory
        extends EventSourcedBehaviorWithEnforcedReplies<PoolDirectory.Command, PoolDirectory.Event, PoolDirectory.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "IpamPoolDirectory");

    public sealed interface Command extends IpamSerializable {
    }

    /** Adds a pool; the same spec again is acknowledged without a change. */
    public record Register(PoolSpec spec, ActorRef<Reply> replyTo) implements Command {
    }

    public record Lookup(String name, ActorRef<Reply> replyTo) implements Command {
    }

    public record ListPools(ActorRef<Reply> replyTo) implements Command {
    }

    /**
     * Removes the pool {@code name} if its current incarnation is {@code incarnation} (a late resend cannot remove a
     * pool created again since); replies {@link Unregistered}, also when there was nothing to remove.
     */
    public record Unregister(String name, long incarnation, ActorRef<Reply> replyTo) implements Command {
    }

    public sealed interface Reply extends IpamSerializable {
    }

    public record Registered(PoolSpec spec, boolean created) implements Reply {
    }

    public record Refused(IpamError error, String message) implements Reply {
    }

    /** {@code incarnation}: how often a pool of that name was deleted before this one; its journal is its own. */
    public record Found(Optional<PoolSpec> spec, long incarnation) implements Reply {
    }

    public record Unregistered(String name, boolean removed) implements Reply {
    }

    public record Pools(List<PoolSpec> pools) implements Reply {
    }

    public sealed interface Event extends IpamSerializable {
    }

    public record PoolRegistered(PoolSpec spec, Instant at) implements Event {
    }

    /** The pool was deleted (its ledger retired first); the next pool of that name is the next incarnation. */
    public record PoolUnregistered(String name, long incarnation, Instant at) implements Event {
    }

    /**
     * The pools in the order they were created; {@code deletions}: per name, how many pools of it were deleted
     * (snapshots of older releases lack it: the journal schema's upgrader gives them none, see IpamSchema).
     */
    public record State(List<PoolSpec> pools, java.util.Map<String, Long> deletions) implements IpamSerializable {
        public State {
            pools = List.copyOf(pools);
            deletions = java.util.Map.copyOf(deletions);
        }

        public long incarnation(String name) {
            return deletions.getOrDefault(name, 0L);
        }

        State without(String name) {
            List<PoolSpec> next = new ArrayList<>(pools);
            next.removeIf(p -> p.name().equals(name));
            java.util.Map<String, Long> counts = new java.util.HashMap<>(deletions);
            counts.merge(name, 1L, Long::sum);
            return new State(next, counts);
        }

        Optional<PoolSpec> find(String name) {
            return pools.stream().filter(p -> p.name().equals(name)).findFirst();
        }

        State with(PoolSpec spec) {
            List<PoolSpec> next = new ArrayList<>(pools);
            next.add(spec);
            return new State(next, deletions);
        }
    }

    private final java.time.Clock clock;

    private PoolDirectory(String clusterId, java.time.Clock clock) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), clusterId));
        this.clock = clock;
    }

    public static Behavior<Command> create(String clusterId, java.time.Clock clock) {
        return new PoolDirectory(clusterId, clock);
    }

    @Override
    public State emptyState() {
        return new State(List.of(), java.util.Map.of());
    }

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        return (state, command) -> switch (command) {
            case Register(PoolSpec spec, ActorRef<Reply> replyTo) -> onRegister(state, spec, replyTo);
            case Lookup(String name, ActorRef<Reply> replyTo) ->
                    Effect().reply(replyTo, new Found(state.find(name), state.incarnation(name)));
            case ListPools(ActorRef<Reply> replyTo) -> Effect().reply(replyTo, new Pools(state.pools()));
            case Unregister(String name, long incarnation, ActorRef<Reply> replyTo) ->
                    state.find(name).isEmpty() || state.incarnation(name) != incarnation
                            ? Effect().reply(replyTo, new Unregistered(name, false))
                            : Effect().persist(new PoolUnregistered(name, incarnation, clock.instant()))
                                    .thenReply(replyTo, next -> new Unregistered(name, true));
        };
    }

    private ReplyEffect<Event, State> onRegister(State state, PoolSpec spec, ActorRef<Reply> replyTo) {
        Optional<PoolSpec> existing = state.find(spec.name());
        if (existing.isPresent()) {
            return existing.get().equals(spec) ? Effect().reply(replyTo, new Registered(spec, false))
                    : Effect().reply(replyTo, new Refused(IpamError.POOL_EXISTS, "pool " + spec.name()
                    + " exists already with another spec: " + existing.get().cidrs()));
        }
        for (PoolSpec other : state.pools()) {
            if (other.overlaps(spec)) {
                return Effect().reply(replyTo, new Refused(IpamError.POOL_OVERLAPS, "pool " + spec.name() + " "
                        + spec.cidrs() + " overlaps pool " + other.name() + " " + other.cidrs()));
            }
        }
        return Effect().persist(new PoolRegistered(spec, clock.instant()))
                .thenReply(replyTo, next -> new Registered(spec, true));
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return (state, event) -> switch (event) {
            case PoolRegistered(PoolSpec spec, Instant at) -> state.with(spec);
            case PoolUnregistered(String name, long incarnation, Instant at) -> state.without(name);
        };
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(100, 2);
    }
}
