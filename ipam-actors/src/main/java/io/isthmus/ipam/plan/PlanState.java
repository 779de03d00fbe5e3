package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
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

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * One cluster's segment ledger: immutable, and exactly the fold of its {@link PlanEvent}s ({@link #apply}), so
 * what a restart recovers from the journal is all of it. The decisions are in {@link PlanLedger}; this class
 * holds the facts and answers questions about them.
 *
 * <p>Three roles live here. As <b>claimant</b>: the open requests and our own claims (pending with the acks
 * they collected, or held). As <b>acceptor</b>: the claims we acknowledged (ours included), each kept until
 * its claimant's view proves it over. As <b>observer</b>: the latest view of every other cluster.
 */
public final class PlanState {

    /** A claim with its range parsed once. */
    record Placed(Claim claim, Cidr range) {
        static Placed of(Claim claim) {
            return new Placed(claim, claim.range());
        }
    }

    /** One of our claims: pending until {@code held}; {@code acks} counts ourselves. */
    record OwnClaim(Placed placed, String requestId, SortedSet<ClusterId> acks, boolean held,
                    List<AckSignature> signatures) {
        Claim claim() {
            return placed.claim();
        }

        OwnClaim withAck(ClusterId acceptor, AckSignature signature) {
            SortedSet<ClusterId> more = new TreeSet<>(acks);
            more.add(acceptor);
            List<AckSignature> signed = new ArrayList<>(signatures);
            if (signature != null && signature.acceptor().equals(acceptor)) {
                signed.add(signature);
            }
            return new OwnClaim(placed, requestId, Collections.unmodifiableSortedSet(more), held, List.copyOf(signed));
        }
    }

    /** A local request; {@code specific} is null for "any free segment", {@code current} its pending claim. */
    record OpenRequest(String id, SegmentKind kind, Cidr specific, long deadline, boolean automatic,
                       List<Cidr> avoid, ClaimId current) {
        OpenRequest withCurrent(ClaimId claim) {
            return new OpenRequest(id, kind, specific, deadline, automatic, avoid, claim);
        }

        OpenRequest withdrawn(Cidr beaten) {
            List<Cidr> more = new ArrayList<>(avoid);
            if (beaten != null) {
                more.add(beaten);
            }
            return new OpenRequest(id, kind, specific, deadline, automatic, List.copyOf(more), null);
        }
    }

    /** A registration with its owner and parsed range. */
    record PlacedRegistration(ClusterId owner, Registration registration, Cidr range) {
        static PlacedRegistration of(ClusterId owner, Registration registration) {
            return new PlacedRegistration(owner, registration, registration.range());
        }
    }

    /** Another cluster's latest view, parsed. */
    record KnownView(ClusterView view, List<Placed> held, List<Placed> pending, List<PlacedRegistration> registered) {
        static KnownView of(ClusterView view) {
            return new KnownView(view, view.held().stream().map(Placed::of).toList(),
                    view.pending().stream().map(Placed::of).toList(),
                    view.registered().stream().map(r -> PlacedRegistration.of(view.origin(), r)).toList());
        }
    }

    private final PlanConfig config;
    private final long claimSeq;
    private final long clock;
    private final long version;
    private final Map<String, OpenRequest> requests;
    private final SortedMap<ClaimId, OwnClaim> own;
    private final SortedMap<ClaimId, Placed> acks;
    private final SortedMap<ClusterId, KnownView> views;
    private final List<PlacedRegistration> registrations;
    private final long lastAutomaticFailure;

    private PlanState(PlanConfig config, long claimSeq, long clock, long version, Map<String, OpenRequest> requests,
                      SortedMap<ClaimId, OwnClaim> own, SortedMap<ClaimId, Placed> acks,
                      SortedMap<ClusterId, KnownView> views, List<PlacedRegistration> registrations,
                      long lastAutomaticFailure) {
        this.config = config;
        this.claimSeq = claimSeq;
        this.clock = clock;
        this.version = version;
        this.requests = requests;
        this.own = own;
        this.acks = acks;
        this.views = views;
        this.registrations = registrations;
        this.lastAutomaticFailure = lastAutomaticFailure;
    }

    public static PlanState initial(PlanConfig config) {
        return new PlanState(config, 0, 0, 0, Map.of(), Collections.emptySortedMap(), Collections.emptySortedMap(),
                Collections.emptySortedMap(), List.of(), 0);
    }

    /** The state a journal describes. */
    public static PlanState recover(PlanConfig config, Collection<? extends PlanEvent> events) {
        PlanState state = initial(config);
        for (PlanEvent event : events) {
            state = state.apply(event);
        }
        return state;
    }

