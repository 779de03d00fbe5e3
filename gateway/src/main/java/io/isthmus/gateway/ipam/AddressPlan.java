package io.isthmus.gateway.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.plan.PlanEnvelope;
import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.ipam.SegmentGuard;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.ipam.plan.PlanConfig;
import io.isthmus.ipam.plan.PlanListener;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanOutput;
import io.isthmus.ipam.plan.PlanTransport;
import io.isthmus.ipam.plan.PlanWire;
import io.isthmus.ipam.plan.SegmentLedger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/**
 * This cluster's side of the clusterset address plan: its segment ledger (one sharded, event-sourced entity per
 * cluster, so exactly one replica speaks for the cluster), the latest plan it published, and the pools' guard
 * answered from it. Without supernets configured there is no plan: pools cannot be created, and every refusal says
 * how to configure one.
 */
public final class AddressPlan implements SegmentGuard {
    private static final Logger LOG = LoggerFactory.getLogger(AddressPlan.class);
    private final ClusterId self;
    private final Optional<EntityRef<SegmentLedger.Command>> ledger;
    private final AtomicReference<Plan> latest;
    private final Duration askTimeout;
    private final Metrics.Counter refused;
    private final Optional<PlanEvidence> evidence;

    private AddressPlan(ClusterId self, Optional<EntityRef<SegmentLedger.Command>> ledger, Duration askTimeout,
                        AtomicReference<Plan> latest, Metrics.Counter refused, Optional<PlanEvidence> evidence) {
        this.self = self;
        this.ledger = ledger;
        this.askTimeout = askTimeout;
        this.latest = latest;
        this.refused = refused;
        this.evidence = evidence;
    }

    /** A cluster without an address plan: every call says how to configure one. */
    public static AddressPlan none(ClusterId self, Duration askTimeout, Metrics metrics) {
        return new AddressPlan(self, Optional.empty(), askTimeout, new AtomicReference<>(), refusedCounter(metrics),
                Optional.empty());
    }

    /**
     * Starts the ledger; {@code transport} carries its messages over peering. Registers
     * {@code isthmus_plan_messages_refused_total{peer, reason}} in {@code metrics}: plan messages (or views in them) a
     * peer sent that were refused and not recorded, counted on the replica hosting the ledger. {@code evidence}
     * checks the signed acknowledgements in what peers send (none where the plan has no peers).
     */
    public static AddressPlan start(ActorSystem<?> system, PlanConfig config, PlanTransport transport,
                                    Optional<PlanEvidence> evidence, Clock clock, Duration askTimeout, Metrics metrics) {
        ClusterId self = config.self();
        Metrics.Counter refused = refusedCounter(metrics);
        ClusterSharding sharding = ClusterSharding.get(system);
        AtomicReference<Plan> latest = new AtomicReference<>();
        PlanListener listener = new PlanListener() {
            @Override
            public void planChanged(Plan plan) {
                latest.set(plan);
            }

            @Override
            public void messageRefused(ClusterId from, PlanOutput.RejectReason reason) {
                refused.inc(from.value(), reason.label());
            }
        };
        sharding.init(Entity.of(SegmentLedger.ENTITY_TYPE_KEY,
                entity -> SegmentLedger.create(config, transport, listener, clock)));
        AddressPlan plan = new AddressPlan(self, Optional.of(
                sharding.entityRefFor(SegmentLedger.ENTITY_TYPE_KEY, self.value())), askTimeout, latest, refused, evidence);
        // Wake the ledger now: it recovers, publishes the plan and starts talking to its peers without a request.
        plan.current();
        return plan;
    }

    private static Metrics.Counter refusedCounter(Metrics metrics) {
        return metrics.counter("isthmus_plan_messages_refused_total",
                "Address-plan messages or views from peers that were refused and not recorded, by peer cluster and "
                        + "reason (malformed, not-a-member, sender-mismatch, foreign-origin, not-a-segment, "
                        + "bad-ack-signature, no-majority-evidence).", "peer", "reason");
    }

