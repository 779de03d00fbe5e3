package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.ipam.plan.PlanEvent.AckGiven;
import io.isthmus.ipam.plan.PlanEvent.AckReceived;
import io.isthmus.ipam.plan.PlanEvent.CidrRegistered;
import io.isthmus.ipam.plan.PlanEvent.CidrUnregistered;
import io.isthmus.ipam.plan.PlanEvent.ClaimHeld;
import io.isthmus.ipam.plan.PlanEvent.ClaimStarted;
import io.isthmus.ipam.plan.PlanEvent.ClaimWithdrawn;
import io.isthmus.ipam.plan.PlanEvent.RequestFailed;
import io.isthmus.ipam.plan.PlanEvent.RequestOpened;
import io.isthmus.ipam.plan.PlanEvent.SegmentReleased;
import io.isthmus.ipam.plan.PlanEvent.ViewMerged;
import io.isthmus.ipam.plan.PlanInput.Deliver;
import io.isthmus.ipam.plan.PlanInput.Gossip;
import io.isthmus.ipam.plan.PlanInput.PeerConnected;
import io.isthmus.ipam.plan.PlanInput.RegisterCidr;
import io.isthmus.ipam.plan.PlanInput.UnregisterCidr;
import io.isthmus.ipam.plan.PlanInput.ReleaseSegment;
import io.isthmus.ipam.plan.PlanInput.RequestSegment;
import io.isthmus.ipam.plan.PlanInput.Tick;
import io.isthmus.ipam.plan.PlanMessage.BlockerStatus;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.ContestClaim;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;
import io.isthmus.ipam.plan.PlanMessage.ProposeClaim;
import io.isthmus.ipam.plan.PlanMessage.Refusal;
import io.isthmus.ipam.plan.PlanOutput.Granted;
import io.isthmus.ipam.plan.PlanOutput.Refused;
import io.isthmus.ipam.plan.PlanOutput.RejectReason;
import io.isthmus.ipam.plan.PlanOutput.Rejected;
import io.isthmus.ipam.plan.PlanOutput.Send;
import io.isthmus.ipam.plan.PlanOutput.SendToAll;
import io.isthmus.ipam.plan.PlanOutput.Warning;
import io.isthmus.ipam.plan.PlanState.KnownView;
import io.isthmus.ipam.plan.PlanState.OpenRequest;
import io.isthmus.ipam.plan.PlanState.OwnClaim;
import io.isthmus.ipam.plan.PlanState.Placed;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The address-plan protocol as a pure, deterministic state machine: {@link #step} takes a state and an input and
 * returns the events that happened (fold them with {@link PlanState#apply} to get the next state; the step
 * already did) and the messages and results to hand out once those events are durable. No clocks, no I/O: time
 * comes in with the inputs. See {@code ipam-actors/PLAN.md} for the protocol and why it is safe.
 *
 * <p>Bad local input (a malformed CIDR, a kind we do not know or have no supernet for) throws
 * {@link InvalidFieldException} before anything happened. Bad peer input is dropped with a {@link Warning}.
 */
public final class PlanLedger {

    /** The result of one input: the next state, the events that lead there, and what to send or answer. */
    public record Step(PlanState state, List<PlanEvent> events, List<PlanOutput> outputs) {
        public Step {
            events = List.copyOf(events);
            outputs = List.copyOf(outputs);
        }
    }

    private PlanLedger() {
    }

    public static Step step(PlanState state, PlanInput input) {
        Transaction tx = new Transaction(state);
        switch (input) {
            case RequestSegment request -> tx.request(request);
            case ReleaseSegment release -> tx.release(release);
            case RegisterCidr register -> tx.register(register);
            case UnregisterCidr unregister -> tx.unregister(unregister);
            case Deliver(ClusterId from, PlanMessage message, long now) -> tx.deliver(from, message, now);
            case Tick(long now) -> tx.tick(now);
            case Gossip gossip -> tx.gossip();
            case PeerConnected(ClusterId peer) -> tx.peerConnected(peer);
        }
        return tx.finish();
    }

    /** What stands in the way of a range. {@code claim} is null for a range an earlier attempt lost to. */
    record Blocker(Claim claim, BlockerStatus status, Cidr range) {
        String describe() {
            if (claim == null) {
                return range + " (an earlier claim lost to it)";
            }
            return switch (status) {
                case HELD -> claim.kind().label() + " segment " + claim.cidr() + " held by " + claim.claimant();
                case PENDING -> claim.kind().label() + " " + claim.cidr() + " claimed by " + claim.claimant()
                        + " (claim " + claim.id() + ", not yet acknowledged by a majority)";
                case REGISTERED -> claim.kind().label() + " CIDR " + claim.cidr() + " registered by " + claim.claimant()
                        + " as already in use";
            };
        }
    }

    /** One step in the making: every event is applied at once, so later decisions in the step see it. */
    private static final class Transaction {
        private PlanState state;
        private final long versionBefore;
        private final List<PlanEvent> events = new ArrayList<>();
        private final List<PlanOutput> outputs = new ArrayList<>();

        Transaction(PlanState state) {
            this.state = state;
            this.versionBefore = state.version();
        }

        private PlanConfig config() {
            return state.config();
        }

        private ClusterId self() {
            return state.self();
        }

        private void emit(PlanEvent event) {
            events.add(event);
            state = state.apply(event);
        }

        private void out(PlanOutput output) {
            outputs.add(output);
        }

        Step finish() {
            if (state.version() != versionBefore && !config().peers().isEmpty()) {
                // Our own view changed: tell everyone (this is how held, withdrawn and released claims travel).
                out(new SendToAll(new LedgerSnapshot(self(), List.of(state.ownView()))));
            }
            return new Step(state, events, outputs);
        }

        // ---- local requests ------------------------------------------------------------------------------------

        void request(RequestSegment request) {
            SegmentKind kind = SegmentKind.parse("kind", request.kind());
            if (config().supernets(kind).isEmpty()) {
                throw new InvalidFieldException("kind", request.kind(), "no supernet is configured for "
                        + kind.label() + " segments (plan.supernets." + kind.label() + ")");
            }
            if (state.request(request.requestId()).isPresent()) {
                return; // the same request again: it is under way
            }
            Cidr specific = null;
            if (!request.cidr().isEmpty()) {
                specific = Cidr.parse("cidr", request.cidr());
                if (config().supernetWithSegment(kind, specific).isEmpty()) {
                    throw new InvalidFieldException("cidr", request.cidr(), "is not a " + kind.label()
                            + " segment; " + kind.label() + " segments are " + supernets(kind));
                }
                if (state.ownHeldWith(specific).isPresent()) {
                    out(new Granted(request.requestId(), new Segment(self(), kind, specific.toString())));
                    return;
                }
                if (ownQuotaReached(request.requestId(), kind)) {
                    return;
                }
                List<Blocker> blockers = choiceBlockers(specific, List.of());
                if (!blockers.isEmpty()) {
                    out(new Refused(request.requestId(), specific + " overlaps " + blockers.getFirst().describe()));
                    return;
                }
            } else if (ownQuotaReached(request.requestId(), kind)) {
                return;
            } else if (chooseFree(kind, List.of()).isEmpty()) {
                out(new Refused(request.requestId(), "no free " + kind.label() + " segment is left in " + supernets(kind)));
                return;
            }
            emit(new RequestOpened(request.requestId(), kind, specific == null ? "" : specific.toString(),
                    request.now() + config().claimTimeout().toMillis(), false));
            tryClaim(state.request(request.requestId()).orElseThrow(), request.now());
        }

        void release(ReleaseSegment release) {
            Cidr range = Cidr.parse("cidr", release.cidr());
            OwnClaim held = state.ownHeldWith(range).orElseThrow(() -> new InvalidFieldException("cidr", release.cidr(),
                    self() + " holds no such segment (" + holdings() + ")"));
            emit(new SegmentReleased(held.claim().id()));
        }

        void register(RegisterCidr register) {
            SegmentKind kind = SegmentKind.parse("kind", register.kind());
            Cidr range = Cidr.parse("cidr", register.cidr());
            Registration registration = new Registration(kind, range.toString());
            if (state.registrations().contains(registration)) {
                return;
            }
            Optional<String> outOfBounds = config().registrations().problem(range);
            if (outOfBounds.isPresent()) {
                throw new InvalidFieldException("cidr", register.cidr(), outOfBounds.get());
            }
            // A registration admits this cluster's endpoints in it everywhere: never over another cluster's segment.
            Optional<Placed> taken = state.allHeld()
                    .filter(h -> !h.claim().claimant().equals(self()) && h.range().overlaps(range)).findFirst();
            if (taken.isPresent()) {
                throw new InvalidFieldException("cidr", register.cidr(), "overlaps "
                        + new Blocker(taken.get().claim(), BlockerStatus.HELD, taken.get().range()).describe());
            }
            emit(new CidrRegistered(registration));
            state.overlaps().stream()
                    .filter(o -> o.involves(self()) && (o.firstCidr().equals(registration.cidr()) || o.secondCidr().equals(registration.cidr())))
                    .forEach(o -> out(new Warning(o.describe())));
        }

        void unregister(UnregisterCidr unregister) {
            SegmentKind kind = SegmentKind.parse("kind", unregister.kind());
            Registration registration = new Registration(kind, Cidr.parse("cidr", unregister.cidr()).toString());
            if (!state.registrations().contains(registration)) {
                throw new InvalidFieldException("cidr", unregister.cidr(), self() + " has no " + kind.label()
                        + " registration " + registration.cidr() + " (registered: " + (state.registrations().isEmpty()
                        ? "none" : state.registrations().stream().map(Registration::toString).collect(Collectors.joining(", "))) + ")");
            }
            emit(new CidrUnregistered(registration));
        }

        // ---- time ----------------------------------------------------------------------------------------------

        void tick(long now) {
            for (OpenRequest request : state.requests()) {
                if (request.deadline() <= now) {
                    failRequest(request, timeoutReason(request), now);
                }
            }
            for (OwnClaim mine : state.ownPending()) {
                for (ClusterId peer : config().peers()) {
                    if (!mine.acks().contains(peer)) {
                        out(new Send(peer, propose(mine.claim())));
                    }
                }
            }
            maybeRequestGlobal(now);
        }

        void gossip() {
            // Only our own view: a cluster's view is accepted only from that cluster (see onSnapshot).
            if (!config().peers().isEmpty()) {
                out(new SendToAll(new LedgerSnapshot(self(), List.of(state.ownView()))));
            }
        }

        void peerConnected(ClusterId peer) {
            if (!config().peers().contains(peer)) {
                out(new Warning(peer + " connected but is not a member of the clusterset (members: "
                        + PlanState.names(config().members()) + ")"));
                return;
            }
            // Our view, and what we know of the peer's own: that echo lets a peer whose journal was lost notice it.
            List<ClusterView> views = new ArrayList<>();
            views.add(state.ownView());
            state.knownView(peer).ifPresent(k -> views.add(k.view()));
            out(new Send(peer, new LedgerSnapshot(self(), views)));
            for (OwnClaim mine : state.ownPending()) {
                if (!mine.acks().contains(peer)) {
                    out(new Send(peer, propose(mine.claim())));
                }
            }
        }

        // ---- messages ------------------------------------------------------------------------------------------

        void deliver(ClusterId from, PlanMessage message, long now) {
            if (!config().peers().contains(from)) {
                out(new Rejected(from, RejectReason.NOT_A_MEMBER, "ignored a plan message from " + from
                        + ", which is not a peer (members: " + PlanState.names(config().members()) + ")"));
                return;
            }
            switch (message) {
                case ProposeClaim propose -> onPropose(from, propose, now);
                case ClaimAnswer answer -> onAnswer(from, answer, now);
                case ContestClaim contest -> onContest(from, contest, now);
                case LedgerSnapshot snapshot -> onSnapshot(from, snapshot, now);
            }
        }

        /** As an acceptor. */
        private void onPropose(ClusterId from, ProposeClaim propose, long now) {
            Claim claim = propose.claim();
            if (!claim.claimant().equals(from)) {
                out(new Rejected(from, RejectReason.SENDER_MISMATCH, from + " proposed a claim of " + claim.claimant() + "; ignored"));
                return;
            }
            Optional<String> notASegment = notASegment(claim);
            if (notASegment.isPresent()) {
                out(new Rejected(from, RejectReason.NOT_A_SEGMENT, from + " proposed claim " + claim.id() + ": "
                        + notASegment.get() + "; refused"));
                out(new Send(from, ClaimAnswer.refused(claim.id(), self(), Refusal.NOT_A_SEGMENT,
                        notASegment.get(), null, null)));
                return;
            }
            if (!new TreeSet<>(propose.members()).equals(config().members())) {
                out(new Send(from, ClaimAnswer.refused(claim.id(), self(), Refusal.MEMBERS_DIFFER,
                        from + " counts the clusterset as [" + PlanState.names(propose.members()) + "], "
                                + self() + " as [" + PlanState.names(config().members()) + "]", null, null)));
                return;
            }
            Optional<KnownView> claimantView = state.knownView(from);
            if (claimantView.isPresent() && claimantView.get().view().provesOver(claim.id())) {
                return; // a late copy of a claim that is over: acknowledging it would lock its range for nothing
            }
            if (state.hasAcknowledged(claim.id())) {
                out(new Send(from, ClaimAnswer.acknowledged(claim, self())));
                return;
            }
            long segments = segmentsOf(from, claim.kind());
            if (segments >= config().maxSegmentsPerMember()) {
                String detail = from + " holds or claims " + segments + " " + claim.kind().label() + " segments already "
                        + "(plan.max-segments-per-member = " + config().maxSegmentsPerMember() + ")";
                out(new Rejected(from, RejectReason.SEGMENT_QUOTA, from + " proposed claim " + claim.id() + " for "
                        + claim.cidr() + ": " + detail + "; refused"));
                out(new Send(from, ClaimAnswer.refused(claim.id(), self(), Refusal.SEGMENT_QUOTA, detail, null, null)));
                return;
            }
            Cidr range = claim.range();
            // Our own pending claims that this one beats give way first, so we can acknowledge it at once.
            for (OwnClaim mine : state.ownPending()) {
                if (mine.placed().range().overlaps(range) && claim.beats(mine.claim()) && state.ownClaim(mine.claim().id()).isPresent()) {
                    withdrawAndRetry(mine, "the earlier claim " + claim.id() + " of " + from + " for " + claim.cidr()
                            + " wins", range, now);
                }
            }
            List<Blocker> blockers = blockers(claim.id(), from, range, false);
            if (blockers.isEmpty()) {
                emit(new AckGiven(claim));
                out(new Send(from, ClaimAnswer.acknowledged(claim, self())));
                return;
            }
            Blocker strongest = blockers.stream().filter(b -> b.status() != BlockerStatus.PENDING).findFirst()
                    .orElseGet(() -> blockers.stream().min(Comparator.comparing(Blocker::claim, Claim.PRIORITY)).orElseThrow());
            out(new Send(from, ClaimAnswer.refused(claim.id(), self(), Refusal.CONFLICT,
                    claim.cidr() + " overlaps " + strongest.describe(), strongest.claim(), strongest.status())));
            for (Blocker blocker : blockers) {
                // A later pending claim holds our ack: its claimant must give way, or the earlier one never gets a majority.
                if (blocker.status() == BlockerStatus.PENDING && claim.beats(blocker.claim())
                        && !blocker.claim().claimant().equals(self())) {
                    out(new Send(blocker.claim().claimant(), new ContestClaim(blocker.claim().id(), claim)));
                }
            }
        }

        /** As a claimant. */
        private void onAnswer(ClusterId from, ClaimAnswer answer, long now) {
            if (!answer.acceptor().equals(from)) {
                out(new Rejected(from, RejectReason.SENDER_MISMATCH, from + " answered for " + answer.acceptor() + "; ignored"));
                return;
            }
            OwnClaim mine = state.ownClaim(answer.claim()).orElse(null);
            if (mine == null || mine.held()) {
                return; // late: the claim is held already, or over
            }
            if (answer.acknowledged()) {
                if (answer.acknowledgedClaim() != null && !answer.acknowledgedClaim().equals(mine.claim())) {
                    out(new Warning(from + " acknowledged " + answer.acknowledgedClaim() + " as claim "
                            + mine.claim().id() + ", which is " + mine.claim() + "; ignored"));
                    return;
                }
                if (!mine.acks().contains(from)) {
                    emit(new AckReceived(mine.claim().id(), from, answer.signature()));
                    maybeHeld(mine.claim().id());
                }
                return;
            }
            if (answer.refusal() != Refusal.CONFLICT || answer.blocker() == null) {
                out(new Warning(from + " refused claim " + mine.claim().id() + " for " + mine.claim().cidr() + ": "
                        + answer.refusal() + (answer.detail() == null ? "" : " (" + answer.detail() + ")")));
                return;
            }
            Claim blocker = answer.blocker();
            Cidr blockerRange = blocker.range();
            if (!blockerRange.overlaps(mine.placed().range())) {
                out(new Warning(from + " refused claim " + mine.claim().id() + " citing " + blocker + ", which does not overlap it"));
                return;
            }
            BlockerStatus status = answer.blockerStatus() == null ? BlockerStatus.PENDING : answer.blockerStatus();
            if (status != BlockerStatus.REGISTERED && blocker.claimant().equals(self())
                    && state.ownClaim(blocker.id()).isEmpty()) {
                // The acceptor still holds an ack for one of our claims that is over: it missed our view.
                out(new Send(from, new LedgerSnapshot(self(), List.of(state.ownView()))));
                return;
            }
            if (status != BlockerStatus.PENDING || blocker.beats(mine.claim())) {
                withdrawAndRetry(mine, mine.claim().cidr() + " overlaps " + new Blocker(blocker, status, blockerRange).describe(),
                        blockerRange, now);
            }
        }

        private void onContest(ClusterId from, ContestClaim contest, long now) {
            OwnClaim mine = state.ownClaim(contest.contested()).orElse(null);
            if (mine == null || mine.held()) {
                return; // held claims are never taken away; the earlier one will be refused as overlapping a held segment
            }
            Claim earlier = contest.earlier();
            if (!earlier.range().overlaps(mine.placed().range()) || !earlier.beats(mine.claim())) {
                out(new Warning(from + " contested claim " + mine.claim().id() + " with " + earlier + ", which does not beat it"));
                return;
            }
            withdrawAndRetry(mine, "the earlier claim " + earlier.id() + " of " + earlier.claimant() + " for "
                    + earlier.cidr() + " wins", earlier.range(), now);
        }

        /**
         * Views are origin-bound: a view of cluster X is merged only when X itself sent it (the transport
         * authenticated {@code from}). A view of a third cluster is refused, never relayed on trust: one member could
         * otherwise speak for another and steer its traffic. A view of ourselves is only compared (journal loss).
         */
        private void onSnapshot(ClusterId from, LedgerSnapshot snapshot, long now) {
            if (!snapshot.sender().equals(from)) {
                out(new Rejected(from, RejectReason.SENDER_MISMATCH, from + " sent a ledger snapshot as "
                        + snapshot.sender() + "; ignored"));
                return;
            }
            for (ClusterView view : snapshot.views()) {
                if (view.origin().equals(self())) {
                    if (view.version() > state.version()) {
                        out(new Warning(from + " knows version " + view.version() + " of " + self()
                                + "'s ledger, newer than its own " + state.version() + ": was this cluster's journal lost?"));
                    }
                    continue;
                }
                if (!view.origin().equals(from)) {
                    out(new Rejected(from, RejectReason.FOREIGN_ORIGIN, from + " sent a view of " + view.origin()
                            + " (version " + view.version() + "); only " + view.origin() + " itself speaks for it; ignored"));
                    continue;
                }
                Optional<Rejected> invalid = invalidClaims(from, view).or(() -> invalidRegistrations(from, view));
                if (invalid.isPresent()) {
                    // All or nothing: a view stripped of a claim would prove that claim over and free acks for it.
                    out(invalid.get());
                    continue;
                }
                long known = state.knownView(view.origin()).map(k -> k.view().version()).orElse(0L);
                if (view.version() <= known) {
                    continue;
                }
                emit(new ViewMerged(view));
                KnownView merged = state.knownView(view.origin()).orElseThrow();
                for (OwnClaim mine : state.ownPending()) {
                    if (state.ownClaim(mine.claim().id()).map(OwnClaim::held).orElse(true)) {
                        continue; // withdrawn a moment ago in this loop
                    }
                    Cidr range = mine.placed().range();
                    Optional<Placed> held = merged.held().stream().filter(h -> h.range().overlaps(range)).findFirst();
                    Optional<Placed> earlier = merged.pending().stream()
                            .filter(p -> p.range().overlaps(range) && p.claim().beats(mine.claim())).findFirst();
                    if (held.isPresent()) {
                        withdrawAndRetry(mine, mine.claim().cidr() + " overlaps "
                                + new Blocker(held.get().claim(), BlockerStatus.HELD, held.get().range()).describe(), held.get().range(), now);
                    } else if (earlier.isPresent()) {
                        withdrawAndRetry(mine, "the earlier claim " + earlier.get().claim().id() + " for "
                                + earlier.get().claim().cidr() + " wins", earlier.get().range(), now);
                    }
                }
            }
        }

        // ---- claiming ------------------------------------------------------------------------------------------

        private void tryClaim(OpenRequest request, long now) {
            Cidr range;
            if (request.specific() != null) {
                List<Blocker> blockers = choiceBlockers(request.specific(), request.avoid());
                if (!blockers.isEmpty()) {
                    failRequest(request, request.specific() + " overlaps " + blockers.getFirst().describe(), now);
                    return;
                }
                range = request.specific();
            } else {
                Optional<Cidr> free = chooseFree(request.kind(), request.avoid());
                if (free.isEmpty()) {
                    failRequest(request, "no free " + request.kind().label() + " segment is left in "
                            + supernets(request.kind()), now);
                    return;
                }
                range = free.get();
            }
            // Hybrid clock: wall time, but always past every claim this ledger has seen, so it only grows.
            long timestamp = Math.max(now, state.clock() + 1);
            Claim claim = Claim.of(new ClaimId(self(), state.claimSeq() + 1), request.kind(), range, timestamp);
            emit(new ClaimStarted(request.id(), claim));
            if (!maybeHeld(claim.id())) {
                out(new SendToAll(propose(claim)));
            }
        }

        private boolean maybeHeld(ClaimId id) {
            OwnClaim claim = state.ownClaim(id).orElseThrow();
            if (claim.acks().size() < config().quorum()) {
                return false;
            }
            emit(new ClaimHeld(id));
            out(new Granted(claim.requestId(), new Segment(self(), claim.claim().kind(), claim.claim().cidr())));
            return true;
        }

        private void withdrawAndRetry(OwnClaim mine, String reason, Cidr beatenBy, long now) {
            emit(new ClaimWithdrawn(mine.claim().id(), reason, beatenBy == null ? "" : beatenBy.toString()));
            OpenRequest request = state.request(mine.requestId()).orElse(null);
            if (request == null) {
                return;
            }
            if (request.specific() != null) {
                emit(new RequestFailed(request.id(), reason, now));
                out(new Refused(request.id(), reason));
                return;
            }
            tryClaim(request, now);
        }

        private void failRequest(OpenRequest request, String reason, long now) {
            if (request.current() != null && state.ownClaim(request.current()).map(c -> !c.held()).orElse(false)) {
                emit(new ClaimWithdrawn(request.current(), reason, ""));
            }
            emit(new RequestFailed(request.id(), reason, now));
            out(new Refused(request.id(), reason));
        }

        private void maybeRequestGlobal(long now) {
            if (config().supernets(SegmentKind.GLOBAL).isEmpty() || !state.needsGlobalSegment()) {
                return;
            }
            boolean haveOne = state.held().stream().anyMatch(c -> c.kind() == SegmentKind.GLOBAL)
                    || state.pending().stream().anyMatch(c -> c.kind() == SegmentKind.GLOBAL)
                    || state.requests().stream().anyMatch(r -> r.kind() == SegmentKind.GLOBAL);
            long backoff = 3 * config().claimTimeout().toMillis();
            if (haveOne || (state.lastAutomaticFailure() != 0 && now - state.lastAutomaticFailure() < backoff)
                    || chooseFree(SegmentKind.GLOBAL, List.of()).isEmpty()) {
                return;
            }
            String id = "global-for-overlaps@" + now;
            emit(new RequestOpened(id, SegmentKind.GLOBAL, "", now + config().claimTimeout().toMillis(), true));
            tryClaim(state.request(id).orElseThrow(), now);
        }

        private String timeoutReason(OpenRequest request) {
            OwnClaim pending = request.current() == null ? null : state.ownClaim(request.current()).orElse(null);
            if (pending == null) {
                return "no " + request.kind().label() + " segment could be claimed within " + config().claimTimeout();
            }
            List<ClusterId> silent = config().members().stream().filter(m -> !pending.acks().contains(m)).toList();
            return "no majority acknowledged " + request.kind().label() + " " + pending.claim().cidr() + " within "
                    + config().claimTimeout().toSeconds() + "s: acknowledged by " + PlanState.names(pending.acks())
                    + ", needs " + config().quorum() + " of " + config().members().size() + " ("
                    + PlanState.names(config().members()) + "); not acknowledged by " + PlanState.names(silent)
                    + " (unreachable, or holding a competing claim)";
        }

        // ---- what blocks a range -------------------------------------------------------------------------------

        /**
         * What overlaps {@code range}. As an acceptor ({@code forChoice} false): held segments we know of, claims
         * we acknowledged, CIDRs other clusters than the claimant registered. When choosing our own next range
         * ({@code forChoice} true) also every registration and every pending claim in the views.
         */
        private List<Blocker> blockers(ClaimId id, ClusterId claimant, Cidr range, boolean forChoice) {
            List<Blocker> found = new ArrayList<>();
            Set<ClaimId> seen = new HashSet<>();
            state.allHeld().filter(h -> !h.claim().id().equals(id) && h.range().overlaps(range)).forEach(h -> {
                if (seen.add(h.claim().id())) {
                    found.add(new Blocker(h.claim(), BlockerStatus.HELD, h.range()));
                }
            });
            state.allRegistrations().filter(r -> (forChoice || !r.owner().equals(claimant)) && r.range().overlaps(range))
                    .forEach(r -> found.add(new Blocker(new Claim(new ClaimId(r.owner(), 0), r.registration().kind(),
                            r.registration().cidr(), 0), BlockerStatus.REGISTERED, r.range())));
            state.acknowledgedPlaced().filter(a -> !a.claim().id().equals(id) && a.range().overlaps(range)).forEach(a -> {
                if (seen.add(a.claim().id())) {
                    found.add(new Blocker(a.claim(), state.knownHeld(a.claim().id()) ? BlockerStatus.HELD : BlockerStatus.PENDING, a.range()));
                }
            });
            if (forChoice) {
                state.foreignPending().filter(p -> p.range().overlaps(range)).forEach(p -> {
                    if (seen.add(p.claim().id())) {
                        found.add(new Blocker(p.claim(), BlockerStatus.PENDING, p.range()));
                    }
                });
            }
            return found;
        }

        private List<Blocker> choiceBlockers(Cidr range, List<Cidr> avoid) {
            List<Blocker> found = blockers(null, self(), range, true);
            avoid.stream().filter(a -> a.overlaps(range)).forEach(a -> found.add(new Blocker(null, BlockerStatus.PENDING, a)));
            return found;
        }

        /** The lowest segment of {@code kind} that nothing we know of overlaps. */
        private Optional<Cidr> chooseFree(SegmentKind kind, List<Cidr> avoid) {
            for (Supernet supernet : config().supernets(kind)) {
                Cidr outer = supernet.cidr();
                int prefix = supernet.segmentPrefix();
                int shift = outer.addressBits() - prefix;
                BigInteger count = outer.subnetCount(prefix);
                BigInteger outerStart = start(outer);
                BigInteger index = BigInteger.ZERO;
                // Every failed candidate steps past the blocker that failed it, so this ends after (blockers + 1) tries.
                while (index.compareTo(count) < 0) {
                    Cidr candidate = outer.subnet(prefix, index);
                    List<Blocker> blockers = choiceBlockers(candidate, avoid);
                    if (blockers.isEmpty()) {
                        return Optional.of(candidate);
                    }
                    BigInteger next = index.add(BigInteger.ONE);
                    for (Blocker blocker : blockers) {
                        if (blocker.range().prefix() < prefix) {
                            BigInteger end = start(blocker.range()).add(blocker.range().size()).subtract(BigInteger.ONE);
                            next = next.max(end.subtract(outerStart).shiftRight(shift).add(BigInteger.ONE));
                        }
                    }
                    index = next;
                }
            }
            return Optional.empty();
        }

        // ---- helpers -------------------------------------------------------------------------------------------

        /**
         * Segments of {@code kind} that {@code member} holds or claims, as far as this cluster knows: its view's held
         * and pending claims, and the claims of it that we acknowledged and have not seen proved over.
         */
        private long segmentsOf(ClusterId member, SegmentKind kind) {
            Set<ClaimId> claims = new HashSet<>();
            List<Claim> known = new ArrayList<>(state.acknowledged());
            if (member.equals(self())) {
                known.addAll(state.held());
                known.addAll(state.pending());
            } else {
                state.knownView(member).ifPresent(view -> {
                    known.addAll(view.view().held());
                    known.addAll(view.view().pending());
                });
            }
            known.stream().filter(c -> c.claimant().equals(member) && c.kind() == kind).forEach(c -> claims.add(c.id()));
            return claims.size();
        }

        /** Refuses a local request once this cluster holds and claims as many segments of the kind as it may. */
        private boolean ownQuotaReached(String requestId, SegmentKind kind) {
            long segments = segmentsOf(self(), kind);
            if (segments < config().maxSegmentsPerMember()) {
                return false;
            }
            out(new Refused(requestId, self() + " holds or claims " + segments + " " + kind.label() + " segments "
                    + "already, as many as plan.max-segments-per-member (" + config().maxSegmentsPerMember()
                    + ") allows; release one or raise the setting on every cluster"));
            return true;
        }

        /** Why {@code claim} is not a segment of our supernets (kind, inside one of them, exactly its segment prefix). */
        private Optional<String> notASegment(Claim claim) {
            Cidr range = claim.range();
            if (config().supernetWithSegment(claim.kind(), range).isPresent()) {
                return Optional.empty();
            }
            List<Supernet> supernets = config().supernets(claim.kind());
            return Optional.of(claim.kind().label() + " " + claim.cidr() + " is not a " + claim.kind().label()
                    + " segment" + (supernets.isEmpty() ? " (no " + claim.kind().label() + " supernet is configured)"
                    : " of " + supernets(claim.kind())));
        }

        /** Why a view is refused: its first registration outside {@code plan.registrations}. */
        private Optional<Rejected> invalidRegistrations(ClusterId from, ClusterView view) {
            for (Registration registration : view.registered()) {
                Optional<String> problem = config().registrations().problem(registration.range());
                if (problem.isPresent()) {
                    return Optional.of(new Rejected(from, RejectReason.REGISTRATION_OUT_OF_BOUNDS, "view " + view.version()
                            + " of " + view.origin() + ": registered " + registration.kind().label() + " " + problem.get()
                            + "; the whole view is ignored"));
                }
            }
            return Optional.empty();
        }

        /** Why a view is refused: its first held or pending claim that is not its origin's, or not a segment of ours. */
        private Optional<Rejected> invalidClaims(ClusterId from, ClusterView view) {
            List<Claim> claims = new ArrayList<>(view.held());
            claims.addAll(view.pending());
            for (Claim claim : claims) {
                String what = (view.held().contains(claim) ? "held " : "pending ");
                String prefix = "view " + view.version() + " of " + view.origin() + ": ";
                if (!claim.claimant().equals(view.origin())) {
                    return Optional.of(new Rejected(from, RejectReason.FOREIGN_ORIGIN, prefix + what + "claim " + claim.id()
                            + " for " + claim.cidr() + " is not " + view.origin() + "'s; the whole view is ignored"));
                }
                Optional<String> problem = notASegment(claim);
                if (problem.isPresent()) {
                    return Optional.of(new Rejected(from, RejectReason.NOT_A_SEGMENT, prefix + what + problem.get()
                            + "; the whole view is ignored"));
                }
            }
            java.util.Map<SegmentKind, Set<ClaimId>> byKind = new java.util.EnumMap<>(SegmentKind.class);
            claims.forEach(c -> byKind.computeIfAbsent(c.kind(), kind -> new HashSet<>()).add(c.id()));
            for (var entry : byKind.entrySet()) {
                if (entry.getValue().size() > config().maxSegmentsPerMember()) {
                    return Optional.of(new Rejected(from, RejectReason.SEGMENT_QUOTA, "view " + view.version() + " of " + view.origin() + ": holds and claims "
                            + entry.getValue().size() + " " + entry.getKey().label() + " segments, more than "
                            + "plan.max-segments-per-member (" + config().maxSegmentsPerMember()
                            + "); the whole view is ignored"));
                }
            }
            return Optional.empty();
        }

        private ProposeClaim propose(Claim claim) {
            return new ProposeClaim(claim, List.copyOf(config().members()));
        }

        private String supernets(SegmentKind kind) {
            return config().supernets(kind).stream().map(Supernet::toString).collect(Collectors.joining(", "));
        }

        private String holdings() {
            List<Claim> held = state.held();
            return held.isEmpty() ? "it holds no segments" : "it holds "
                    + held.stream().map(c -> c.kind().label() + " " + c.cidr()).collect(Collectors.joining(", "));
        }

        private static BigInteger start(Cidr cidr) {
            return new BigInteger(1, cidr.network().getAddress());
        }
    }
}