    public PlanState apply(PlanEvent event) {
        return switch (event) {
            case RequestOpened(String id, SegmentKind kind, String cidr, long deadline, boolean automatic) ->
                    withRequests(put(requests, id, new OpenRequest(id, kind,
                            cidr.isEmpty() ? null : Cidr.parse("cidr", cidr), deadline, automatic, List.of(), null)));
            case ClaimStarted(String requestId, Claim claim) -> {
                Placed placed = Placed.of(claim);
                OwnClaim started = new OwnClaim(placed, requestId,
                        Collections.unmodifiableSortedSet(new TreeSet<>(List.of(config.self()))), false, List.of());
                OpenRequest request = requests.get(requestId);
                Map<String, OpenRequest> nextRequests = request == null ? requests
                        : put(requests, requestId, request.withCurrent(claim.id()));
                yield new PlanState(config, Math.max(claimSeq, claim.id().seq()), Math.max(clock, claim.timestamp()),
                        version + 1, nextRequests, put(own, claim.id(), started), put(acks, claim.id(), placed),
                        views, registrations, lastAutomaticFailure);
            }
            case AckReceived(ClaimId id, ClusterId acceptor, AckSignature signature) -> {
                OwnClaim claim = own.get(id);
                yield claim == null || claim.held() ? this : withOwn(put(own, id, claim.withAck(acceptor, signature)));
            }
            case ClaimHeld(ClaimId id) -> {
                OwnClaim claim = own.get(id);
                if (claim == null) {
                    yield this;
                }
                OwnClaim held = new OwnClaim(claim.placed(), claim.requestId(), claim.acks(), true, claim.signatures());
                yield new PlanState(config, claimSeq, clock, version + 1, remove(requests, claim.requestId()),
                        put(own, id, held), acks, views, registrations, lastAutomaticFailure);
            }
            case ClaimWithdrawn(ClaimId id, String reason, String avoid) -> {
                OwnClaim claim = own.get(id);
                if (claim == null) {
                    yield this;
                }
                OpenRequest request = requests.get(claim.requestId());
                Map<String, OpenRequest> nextRequests = request == null ? requests
                        : put(requests, request.id(), request.withdrawn(avoid.isEmpty() ? null : Cidr.parse("avoid", avoid)));
                yield new PlanState(config, claimSeq, clock, version + 1, nextRequests, remove(own, id),
                        remove(acks, id), views, registrations, lastAutomaticFailure);
            }
            case RequestFailed(String requestId, String reason, long at) -> {
                OpenRequest request = requests.get(requestId);
                yield new PlanState(config, claimSeq, clock, version, remove(requests, requestId), own, acks, views,
                        registrations, request != null && request.automatic() ? at : lastAutomaticFailure);
            }
            case SegmentReleased(ClaimId id) -> own.containsKey(id)
                    ? new PlanState(config, claimSeq, clock, version + 1, requests, remove(own, id), remove(acks, id),
                            views, registrations, lastAutomaticFailure)
                    : this;
            case AckGiven(Claim claim) -> new PlanState(config, claimSeq, Math.max(clock, claim.timestamp()), version,
                    requests, own, put(acks, claim.id(), Placed.of(claim)), views, registrations, lastAutomaticFailure);
            case ViewMerged(ClusterView view) -> {
                // Acks for claims the view proves over are freed: those claims can never become held.
                SortedMap<ClaimId, Placed> freed = new TreeMap<>(acks);
                freed.keySet().removeIf(view::provesOver);
                long seen = Stream.concat(view.held().stream(), view.pending().stream())
                        .mapToLong(Claim::timestamp).max().orElse(0);
                yield new PlanState(config, claimSeq, Math.max(clock, seen), version, requests, own,
                        Collections.unmodifiableSortedMap(freed), put(views, view.origin(), KnownView.of(view)),
                        registrations, lastAutomaticFailure);
            }
            case CidrRegistered(Registration registration) -> {
                List<PlacedRegistration> more = new ArrayList<>(registrations);
                more.add(PlacedRegistration.of(config.self(), registration));
                yield new PlanState(config, claimSeq, clock, version + 1, requests, own, acks, views,
                        List.copyOf(more), lastAutomaticFailure);
            }
            case CidrUnregistered(Registration registration) -> {
                List<PlacedRegistration> fewer = registrations.stream()
                        .filter(r -> !r.registration().equals(registration)).toList();
                yield new PlanState(config, claimSeq, clock, version + 1, requests, own, acks, views,
                        fewer, lastAutomaticFailure);
            }
        };
    }