    /**
     * A plan message that {@code from} (the cluster of the link's certificate) sent: its signed acknowledgements
     * checked ({@link PlanEvidence}), then to the ledger, which believes it only about {@code from} itself. A message
     * that does not parse, or fails the evidence check, is logged and counted. Ignored when this cluster has no plan.
     */
    public void received(ClusterId from, PlanEnvelope envelope) {
        if (ledger.isEmpty()) {
            return;
        }
        PlanMessage message;
        try {
            message = PlanWire.fromProto(envelope);
        } catch (InvalidFieldException e) {
            refused.inc(from.value(), "malformed");
            LOG.warn("address plan: refused a malformed plan message from {}: {}", from, e.getMessage());
            return;
        }
        PlanEvidence.Checked checked = evidence.orElseThrow(() -> new IllegalStateException(
                "address plan: a message from " + from + " arrived, but this plan was started without evidence checks"))
                .incoming(from, message);
        for (PlanEvidence.Refusal refusal : checked.refusals()) {
            refused.inc(from.value(), refusal.reason());
            LOG.warn("address plan: {}", refusal.detail());
        }
        checked.message().ifPresent(accepted -> ledger.get().tell(SegmentLedger.received(from, accepted)));
    }

    /** The ledger's command for a message a peer sent us; empty when this cluster has no plan. */
    public Optional<EntityRef<SegmentLedger.Command>> ledger() {
        return ledger;
    }

    public boolean configured() {
        return ledger.isPresent();
    }

    /** The plan as the ledger knows it now. */
    public CompletionStage<Plan> current() {
        return withLedger(ref -> ref.ask(SegmentLedger.GetPlan::new, askTimeout));
    }

    /** Claims a segment of {@code kind} (a given CIDR, or the next free one); completes once a majority agreed. */
    public CompletionStage<io.isthmus.ipam.plan.Segment> claim(String kind, String cidr) {
        return withLedger(ref -> ref.<SegmentLedger.ClaimReply>ask(
                replyTo -> new SegmentLedger.ClaimSegment(kind, cidr, replyTo), askTimeout)
                .thenApply(reply -> switch (reply) {
                    case SegmentLedger.SegmentGranted granted -> granted.segment();
                    case SegmentLedger.Rejected rejected -> throw refusal(rejected);
                }));
    }

    /** Records a CIDR this cluster already uses (before the plan), so overlaps with other clusters are reported. */
    public CompletionStage<Void> register(String kind, String cidr) {
        return withLedger(ref -> ref.<SegmentLedger.ChangeReply>ask(
                replyTo -> new SegmentLedger.RegisterCidr(kind, cidr, replyTo), askTimeout)
                .thenApply(reply -> switch (reply) {
                    case SegmentLedger.Done done -> null;
                    case SegmentLedger.Rejected rejected -> throw refusal(rejected);
                }));
    }

    /** Withdraws a registration of this cluster; every peer forgets it with this cluster's next view. */
    public CompletionStage<Void> unregister(String kind, String cidr) {
        return withLedger(ref -> ref.<SegmentLedger.ChangeReply>ask(
                replyTo -> new SegmentLedger.UnregisterCidr(kind, cidr, replyTo), askTimeout)
                .thenApply(reply -> switch (reply) {
                    case SegmentLedger.Done done -> null;
                    case SegmentLedger.Rejected rejected -> throw refusal(rejected);
                }));
    }

    @Override
    public CompletionStage<SegmentDecision> check(ClusterId cluster, Cidr cidr) {
        if (ledger.isEmpty()) {
            return CompletableFuture.completedFuture(new Refused("cluster " + self + " has no address plan: "
                    + "configure isthmus.plan (members and supernets) and claim a segment first"));
        }
        Plan known = latest.get();
        CompletionStage<Plan> plan = known != null ? CompletableFuture.completedFuture(known) : current();
        return plan.thenApply(p -> p.whyNotHeld(cluster, cidr).<SegmentDecision>map(Refused::new).orElse(new Allowed()));
    }

    private <T> CompletionStage<T> withLedger(java.util.function.Function<EntityRef<SegmentLedger.Command>, CompletionStage<T>> call) {
        if (ledger.isEmpty()) {
            return CompletableFuture.failedFuture(new IpamException(IpamError.INVALID_INPUT, "cluster " + self
                    + " has no address plan: configure isthmus.plan (members and supernets)", "isthmus.plan", ""));
        }
        return call.apply(ledger.get());
    }

    private static IpamException refusal(SegmentLedger.Rejected rejected) {
        // A refusal without a field is the clusterset's answer (no majority reachable, lost to an earlier claim).
        return new IpamException(rejected.field().isEmpty() ? IpamError.UNAVAILABLE : IpamError.INVALID_INPUT,
                rejected.reason(), rejected.field(), rejected.value());
    }
}
