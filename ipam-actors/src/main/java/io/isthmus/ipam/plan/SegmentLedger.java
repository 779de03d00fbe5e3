package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.ipam.plan.PlanLedger.Step;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.ContestClaim;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EffectBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * One cluster's segment ledger as an event-sourced entity (persistence id {@code SegmentLedger|<cluster>}): it
 * runs every command through the pure {@link PlanLedger}, persists the events (acks given, claims held, views of
 * the others: all of them, since the state is their fold), and only then sends the messages through the
 * {@link PlanTransport} and answers the requester. Inbound peer messages arrive as commands
 * ({@link #received}). Timers retransmit unanswered proposals and fail overdue requests
 * ({@code retransmit-interval}) and gossip the views ({@code gossip-interval}).
 *
 * <p>No snapshots: the journal holds a few events per claim and per change of another cluster's view, and the
 * state keeps parsed CIDRs that are not meant for Jackson.
 */
public final class SegmentLedger
        extends EventSourcedBehaviorWithEnforcedReplies<SegmentLedger.Command, PlanEvent, PlanState> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "SegmentLedger");

    public sealed interface Command {
    }

    /** Claim a segment of {@code kind} (pod, service, underlay, global): {@code cidr}, or any free one if empty. */
    public record ClaimSegment(String kind, String cidr, ActorRef<ClaimReply> replyTo) implements Command {
    }

    public record ReleaseSegment(String cidr, ActorRef<ChangeReply> replyTo) implements Command {
    }

    /** A CIDR this cluster already uses (pod, service or underlay). */
    public record RegisterCidr(String kind, String cidr, ActorRef<ChangeReply> replyTo) implements Command {
    }

    /** Withdraw a registration of this cluster (the CIDR is no longer in use here). */
    public record UnregisterCidr(String kind, String cidr, ActorRef<ChangeReply> replyTo) implements Command {
    }

    public record GetPlan(ActorRef<Plan> replyTo) implements Command {
    }

    /** The pools' guard: may {@code cluster} create a pool on {@code cidr}? */
    public record CheckPoolRange(ClusterId cluster, String cidr, ActorRef<PoolRangeVerdict> replyTo) implements Command {
    }

    public record ProposalReceived(ClusterId from, ProposeClaim message) implements Command {
    }

    public record AnswerReceived(ClusterId from, ClaimAnswer message) implements Command {
    }

    public record ContestReceived(ClusterId from, ContestClaim message) implements Command {
    }

    public record SnapshotReceived(ClusterId from, LedgerSnapshot message) implements Command {
    }

    /** The peering link to {@code peer} came (back) up. */
    public record PeerConnected(ClusterId peer) implements Command {
    }

    private enum Tick implements Command { INSTANCE }

    private enum GossipTick implements Command { INSTANCE }

    public sealed interface ClaimReply {
    }

    public sealed interface ChangeReply {
    }

    public record SegmentGranted(Segment segment) implements ClaimReply {
    }

    /** Nothing changed. {@code field} and {@code value} name bad input; both are empty when the input was fine. */
    public record Rejected(String field, String value, String reason) implements ClaimReply, ChangeReply {
        static Rejected of(InvalidFieldException e) {
            return new Rejected(e.field(), e.value(), e.getMessage());
        }
    }

    public enum Done implements ChangeReply { INSTANCE }

    /** {@code reason} is empty when allowed. */
    public record PoolRangeVerdict(boolean allowed, String reason) {
    }

    /** The command for a plan message {@code from} a peer. */
    public static Command received(ClusterId from, PlanMessage message) {
        return switch (message) {
            case ProposeClaim m -> new ProposalReceived(from, m);
            case ClaimAnswer m -> new AnswerReceived(from, m);
            case ContestClaim m -> new ContestReceived(from, m);
            case LedgerSnapshot m -> new SnapshotReceived(from, m);
        };
    }

    private final PlanConfig config;
    private final PlanTransport transport;
    private final PlanListener listener;
    private final Clock clock;
    private final ActorContext<Command> context;
    /** Who waits for which request. Not state: a restart forgets the waiters (their asks time out), not the claim. */
    private final Map<String, ActorRef<ClaimReply>> waiters = new HashMap<>();

    private SegmentLedger(PlanConfig config, PlanTransport transport, PlanListener listener, Clock clock,
                          ActorContext<Command> context) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), config.self().value()));
        this.config = config;
        this.transport = transport;
        this.listener = listener;
        this.clock = clock;
        this.context = context;
    }

    public static Behavior<Command> create(PlanConfig config, PlanTransport transport, PlanListener listener, Clock clock) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            startTimers(timers, config.retransmitInterval(), config.gossipInterval());
            return new SegmentLedger(config, transport, listener, clock, context);
        }));
    }

    private static void startTimers(TimerScheduler<Command> timers, Duration retransmit, Duration gossip) {
        timers.startTimerWithFixedDelay(Tick.INSTANCE, Tick.INSTANCE, retransmit);
        timers.startTimerWithFixedDelay(GossipTick.INSTANCE, GossipTick.INSTANCE, gossip);
    }

    @Override
    public PlanState emptyState() {
        return PlanState.initial(config);
    }

    @Override
    public CommandHandlerWithReply<Command, PlanEvent, PlanState> commandHandler() {
        return (state, command) -> switch (command) {
            case ClaimSegment(String kind, String cidr, ActorRef<ClaimReply> replyTo) -> onClaim(state, kind, cidr, replyTo);
            case ReleaseSegment(String cidr, ActorRef<ChangeReply> replyTo) ->
                    change(state, new PlanInput.ReleaseSegment(cidr), replyTo);
            case RegisterCidr(String kind, String cidr, ActorRef<ChangeReply> replyTo) ->
                    change(state, new PlanInput.RegisterCidr(kind, cidr), replyTo);
            case UnregisterCidr(String kind, String cidr, ActorRef<ChangeReply> replyTo) ->
                    change(state, new PlanInput.UnregisterCidr(kind, cidr), replyTo);
            case GetPlan(ActorRef<Plan> replyTo) -> Effect().reply(replyTo, state.plan());
            case CheckPoolRange(ClusterId cluster, String cidr, ActorRef<PoolRangeVerdict> replyTo) ->
                    Effect().reply(replyTo, verdict(state, cluster, cidr));
            case ProposalReceived(ClusterId from, ProposeClaim message) -> deliver(state, from, message);
            case AnswerReceived(ClusterId from, ClaimAnswer message) -> deliver(state, from, message);
            case ContestReceived(ClusterId from, ContestClaim message) -> deliver(state, from, message);
            case SnapshotReceived(ClusterId from, LedgerSnapshot message) -> deliver(state, from, message);
            case PeerConnected(ClusterId peer) -> run(state, new PlanInput.PeerConnected(peer));
            case Tick tick -> run(state, new PlanInput.Tick(clock.millis()));
            case GossipTick tick -> run(state, PlanInput.Gossip.INSTANCE);
        };
    }

    private ReplyEffect<PlanEvent, PlanState> onClaim(PlanState state, String kind, String cidr, ActorRef<ClaimReply> replyTo) {
        String requestId = UUID.randomUUID().toString();
        Step step;
        try {
            step = PlanLedger.step(state, new PlanInput.RequestSegment(requestId, kind, cidr, clock.millis()));
        } catch (InvalidFieldException e) {
            return Effect().reply(replyTo, Rejected.of(e));
        }
        waiters.put(requestId, replyTo);
        return effect(step).thenNoReply();
    }

    private ReplyEffect<PlanEvent, PlanState> change(PlanState state, PlanInput input, ActorRef<ChangeReply> replyTo) {
        Step step;
        try {
            step = PlanLedger.step(state, input);
        } catch (InvalidFieldException e) {
            return Effect().reply(replyTo, Rejected.of(e));
        }
        return effect(step).thenReply(replyTo, next -> Done.INSTANCE);
    }

    private ReplyEffect<PlanEvent, PlanState> deliver(PlanState state, ClusterId from, PlanMessage message) {
        return run(state, new PlanInput.Deliver(from, message, clock.millis()));
    }

    private ReplyEffect<PlanEvent, PlanState> run(PlanState state, PlanInput input) {
        return effect(PlanLedger.step(state, input)).thenNoReply();
    }

    private EffectBuilder<PlanEvent, PlanState> effect(Step step) {
        if (step.events().isEmpty()) {
            return Effect().none().thenRun(next -> dispatch(step.outputs()));
        }
        return Effect().persist(step.events()).thenRun(next -> {
            dispatch(step.outputs());
            listener.planChanged(next.plan());
        });
    }

    /** Runs once the step's events are durable: nothing leaves before the facts it rests on are stored. */
    private void dispatch(List<PlanOutput> outputs) {
        for (PlanOutput output : outputs) {
            switch (output) {
                case PlanOutput.Send(ClusterId to, PlanMessage message) -> transport.send(to, message);
                case PlanOutput.SendToAll(PlanMessage message) -> transport.sendToAll(message);
                case PlanOutput.Granted(String requestId, Segment segment) -> {
                    context.getLog().info("address plan: {} now holds {} segment {}", segment.holder(),
                            segment.kind().label(), segment.cidr());
                    Optional.ofNullable(waiters.remove(requestId)).ifPresent(w -> w.tell(new SegmentGranted(segment)));
                }
                case PlanOutput.Refused(String requestId, String reason) -> {
                    context.getLog().info("address plan: request {} failed: {}", requestId, reason);
                    Optional.ofNullable(waiters.remove(requestId)).ifPresent(w -> w.tell(new Rejected("", "", reason)));
                }
                case PlanOutput.Warning(String text) -> context.getLog().warn("address plan: {}", text);
                case PlanOutput.Rejected(ClusterId from, PlanOutput.RejectReason reason, String detail) -> {
                    context.getLog().warn("address plan: refused from {} ({}): {}", from, reason.label(), detail);
                    listener.messageRefused(from, reason);
                }
            }
        }
    }

    private static PoolRangeVerdict verdict(PlanState state, ClusterId cluster, String cidr) {
        try {
            Optional<String> why = state.whyNotHeld(cluster, Cidr.parse("cidr", cidr));
            return new PoolRangeVerdict(why.isEmpty(), why.orElse(""));
        } catch (InvalidFieldException e) {
            return new PoolRangeVerdict(false, e.getMessage());
        }
    }

    @Override
    public EventHandler<PlanState, PlanEvent> eventHandler() {
        return PlanState::apply;
    }

    @Override
    public SignalHandler<PlanState> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), state -> {
            listener.planChanged(state.plan());
            // Tell everyone where we stand (they may have missed our last changes while we were down).
            dispatch(PlanLedger.step(state, PlanInput.Gossip.INSTANCE).outputs());
        }).build();
    }
}