    // ---- facts -------------------------------------------------------------------------------------------------

    public PlanConfig config() {
        return config;
    }

    public ClusterId self() {
        return config.self();
    }

    /** The hybrid clock: the highest claim timestamp this ledger has recorded. */
    public long clock() {
        return clock;
    }

    public long version() {
        return version;
    }

    public long claimSeq() {
        return claimSeq;
    }

    /** Our held segments. */
    public List<Claim> held() {
        return own.values().stream().filter(OwnClaim::held).map(OwnClaim::claim).toList();
    }

    /** Our pending claims. */
    public List<Claim> pending() {
        return own.values().stream().filter(c -> !c.held()).map(OwnClaim::claim).toList();
    }

    /** The claims this cluster, as an acceptor, has acknowledged and not yet seen proved over (ours included). */
    public List<Claim> acknowledged() {
        return acks.values().stream().map(Placed::claim).toList();
    }

    public List<Registration> registrations() {
        return registrations.stream().map(PlacedRegistration::registration).toList();
    }

    /** The open requests' ids, oldest first. */
    public List<String> openRequests() {
        return List.copyOf(requests.keySet());
    }

    public ClusterView ownView() {
        List<AckSignature.HeldEvidence> evidence = new ArrayList<>();
        for (OwnClaim claim : own.values()) {
            if (claim.held() && !claim.signatures().isEmpty()) {
                evidence.add(new AckSignature.HeldEvidence(claim.claim().id(), claim.signatures()));
            }
        }
        evidence.sort(java.util.Comparator.comparing(AckSignature.HeldEvidence::claim));
        return new ClusterView(self(), version, claimSeq, held(), pending(), registrations(), evidence);
    }

    /** Our own view first, then the latest view of every other cluster we have heard of. */
    public List<ClusterView> knownViews() {
        List<ClusterView> all = new ArrayList<>();
        all.add(ownView());
        views.values().forEach(v -> all.add(v.view()));
        return all;
    }

    /** The segments held by {@code cluster}: ours exactly, another's as of its latest view. */
    public List<Claim> heldBy(ClusterId cluster) {
        if (cluster.equals(self())) {
            return held();
        }
        KnownView view = views.get(cluster);
        return view == null ? List.of() : view.view().held();
    }

    public Plan plan() {
        List<Segment> segments = new ArrayList<>();
        List<Plan.RegisteredCidr> registered = new ArrayList<>();
        for (ClusterView view : knownViews()) {
            view.held().forEach(c -> segments.add(new Segment(view.origin(), c.kind(), c.cidr())));
            view.registered().forEach(r -> registered.add(new Plan.RegisteredCidr(view.origin(), r.kind(), r.cidr())));
        }
        segments.sort(Comparator.comparing(Segment::holder).thenComparing(Segment::kind)
                .thenComparing(s -> Cidr.parse("cidr", s.cidr())));
        return new Plan(self(), config.members(), segments, pending(), registered, overlaps());
    }

    /**
     * Where two clusters' registered CIDRs overlap each other, or a registered CIDR overlaps another cluster's
     * held segment. Each pair once, in a stable order.
     */
    public List<CidrOverlap> overlaps() {
        List<PlacedRegistration> allRegistered = allRegistrations().toList();
        List<CidrOverlap> found = new ArrayList<>();
        for (int i = 0; i < allRegistered.size(); i++) {
            PlacedRegistration a = allRegistered.get(i);
            for (int j = i + 1; j < allRegistered.size(); j++) {
                PlacedRegistration b = allRegistered.get(j);
                if (!a.owner().equals(b.owner()) && a.range().overlaps(b.range())) {
                    found.add(ordered(a.owner(), a.registration().kind(), a.registration().cidr(), true,
                            b.owner(), b.registration().kind(), b.registration().cidr(), true));
                }
            }
            allHeld().filter(h -> !h.claim().claimant().equals(a.owner()) && h.range().overlaps(a.range()))
                    .forEach(h -> found.add(ordered(a.owner(), a.registration().kind(), a.registration().cidr(), true,
                            h.claim().claimant(), h.claim().kind(), h.claim().cidr(), false)));
        }
        return found.stream().distinct().sorted(Comparator.comparing(CidrOverlap::describe)).toList();
    }

    /** True when one of our registered CIDRs overlaps another cluster's range: our exports need global addresses. */
    public boolean needsGlobalSegment() {
        return overlaps().stream().anyMatch(o -> o.involves(self()));
    }

