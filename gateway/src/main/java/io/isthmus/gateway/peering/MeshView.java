package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.gateway.exports.ExportSet;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.pubsub.Topic;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * What this gateway knows of the clusterset: its own exports, the exports each peer cluster sent, and the state
 * of every peer link. Each change of exports makes a new {@link ServiceDirectory} for DNS and tells the peer
 * links. One per gateway replica; its state is rebuilt from the journal and the peers after a restart.
 */
public final class MeshView {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MeshView.class);

    public sealed interface Command {
    }

    public record OwnExportsChanged(ExportSet exports) implements Command {
    }

    /** A full export snapshot from {@code origin}, already validated by the link. Older versions are ignored. */
    public record ImportsReceived(String linkId, ClusterId origin, long version, List<ServiceExport> exports)
            implements Command {
    }

    /**
     * Changes to {@code origin}'s exports from {@code fromVersion} to {@code toVersion}. Applied when we hold
     * exactly {@code fromVersion}; ignored when we already hold {@code toVersion} or newer (a repeat over another
     * link); otherwise {@code requestResync} asks the sender for a full snapshot. {@code applied} runs once it
     * was applied (the link times the propagation then).
     */
    public record DeltaReceived(String linkId, ClusterId origin, long fromVersion, long toVersion,
                                List<ServiceExport> upserted, List<io.isthmus.api.ServiceKey> removed,
                                Runnable requestResync, Runnable applied) implements Command {
        public DeltaReceived {
            upserted = List.copyOf(upserted);
            removed = List.copyOf(removed);
        }

        public DeltaReceived(String linkId, ClusterId origin, long fromVersion, long toVersion,
                             List<ServiceExport> upserted, List<io.isthmus.api.ServiceKey> removed,
                             Runnable requestResync) {
            this(linkId, origin, fromVersion, toVersion, upserted, removed, requestResync, () -> { });
        }
    }

    public record LinkChanged(String linkId, Direction direction, String address, ClusterId remote, LinkState state,
                              String detail) implements Command {
    }

    /**
     * @param rtt              the round trip measured from the echo in this heartbeat; null when it had none
     * @param ackedVersion     the highest of our snapshot versions the peer says it applied
     * @param peerExportVersion the peer's current export version
     * @param clockSkew        the link's estimate of the peer's clock skew after this heartbeat; null while it has
     *                         none (no round trip measured yet, or a peer that sends no wall clock)
     */
    public record HeartbeatReceived(String linkId, Duration rtt, long ackedVersion, long peerExportVersion,
                                    ClockSkew.Estimate clockSkew) implements Command {
        public HeartbeatReceived(String linkId, Duration rtt, long ackedVersion, long peerExportVersion) {
            this(linkId, rtt, ackedVersion, peerExportVersion, null);
        }
    }

    /** We sent our export snapshot at {@code version} on the link. */
    public record SnapshotSent(String linkId, long version) implements Command {
    }

    /**
     * {@code cluster}'s certificates were revoked or expired: its exports stop being served at once, not after the
     * import TTL. A later link with a good certificate brings them back with its snapshot.
     */
    public record ClusterCutOff(ClusterId cluster, String reason) implements Command {
    }

    /**
     * Which endpoint IPs each peer may export changed (the address plan did): everything received is judged again
     * by the {@link ImportFilter}.
     */
    public record EndpointScopeChanged(EndpointScope scope) implements Command {
    }

    public enum Direction { OUTBOUND, INBOUND }

    /** Checks, once a second, for clusters whose links have been down past the import TTL. */
    private enum Tick implements Command { INSTANCE }

    /**
     * The end of the quiet interval after a directory update: changes that came during it are applied now, in one
     * update.
     */
    private enum RebuildDirectory implements Command { INSTANCE }

    /**
     * The exports one peer cluster offers, as last received and admitted by the endpoint filter
     * ({@link ImportFilter}: endpoints outside the cluster's own ranges left out). {@code unreachableSince} is set while none of the
     * cluster's links is up; once that lasts longer than the import TTL the exports are {@code withdrawn}: kept
     * (a reconnect brings them back at once) but no longer served. The exports are kept as an {@link ExportSet}, so
     * that a delta changes them in O(changes × log n) and the directory sees only what changed. {@code denied}: the
     * peer's exports into namespaces that take no imports (never served; kept, at version 0, because they count
     * against the peer's quotas and name the namespace in its condition). {@code endpoints}: of both sets together.
     */
    public record RemoteExports(ExportSet exportSet, ExportSet denied, long endpoints, Instant receivedAt,
                                String viaLink, Instant unreachableSince, boolean withdrawn) {
        public RemoteExports(long version, List<ServiceExport> exports, Instant receivedAt, String viaLink,
                             Instant unreachableSince, boolean withdrawn) {
            this(new ExportSet(version, exports), ExportSet.EMPTY, endpointsOf(exports), receivedAt, viaLink,
                    unreachableSince, withdrawn);
        }

        public long version() {
            return exportSet.version();
        }

        /** The exports in key order (a copy). */
        public List<ServiceExport> exports() {
            return exportSet.exports();
        }

        RemoteExports reachable() {
            return new RemoteExports(exportSet, denied, endpoints, receivedAt, viaLink, null, false);
        }

        RemoteExports unreachableFrom(Instant since) {
            return new RemoteExports(exportSet, denied, endpoints, receivedAt, viaLink, since, withdrawn);
        }

        RemoteExports withdraw() {
            return new RemoteExports(exportSet, denied, endpoints, receivedAt, viaLink, unreachableSince, true);
        }
    }

    private static long endpointsOf(List<ServiceExport> exports) {
        long total = 0;
        for (ServiceExport export : exports) {
            total += export.endpoints().size();
        }
        return total;
    }

    /**
     * The last snapshot or delta of a peer cluster refused for a quota ({@link PeeringLimits}): nothing of it was
     * applied. Cleared once a later one from that cluster is accepted.
     *
     * @param requested what the message would have made it (exports, endpoints; of one export for
     *                  {@code ENDPOINTS_PER_EXPORT})
     * @param version   the version the refused message would have brought
     */
    public record ImportRefusal(PeeringLimits.Quota quota, long limit, long requested, long version, Instant at,
                                String message) {
    }

    /** Counts what was refused from a peer, by reason: a quota's label, or "namespace". */
    @FunctionalInterface
    public interface RefusalCounter {
        void count(ClusterId peer, String reason, long amount);

        RefusalCounter NONE = (peer, reason, amount) -> { };
    }

    /**
     * One peer link; {@code remote} is null until the peer said hello, {@code rtt} until the first echoed
     * heartbeat. {@code sentVersion}/{@code ackedVersion}: our last snapshot sent on it and the highest the peer
     * acknowledged. {@code clockSkew}: how far the peer's clock is from ours ({@link ClockSkew}), null while unknown.
     */
    public record Link(String id, Direction direction, String address, ClusterId remote, LinkState state,
                       Instant since, Instant lastMessageAt, String detail, Duration rtt, long sentVersion,
                       long ackedVersion, ClockSkew.Estimate clockSkew) {
        public Link(String id, Direction direction, String address, ClusterId remote, LinkState state,
                    Instant since, Instant lastMessageAt, String detail, Duration rtt, long sentVersion,
                    long ackedVersion) {
            this(id, direction, address, remote, state, since, lastMessageAt, detail, rtt, sentVersion, ackedVersion,
                    null);
        }

        Link touched(Instant at) {
            return new Link(id, direction, address, remote, state, since, at, detail, rtt, sentVersion, ackedVersion,
                    clockSkew);
        }
    }

    /** {@code refusals}: each peer cluster's last refused message, while nothing later of it was accepted. */
    public record Snapshot(ClusterId self, ExportSet own, Map<ClusterId, RemoteExports> imports,
                           Map<String, Link> links, ServiceDirectory directory, Map<ClusterId, ImportRefusal> refusals) {
        public Snapshot {
            imports = Map.copyOf(imports);
            links = Map.copyOf(links);
            refusals = Map.copyOf(refusals);
        }

        Snapshot(ClusterId self, ExportSet own, Map<ClusterId, RemoteExports> imports, Map<String, Link> links,
                 ServiceDirectory directory) {
            this(self, own, imports, links, directory, Map.of());
        }
    }

    private MeshView() {
    }

    /**
     * @param exportsTopic where the export registry publishes this cluster's export set
     * @param snapshots     receives every new state (DNS, status and metrics read the latest)
     * @param feed          tells peer links that our exports changed
     * @param importTtl     how long a cluster's exports are still served after its last link went down
     * @param directoryDebounce the quiet interval after a directory update (zero: none). A change that comes
     *                      while none is running updates the directory at once and starts one; changes during it
     *                      are gathered into one update at its end, so a burst of thousands of changes makes a
     *                      few updates, and a lone change waits for nothing. An update costs O(changes × log n).
     */
    public static Behavior<Command> create(ClusterId self, ActorRef<Topic.Command<ExportSet>> exportsTopic,
                                           Consumer<Snapshot> snapshots, ExportFeed feed, Clock clock,
                                           Duration importTtl, Duration directoryDebounce) {
        return create(self, exportsTopic, snapshots, feed, clock, importTtl, directoryDebounce, PeeringLimits.DEFAULTS,
                RefusalCounter.NONE, ImportFilter.of(EndpointScope.withoutPlan(self, EndpointScope.WithoutPlan.PRIVATE)),
                filter -> { });
    }

    /**
     * @param limits  the quotas each peer cluster's exports are held to, and the namespaces imports may land in
     * @param refused counts what is refused, per peer
     * @param filter  the endpoint filter to start with (its scope: the plan is unknown yet, or none is configured);
     *                {@link EndpointScopeChanged} replaces the scope
     * @param filters receives the filter after every change (what is refused, for the status and the metrics)
     */
    public static Behavior<Command> create(ClusterId self, ActorRef<Topic.Command<ExportSet>> exportsTopic,
                                           Consumer<Snapshot> snapshots, ExportFeed feed, Clock clock,
                                           Duration importTtl, Duration directoryDebounce, PeeringLimits limits,
                                           RefusalCounter refused, ImportFilter filter,
                                           Consumer<ImportFilter> filters) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            ActorRef<ExportSet> adapter = context.messageAdapter(ExportSet.class, OwnExportsChanged::new);
            exportsTopic.tell(Topic.subscribe(adapter));
            timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofSeconds(1));
            Snapshot initial = new Snapshot(self, ExportSet.EMPTY, Map.of(), Map.of(), ServiceDirectory.EMPTY);
            snapshots.accept(initial);
            filters.accept(filter);
            return new MeshView.Running(snapshots, feed, clock, importTtl, directoryDebounce, timers, limits, refused,
                    filters).behavior(initial, Map.of(self, ExportSet.EMPTY), filter);
        }));
    }

    private record Running(Consumer<Snapshot> snapshots, ExportFeed feed, Clock clock, Duration importTtl,
                           Duration directoryDebounce, TimerScheduler<Command> timers, PeeringLimits limits,
                           RefusalCounter refused, Consumer<ImportFilter> filters) {

        /** A handler's result where the endpoint filter may change too. */
        private record Handled(Snapshot state, ImportFilter filter) {
        }

        /**
         * @param served the export set of each cluster that {@code state.directory()} was made from: what the next
         *               update compares with to find what changed
         * @param filter the endpoint filter: what each peer sent and what of it is admitted ({@code state.imports()})
         */
        Behavior<Command> behavior(Snapshot state, Map<ClusterId, ExportSet> served, ImportFilter filter) {
            return Behaviors.receiveMessage(command -> {
                ImportFilter[] nextFilter = {filter};
                Snapshot handled = switch (command) {
                case OwnExportsChanged(ExportSet exports) -> onOwnExports(state, exports);
                case ImportsReceived received -> keep(onImports(state, received, filter), nextFilter);
                case DeltaReceived delta -> keep(onDelta(state, delta, filter), nextFilter);
                case EndpointScopeChanged(EndpointScope scope) -> keep(onScope(state, scope, filter), nextFilter);
                case LinkChanged changed -> onLink(state, changed);
                case HeartbeatReceived heartbeat -> onHeartbeat(state, heartbeat);
                case SnapshotSent(String linkId, long version) -> updateLink(state, linkId, link -> new Link(link.id(),
                        link.direction(), link.address(), link.remote(), link.state(), link.since(),
                        link.lastMessageAt(), link.detail(), link.rtt(), version, link.ackedVersion(),
                        link.clockSkew()));
                case ClusterCutOff(ClusterId cluster, String reason) -> cutOff(state, cluster, reason);
                case Tick tick -> withdrawExpired(state);
                case RebuildDirectory rebuild -> state;
                };
                Snapshot next = handled;
                Map<ClusterId, ExportSet> nextServed = served;
                boolean update = directoryDebounce.isZero()
                        || (command == RebuildDirectory.INSTANCE || !timers.isTimerActive(RebuildDirectory.INSTANCE));
                if (update) {
                    Map<ClusterId, ExportSet> wanted = toServe(handled);
                    if (!sameSets(wanted, served)) {
                        next = withDirectory(handled, served, wanted);
                        nextServed = wanted;
                        if (!directoryDebounce.isZero()) {
                            timers.startSingleTimer(RebuildDirectory.INSTANCE, directoryDebounce);
                        }
                    }
                }
                if (next != state) {
                    snapshots.accept(next);
                }
                if (nextFilter[0] != filter) {
                    filters.accept(nextFilter[0]);
                }
                return behavior(next, nextServed, nextFilter[0]);
            });
        }

        private static Snapshot keep(Handled handled, ImportFilter[] filter) {
            filter[0] = handled.filter();
            return handled.state();
        }

        private Handled onScope(Snapshot state, EndpointScope scope, ImportFilter filter) {
            if (scope.equals(filter.scope())) {
                return new Handled(state, filter);
            }
            Map<ClusterId, RemoteExports> imports = new HashMap<>(state.imports());
            ImportFilter next = filter.rescope(scope, (cluster, admitted) -> {
                RemoteExports known = imports.get(cluster);
                if (known != null) {
                    imports.put(cluster, new RemoteExports(admitted, known.denied(), known.endpoints(),
                            known.receivedAt(), known.viaLink(), known.unreachableSince(), known.withdrawn()));
                }
            });
            return new Handled(new Snapshot(state.self(), state.own(), imports, state.links(), state.directory(), state.refusals()), next);
        }

        private Snapshot onOwnExports(Snapshot state, ExportSet exports) {
            if (exports.version() <= state.own().version() && state.own().version() != 0) {
                return state;
            }
            feed.offer(exports);
            return new Snapshot(state.self(), exports, state.imports(), state.links(), state.directory(), state.refusals());
        }

        private Handled onImports(Snapshot state, ImportsReceived received, ImportFilter filter) {
            Snapshot touched = touch(state, received.linkId());
            RemoteExports known = touched.imports().get(received.origin());
            if (known != null && received.version() <= known.version()) {
                return new Handled(touched, filter); // the same snapshot over a second link, or an old one: idempotent
            }
            List<ServiceExport> allowed = new java.util.ArrayList<>(received.exports().size());
            List<ServiceExport> denied = new java.util.ArrayList<>();
            long endpoints = 0;
            ServiceExport widest = null;
            for (ServiceExport export : received.exports()) {
                (limits.importNamespaces().allows(export.key().namespace()) ? allowed : denied).add(export);
                endpoints += export.endpoints().size();
                if (widest == null || export.endpoints().size() > widest.endpoints().size()) {
                    widest = export;
                }
            }
            ImportRefusal refusal = overQuota(received.origin(), received.version(), received.exports().size(),
                    widest, endpoints);
            if (refusal != null) {
                return new Handled(refuse(touched, received.origin(), refusal), filter);
            }
            // Within the quotas: the endpoint filter judges what the namespaces allow.
            ImportFilter.Step admitted = filter.snapshot(received.origin(), new ExportSet(received.version(), allowed));
            Map<ClusterId, RemoteExports> imports = new HashMap<>(touched.imports());
            imports.put(received.origin(), new RemoteExports(admitted.admitted(), new ExportSet(0, denied), endpoints,
                    clock.instant(), received.linkId(), null, false));
            countDenied(received.origin(), denied.size());
            return new Handled(accepted(new Snapshot(state.self(), state.own(), imports, touched.links(),
                    state.directory(), state.refusals()), received.origin()), admitted.next());
        }

        private Handled onDelta(Snapshot state, DeltaReceived delta, ImportFilter filter) {
            Snapshot touched = touch(state, delta.linkId());
            RemoteExports known = touched.imports().get(delta.origin());
            if (known != null && delta.toVersion() <= known.version()) {
                return new Handled(touched, filter); // already have it, over another link
            }
            if (known == null || known.version() != delta.fromVersion()) {
                delta.requestResync().run();
                return new Handled(touched, filter);
            }
            List<ServiceExport> allowedUpserts = new java.util.ArrayList<>(delta.upserted().size());
            List<ServiceExport> deniedUpserts = new java.util.ArrayList<>();
            ServiceExport widest = null;
            for (ServiceExport export : delta.upserted()) {
                (limits.importNamespaces().allows(export.key().namespace()) ? allowedUpserts : deniedUpserts).add(export);
                if (widest == null || export.endpoints().size() > widest.endpoints().size()) {
                    widest = export;
                }
            }
            // Applied to copies first (they share structure): a delta over a quota leaves nothing behind. Counted on
            // what was received (the endpoint filter keeps it), not only on what it admitted.
            ExportSet received = filter.received(delta.origin()).orElse(known.exportSet());
            ExportSet exports = received.withChanges(delta.toVersion(), allowedUpserts, delta.removed());
            ExportSet denied = known.denied().withChanges(0, deniedUpserts, delta.removed());
            long[] endpoints = {known.endpoints()};
            io.isthmus.api.PersistentSortedMap.Difference<io.isthmus.api.ServiceKey, ServiceExport> count =
                    (key, old, now) -> endpoints[0] += (now == null ? 0 : now.endpoints().size())
                            - (old == null ? 0 : old.endpoints().size());
            ExportSet.diff(received, exports, count);
            ExportSet.diff(known.denied(), denied, count);
            ImportRefusal refusal = overQuota(delta.origin(), delta.toVersion(), exports.size() + denied.size(), widest,
                    endpoints[0]);
            if (refusal != null) {
                return new Handled(refuse(touched, delta.origin(), refusal), filter);
            }
            ImportFilter.Step admitted = filter.delta(delta.origin(), delta.toVersion(), allowedUpserts, delta.removed());
            Map<ClusterId, RemoteExports> imports = new HashMap<>(touched.imports());
            imports.put(delta.origin(), new RemoteExports(admitted.admitted(), denied, endpoints[0], clock.instant(),
                    delta.linkId(), known.unreachableSince(), known.withdrawn()));
            countDenied(delta.origin(), deniedUpserts.size());
            delta.applied().run();
            return new Handled(accepted(new Snapshot(state.self(), state.own(), imports, touched.links(),
                    state.directory(), state.refusals()), delta.origin()), admitted.next());
        }

        /** The first quota a message from {@code origin} would break, or null. */
        private ImportRefusal overQuota(ClusterId origin, long version, long exports, ServiceExport widest,
                                        long endpoints) {
            PeeringLimits.Quota quota;
            long requested;
            String what;
            if (exports > limits.maxExportsPerPeer()) {
                quota = PeeringLimits.Quota.EXPORTS_PER_PEER;
                requested = exports;
                what = exports + " exports";
            } else if (widest != null && widest.endpoints().size() > limits.maxEndpointsPerExport()) {
                quota = PeeringLimits.Quota.ENDPOINTS_PER_EXPORT;
                requested = widest.endpoints().size();
                what = "export " + widest.key() + " with " + requested + " endpoints";
            } else if (endpoints > limits.maxEndpointsPerPeer()) {
                quota = PeeringLimits.Quota.ENDPOINTS_PER_PEER;
                requested = endpoints;
                what = endpoints + " endpoints";
            } else {
                return null;
            }
            long limit = limits.limit(quota);
            return new ImportRefusal(quota, limit, requested, version, clock.instant(), "exports of " + origin
                    + " at version " + version + " refused: " + what + ", over the limit of " + limit + " ("
                    + quota.setting() + "); nothing of them applied, the exports accepted before stay");
        }

        private Snapshot refuse(Snapshot state, ClusterId origin, ImportRefusal refusal) {
            ImportRefusal before = state.refusals().get(origin);
            if (before == null || refusal.version() > before.version()) { // not the same message over a second link
                refused.count(origin, refusal.quota().label(), 1);
                log.warn(refusal.message());
            }
            Map<ClusterId, ImportRefusal> refusals = new HashMap<>(state.refusals());
            refusals.put(origin, refusal);
            return new Snapshot(state.self(), state.own(), state.imports(), state.links(), state.directory(), refusals);
        }

        private Snapshot accepted(Snapshot state, ClusterId origin) {
            if (!state.refusals().containsKey(origin)) {
                return state;
            }
            Map<ClusterId, ImportRefusal> refusals = new HashMap<>(state.refusals());
            refusals.remove(origin);
            return new Snapshot(state.self(), state.own(), state.imports(), state.links(), state.directory(), refusals);
        }

        private void countDenied(ClusterId origin, int denied) {
            if (denied > 0) {
                refused.count(origin, "namespace", denied);
            }
        }

        private Snapshot onLink(Snapshot state, LinkChanged changed) {
            Map<String, Link> links = new HashMap<>(state.links());
            Link before = links.get(changed.linkId());
            if (changed.direction() == Direction.INBOUND && changed.state() == LinkState.DOWN) {
                links.remove(changed.linkId()); // the peer dials again under a new link id
            } else {
                Instant now = clock.instant();
                boolean sameState = before != null && before.state() == changed.state();
                boolean up = changed.state() == LinkState.UP;
                links.put(changed.linkId(), new Link(changed.linkId(), changed.direction(), changed.address(),
                        changed.remote() != null ? changed.remote() : before == null ? null : before.remote(),
                        changed.state(), sameState ? before.since() : now,
                        up ? now : before == null ? null : before.lastMessageAt(),
                        changed.detail(), up || before == null ? null : before.rtt(),
                        up || before == null ? 0 : before.sentVersion(), up || before == null ? 0 : before.ackedVersion(),
                        up || before == null ? null : before.clockSkew()));
            }
            return withReachability(new Snapshot(state.self(), state.own(), state.imports(), links, state.directory(), state.refusals()));
        }

        /** Marks clusters without an up link as unreachable (from now), and brings reachable ones back. */
        private Snapshot withReachability(Snapshot state) {
            Map<ClusterId, RemoteExports> imports = new HashMap<>(state.imports());
            for (Map.Entry<ClusterId, RemoteExports> entry : state.imports().entrySet()) {
                boolean up = state.links().values().stream()
                        .anyMatch(l -> entry.getKey().equals(l.remote()) && l.state() == LinkState.UP);
                RemoteExports remote = entry.getValue();
                if (up && remote.unreachableSince() != null) {
                    imports.put(entry.getKey(), remote.reachable());
                } else if (!up && remote.unreachableSince() == null) {
                    imports.put(entry.getKey(), remote.unreachableFrom(clock.instant()));
                }
            }
            return new Snapshot(state.self(), state.own(), imports, state.links(), state.directory(), state.refusals());
        }

        private Snapshot cutOff(Snapshot state, ClusterId cluster, String reason) {
            Map<ClusterId, RemoteExports> imports = new HashMap<>(state.imports());
            imports.remove(cluster); // forgotten, so that a good link's snapshot of any version is taken again
            // Its links take nothing from it any more (the sessions drop what it sends), whenever their streams end.
            Instant now = clock.instant();
            Map<String, Link> links = new HashMap<>(state.links());
            links.replaceAll((id, link) -> cluster.equals(link.remote()) && link.state() == LinkState.UP
                    ? new Link(link.id(), link.direction(), link.address(), link.remote(), LinkState.DOWN, now,
                            link.lastMessageAt(), "cut off: certificate " + reason, link.rtt(), link.sentVersion(),
                            link.ackedVersion(), link.clockSkew())
                    : link);
            return new Snapshot(state.self(), state.own(), imports, links, state.directory(), state.refusals());
        }

        private Snapshot withdrawExpired(Snapshot state) {
            Instant now = clock.instant();
            Map<ClusterId, RemoteExports> imports = new HashMap<>(state.imports());
            boolean changed = false;
            for (Map.Entry<ClusterId, RemoteExports> entry : state.imports().entrySet()) {
                RemoteExports remote = entry.getValue();
                if (!remote.withdrawn() && remote.unreachableSince() != null
                        && !remote.unreachableSince().plus(importTtl).isAfter(now)) {
                    imports.put(entry.getKey(), remote.withdraw());
                    changed = true;
                }
            }
            return changed ? new Snapshot(state.self(), state.own(), imports, state.links(), state.directory(), state.refusals()) : state;
        }

        private Snapshot touch(Snapshot state, String linkId) {
            Instant now = clock.instant();
            return updateLink(state, linkId, link -> link.touched(now));
        }

        private Snapshot onHeartbeat(Snapshot state, HeartbeatReceived heartbeat) {
            Instant now = clock.instant();
            return updateLink(state, heartbeat.linkId(), link -> new Link(link.id(), link.direction(), link.address(),
                    link.remote(), link.state(), link.since(), now, link.detail(),
                    heartbeat.rtt() != null ? heartbeat.rtt() : link.rtt(), link.sentVersion(),
                    Math.max(link.ackedVersion(), heartbeat.ackedVersion()),
                    heartbeat.clockSkew() != null ? heartbeat.clockSkew() : link.clockSkew()));
        }

        private Snapshot updateLink(Snapshot state, String linkId, java.util.function.UnaryOperator<Link> change) {
            Link link = state.links().get(linkId);
            if (link == null) {
                return state;
            }
            Map<String, Link> links = new HashMap<>(state.links());
            links.put(linkId, change.apply(link));
            return new Snapshot(state.self(), state.own(), state.imports(), links, state.directory(), state.refusals());
        }

        /** The export set of each cluster the directory should hold: our own, and every peer's not withdrawn. */
        private static Map<ClusterId, ExportSet> toServe(Snapshot state) {
            Map<ClusterId, ExportSet> wanted = new HashMap<>();
            wanted.put(state.self(), state.own());
            state.imports().forEach((cluster, remote) -> {
                if (!remote.withdrawn()) {
                    wanted.put(cluster, remote.exportSet());
                }
            });
            return wanted;
        }

        /** Whether both name the very same export set objects for the same clusters. */
        private static boolean sameSets(Map<ClusterId, ExportSet> a, Map<ClusterId, ExportSet> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (Map.Entry<ClusterId, ExportSet> entry : a.entrySet()) {
                if (b.get(entry.getKey()) != entry.getValue()) {
                    return false;
                }
            }
            return true;
        }

        /**
         * The state with a directory holding {@code wanted}: the current directory changed by what differs between
         * the export sets it was made from ({@code served}) and {@code wanted}, cluster by cluster. A set that
         * came by deltas shares structure with the one before, so this costs O(changes × log n); a cluster that
         * comes or goes (a full snapshot, a withdrawal) costs O(its exports).
         */
        private Snapshot withDirectory(Snapshot state, Map<ClusterId, ExportSet> served, Map<ClusterId, ExportSet> wanted) {
            ServiceDirectory.Changes changes = state.directory().changes();
            Set<ClusterId> clusters = new TreeSet<>(served.keySet());
            clusters.addAll(wanted.keySet());
            for (ClusterId cluster : clusters) {
                ExportSet before = served.getOrDefault(cluster, ExportSet.EMPTY);
                ExportSet after = wanted.getOrDefault(cluster, ExportSet.EMPTY);
                if (before == after) {
                    continue;
                }
                ExportSet.diff(before, after, (key, old, now) -> {
                    if (now == null) {
                        changes.remove(cluster, key);
                    } else if (!now.equals(old)) {
                        changes.put(cluster, now);
                    }
                });
            }
            ServiceDirectory directory = changes.build(state.directory().version() + 1);
            return new Snapshot(state.self(), state.own(), state.imports(), state.links(), directory, state.refusals());
        }
    }
}
