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
     * link); otherwise {@code requestResync} asks the sender for a full snapshot.
     */
    public record DeltaReceived(String linkId, ClusterId origin, long fromVersion, long toVersion,
                                List<ServiceExport> upserted, List<io.isthmus.api.ServiceKey> removed,
                                Runnable requestResync) implements Command {
        public DeltaReceived {
            upserted = List.copyOf(upserted);
            removed = List.copyOf(removed);
        }
    }

    public record LinkChanged(String linkId, Direction direction, String address, ClusterId remote, LinkState state,
                              String detail) implements Command {
    }

    /**
     * @param rtt              the round trip measured from the echo in this heartbeat; null when it had none
     * @param ackedVersion     the highest of our snapshot versions the peer says it applied
     * @param peerExportVersion the peer's current export version
     */
    public record HeartbeatReceived(String linkId, Duration rtt, long ackedVersion, long peerExportVersion)
            implements Command {
    }

    /** We sent our export snapshot at {@code version} on the link. */
    public record SnapshotSent(String linkId, long version) implements Command {
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
     * that a delta changes them in O(changes × log n) and the directory sees only what changed.
     */
    public record RemoteExports(ExportSet exportSet, Instant receivedAt, String viaLink, Instant unreachableSince,
                                boolean withdrawn) {
        public RemoteExports(long version, List<ServiceExport> exports, Instant receivedAt, String viaLink,
                             Instant unreachableSince, boolean withdrawn) {
            this(new ExportSet(version, exports), receivedAt, viaLink, unreachableSince, withdrawn);
        }

        public long version() {
            return exportSet.version();
        }

        /** The exports in key order (a copy). */
        public List<ServiceExport> exports() {
            return exportSet.exports();
        }

        RemoteExports reachable() {
            return new RemoteExports(exportSet, receivedAt, viaLink, null, false);
        }

        RemoteExports unreachableFrom(Instant since) {
            return new RemoteExports(exportSet, receivedAt, viaLink, since, withdrawn);
        }

        RemoteExports withdraw() {
            return new RemoteExports(exportSet, receivedAt, viaLink, unreachableSince, true);
        }
    }

    /**
     * One peer link; {@code remote} is null until the peer said hello, {@code rtt} until the first echoed
     * heartbeat. {@code sentVersion}/{@code ackedVersion}: our last snapshot sent on it and the highest the peer
     * acknowledged.
     */
    public record Link(String id, Direction direction, String address, ClusterId remote, LinkState state,
                       Instant since, Instant lastMessageAt, String detail, Duration rtt, long sentVersion,
                       long ackedVersion) {
        Link touched(Instant at) {
            return new Link(id, direction, address, remote, state, since, at, detail, rtt, sentVersion, ackedVersion);
        }
    }

    public record Snapshot(ClusterId self, ExportSet own, Map<ClusterId, RemoteExports> imports,
                           Map<String, Link> links, ServiceDirectory directory) {
        public Snapshot {
            imports = Map.copyOf(imports);
            links = Map.copyOf(links);
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
        return create(self, exportsTopic, snapshots, feed, clock, importTtl, directoryDebounce,
                ImportFilter.of(EndpointScope.withoutPlan(self, EndpointScope.WithoutPlan.PRIVATE)), filter -> { });
    }

    /**
     * @param filter  the endpoint filter to start with (its scope: the plan is unknown yet, or none is configured);
     *                {@link EndpointScopeChanged} replaces the scope
     * @param filters receives the filter after every change (what is refused, for the status and the metrics)
     */
    public static Behavior<Command> create(ClusterId self, ActorRef<Topic.Command<ExportSet>> exportsTopic,
                                           Consumer<Snapshot> snapshots, ExportFeed feed, Clock clock,
                                           Duration importTtl, Duration directoryDebounce, ImportFilter filter,
                                           Consumer<ImportFilter> filters) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            ActorRef<ExportSet> adapter = context.messageAdapter(ExportSet.class, OwnExportsChanged::new);
            exportsTopic.tell(Topic.subscribe(adapter));
            timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofSeconds(1));
            Snapshot initial = new Snapshot(self, ExportSet.EMPTY, Map.of(), Map.of(), ServiceDirectory.EMPTY);
            snapshots.accept(initial);
            filters.accept(filter);
            return new MeshView.Running(snapshots, feed, clock, importTtl, directoryDebounce, timers, filters)
                    .behavior(initial, Map.of(self, ExportSet.EMPTY), filter);
        }));
    }

    private record Running(Consumer<Snapshot> snapshots, ExportFeed feed, Clock clock, Duration importTtl,
                           Duration directoryDebounce, TimerScheduler<Command> timers, Consumer<ImportFilter> filters) {

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
                        link.lastMessageAt(), link.detail(), link.rtt(), version, link.ackedVersion()));
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
                    imports.put(cluster, new RemoteExports(admitted, known.receivedAt(), known.viaLink(),
                            known.unreachableSince(), known.withdrawn()));
                }
            });
            return new Handled(new Snapshot(state.self(), state.own(), imports, state.links(), state.directory()), next);
        }

        private Snapshot onOwnExports(Snapshot state, ExportSet exports) {
            if (exports.version() <= state.own().version() && state.own().version() != 0) {
                return state;
            }
            feed.offer(exports);
            return new Snapshot(state.self(), exports, state.imports(), state.links(), state.directory());
        }

        private Handled onImports(Snapshot state, ImportsReceived received, ImportFilter filter) {
            Snapshot touched = touch(state, received.linkId());
            RemoteExports known = touched.imports().get(received.origin());
            if (known != null && received.version() <= known.version()) {
                return new Handled(touched, filter); // the same snapshot over a second link, or an old one: idempotent
            }
            ImportFilter.Step admitted = filter.snapshot(received.origin(),
                    new ExportSet(received.version(), received.exports()));
            Map<ClusterId, RemoteExports> imports = new HashMap<>(touched.imports());
            imports.put(received.origin(), new RemoteExports(admitted.admitted(), clock.instant(), received.linkId(),
                    null, false));
            return new Handled(new Snapshot(state.self(), state.own(), imports, touched.links(), state.directory()),
                    admitted.next());
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
            ImportFilter.Step admitted = filter.delta(delta.origin(), delta.toVersion(), delta.upserted(),
                    delta.removed());
            Map<ClusterId, RemoteExports> imports = new HashMap<>(touched.imports());
            imports.put(delta.origin(), new RemoteExports(admitted.admitted(), clock.instant(), delta.linkId(),
                    known.unreachableSince(), known.withdrawn()));
            return new Handled(new Snapshot(state.self(), state.own(), imports, touched.links(), state.directory()),
                    admitted.next());
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
                        up || before == null ? 0 : before.sentVersion(), up || before == null ? 0 : before.ackedVersion()));
            }
            return withReachability(new Snapshot(state.self(), state.own(), state.imports(), links, state.directory()));
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
            return new Snapshot(state.self(), state.own(), imports, state.links(), state.directory());
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
            return changed ? new Snapshot(state.self(), state.own(), imports, state.links(), state.directory()) : state;
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
                    Math.max(link.ackedVersion(), heartbeat.ackedVersion())));
        }

        private Snapshot updateLink(Snapshot state, String linkId, java.util.function.UnaryOperator<Link> change) {
            Link link = state.links().get(linkId);
            if (link == null) {
                return state;
            }
            Map<String, Link> links = new HashMap<>(state.links());
            links.put(linkId, change.apply(link));
            return new Snapshot(state.self(), state.own(), state.imports(), links, state.directory());
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
            return new Snapshot(state.self(), state.own(), state.imports(), state.links(), directory);
        }
    }
}