    /**
     * The pools' guard: empty when {@code range} lies inside a segment {@code cluster} holds, otherwise why not,
     * in words an operator can act on.
     */
    public Optional<String> whyNotHeld(ClusterId cluster, Cidr range) {
        return plan().whyNotHeld(cluster, range);
    }

    // ---- what the ledger's decisions need ------------------------------------------------------------------------

    Optional<OwnClaim> ownClaim(ClaimId id) {
        return Optional.ofNullable(own.get(id));
    }

    List<OwnClaim> ownPending() {
        return own.values().stream().filter(c -> !c.held()).toList();
    }

    Optional<OwnClaim> ownHeldWith(Cidr range) {
        return own.values().stream().filter(c -> c.held() && c.placed().range().equals(range)).findFirst();
    }

    Optional<OpenRequest> request(String id) {
        return Optional.ofNullable(requests.get(id));
    }

    List<OpenRequest> requests() {
        return List.copyOf(requests.values());
    }

    long lastAutomaticFailure() {
        return lastAutomaticFailure;
    }

    boolean hasAcknowledged(ClaimId id) {
        return acks.containsKey(id);
    }

    Optional<KnownView> knownView(ClusterId cluster) {
        return Optional.ofNullable(views.get(cluster));
    }

    /** Held segments of every cluster: ours, and those in the other clusters' latest views. */
    Stream<Placed> allHeld() {
        return Stream.concat(own.values().stream().filter(OwnClaim::held).map(OwnClaim::placed),
                views.values().stream().flatMap(v -> v.held().stream()));
    }

    Stream<Placed> foreignPending() {
        return views.values().stream().flatMap(v -> v.pending().stream());
    }

    Stream<Placed> acknowledgedPlaced() {
        return acks.values().stream();
    }

    Stream<PlacedRegistration> allRegistrations() {
        return Stream.concat(registrations.stream(), views.values().stream().flatMap(v -> v.registered().stream()));
    }

    /** Whether the claim {@code id} is held, as far as this ledger knows (ours exactly, others' by their views). */
    boolean knownHeld(ClaimId id) {
        if (id.claimant().equals(self())) {
            OwnClaim claim = own.get(id);
            return claim != null && claim.held();
        }
        KnownView view = views.get(id.claimant());
        return view != null && view.view().showsHeld(id);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    private PlanState withRequests(Map<String, OpenRequest> next) {
        return new PlanState(config, claimSeq, clock, version, next, own, acks, views, registrations, lastAutomaticFailure);
    }

    private PlanState withOwn(SortedMap<ClaimId, OwnClaim> next) {
        return new PlanState(config, claimSeq, clock, version, requests, next, acks, views, registrations, lastAutomaticFailure);
    }

    private static <K, V> Map<K, V> put(Map<K, V> map, K key, V value) {
        Map<K, V> copy = new LinkedHashMap<>(map);
        copy.put(key, value);
        return Collections.unmodifiableMap(copy);
    }

    private static <K, V> Map<K, V> remove(Map<K, V> map, K key) {
        if (!map.containsKey(key)) {
            return map;
        }
        Map<K, V> copy = new LinkedHashMap<>(map);
        copy.remove(key);
        return Collections.unmodifiableMap(copy);
    }

    private static <K extends Comparable<K>, V> SortedMap<K, V> put(SortedMap<K, V> map, K key, V value) {
        SortedMap<K, V> copy = new TreeMap<>(map);
        copy.put(key, value);
        return Collections.unmodifiableSortedMap(copy);
    }

    private static <K extends Comparable<K>, V> SortedMap<K, V> remove(SortedMap<K, V> map, K key) {
        if (!map.containsKey(key)) {
            return map;
        }
        SortedMap<K, V> copy = new TreeMap<>(map);
        copy.remove(key);
        return Collections.unmodifiableSortedMap(copy);
    }

    private static CidrOverlap ordered(ClusterId a, SegmentKind aKind, String aCidr, boolean aRegistered,
                                       ClusterId b, SegmentKind bKind, String bCidr, boolean bRegistered) {
        return a.compareTo(b) <= 0
                ? new CidrOverlap(a, aKind, aCidr, aRegistered, b, bKind, bCidr, bRegistered)
                : new CidrOverlap(b, bKind, bCidr, bRegistered, a, aKind, aCidr, aRegistered);
    }

    static String names(Collection<ClusterId> clusters) {
        return clusters.stream().map(ClusterId::value).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return "PlanState{" + self() + " v" + version + " held=" + held() + " pending=" + pending()
                + " acks=" + acks.keySet() + " views=" + views.keySet() + "}";
    }
}
