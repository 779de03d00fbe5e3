package io.isthmus.gateway.exports;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * One replica's writes to its cluster's exports: an event-sourced actor with a stream of its own in the journal
 * (persistence id from the cluster and the replica name), so every replica accepts exports itself and a write
 * never waits for another replica, nor for a dead one to be downed. A write is acknowledged once it is in this
 * replica's own stream. All replicas' streams carry one tag; {@link ClusterExports} merges them by last writer wins.
 *
 * <p>Versions come from a hybrid clock: {@code max(last own version + 1, version of the word it replaces + 1,
 * wall-clock ms)}. They grow across restarts and a lost journal, and a write made after seeing another replica's
 * write to the same service always wins over it, whatever the two machines' clocks say.
 */
public final class ExportRegistry
        extends EventSourcedBehaviorWithEnforcedReplies<ExportRegistry.Command, ExportRegistry.Event, ExportRegistry.OwnWrites> {

    public sealed interface Command extends CborSerializable {
    }

    /** Adds or replaces an export. An identical re-export is acknowledged without a new version. */
    public record Export(ServiceExport export, ActorRef<Changed> replyTo) implements Command {
    }

    public record Unexport(ServiceKey key, ActorRef<Unexported> replyTo) implements Command {
    }

    /** The cluster's exports as this replica has merged them so far. */
    public record GetExports(ActorRef<ExportSet> replyTo) implements Command {
    }

    /**
     * Exports and withdraws many services as one change: one event, stored whole or not at all. Each service may
     * appear once in all ({@link ExportChanges#check}); re-exports of what is there already and withdrawals of what
     * is not change nothing, as their single forms do.
     */
    public record ApplyChanges(List<ServiceExport> exports, List<ServiceKey> unexports,
                               ActorRef<ChangesReply> replyTo) implements Command {
        public ApplyChanges {
            exports = List.copyOf(exports);
            unexports = List.copyOf(unexports);
        }
    }

    /** What became of {@link ApplyChanges}. */
    public sealed interface ChangesReply extends CborSerializable {
    }

    /**
     * Stored (or nothing to store). {@code version} is the version of every entry written, or 0 when none was.
     *
     * @param exported  exports stored, new or changed
     * @param unchanged exports that were there already as given
     * @param withdrawn exports withdrawn
     * @param absent    withdrawals of services this cluster did not export
     */
    public record ChangesApplied(int exported, int unchanged, int withdrawn, int absent, long version)
            implements ChangesReply {
    }

    /** Nothing was stored: {@code field} and {@code value} name the first bad entry. */
    public record ChangesRefused(String field, String value, String reason) implements ChangesReply {
    }

    public record Changed(ServiceExport export, long version) implements CborSerializable {
    }

    /** {@code found} is false when there was no such export (nothing changed). */
    public record Unexported(ServiceKey key, boolean found, long version) implements CborSerializable {
    }

    public sealed interface Event extends CborSerializable {
        /** The words this event writes, in the order they apply. */
        List<ExportEntry> entries();
    }

    public record ServiceExported(ServiceExport export, long version, String replica) implements Event {
        public ExportEntry entry() {
            return ExportEntry.exported(export, version, replica);
        }

        @Override
        public List<ExportEntry> entries() {
            return List.of(entry());
        }
    }

    public record ServiceUnexported(ServiceKey key, long version, String replica) implements Event {
        public ExportEntry entry() {
            return ExportEntry.removed(key, version, replica);
        }

        @Override
        public List<ExportEntry> entries() {
            return List.of(entry());
        }
    }

    /** Many services exported and withdrawn at once ({@link ApplyChanges}), all under one version. */
    public record ServicesChanged(List<ServiceExport> exported, List<ServiceKey> unexported, long version,
                                  String replica) implements Event {
        public ServicesChanged {
            exported = List.copyOf(exported);
            unexported = List.copyOf(unexported);
        }

        @Override
        public List<ExportEntry> entries() {
            List<ExportEntry> out = new java.util.ArrayList<>(exported.size() + unexported.size());
            exported.forEach(export -> out.add(ExportEntry.exported(export, version, replica)));
            unexported.forEach(key -> out.add(ExportEntry.removed(key, version, replica)));
            return out;
        }
    }

    /**
     * What this replica needs of its own history: the last version it wrote (its clock), and its writes that the
     * merged view may not show yet ({@code pending}), so that an unexport right after an export through the same
     * replica finds it. Pending writes are dropped once the merged view has them.
     */
    public static final class OwnWrites implements CborSerializable {
        static final OwnWrites EMPTY = new OwnWrites(0, List.of());

        private final long lastVersion;
        @JsonIgnore // serialized as a list: Jackson cannot key a map by ServiceKey
        private final Map<ServiceKey, ExportEntry> pending;

        @JsonCreator
        public OwnWrites(@JsonProperty("lastVersion") long lastVersion,
                         @JsonProperty("pending") Collection<ExportEntry> pending) {
            this.lastVersion = lastVersion;
            TreeMap<ServiceKey, ExportEntry> byKey = new TreeMap<>();
            pending.forEach(entry -> byKey.put(entry.key(), entry));
            this.pending = byKey;
        }

        private OwnWrites(long lastVersion, Map<ServiceKey, ExportEntry> pending) {
            this.lastVersion = lastVersion;
            this.pending = pending;
        }

        @JsonProperty("lastVersion")
        public long lastVersion() {
            return lastVersion;
        }

        @JsonProperty("pending")
        public List<ExportEntry> pending() {
            return List.copyOf(pending.values());
        }

        OwnWrites with(List<ExportEntry> written, ClusterExports merged) {
            TreeMap<ServiceKey, ExportEntry> next = new TreeMap<>(pending);
            long last = lastVersion;
            for (ExportEntry entry : written) {
                next.put(entry.key(), entry);
                last = Math.max(last, entry.version());
            }
            // Pending writes are those of the last moments (one batch at most, mostly): pruning them all once per
            // event is linear in them.
            next.values().removeIf(own -> merged.entry(own.key()).filter(seen -> !own.supersedes(seen)).isPresent());
            return new OwnWrites(last, next);
        }

        ExportEntry pendingFor(ServiceKey key) {
            return pending.get(key);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof OwnWrites other && lastVersion == other.lastVersion && pending.equals(other.pending);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(lastVersion) * 31 + pending.hashCode();
        }

        @Override
        public String toString() {
            return "OwnWrites{lastVersion=" + lastVersion + ", pending=" + pending.values() + "}";
        }
    }

    private final String replica;
    private final String tag;
    private final ClusterExports merged;
    private final Consumer<List<ExportEntry>> persisted;
    private final Clock clock;

    private ExportRegistry(String clusterId, String replica, ClusterExports merged, Consumer<List<ExportEntry>> persisted,
                           Clock clock) {
        // A journal that fails a write (the database is away) stops the actor; it comes back and recovers, so the
        // next write can succeed. The failed write was not acknowledged.
        super(persistenceId(clusterId, replica),
                SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
        this.replica = replica;
        this.tag = tag(clusterId);
        this.merged = merged;
        this.persisted = persisted;
        this.clock = clock;
    }

    /**
     * @param merged    the cluster's merged exports: decisions (is there such an export? since when?) are made on it
     * @param persisted called with the words of every event once it is in the journal, before it is acknowledged: with a
     *                  journal that only this replica writes, that applies it to {@code merged} at once; with a
     *                  shared journal it does nothing and the journal reader brings it in the shared order
     */
    public static Behavior<Command> create(String clusterId, String replica, ClusterExports merged,
                                           Consumer<List<ExportEntry>> persisted, Clock clock) {
        return new ExportRegistry(clusterId, replica, merged, persisted, clock);
    }

    /** One stream per replica, named by cluster and replica so a restarted replica continues its own. */
    public static PersistenceId persistenceId(String clusterId, String replica) {
        return PersistenceId.of("ExportRegistry", clusterId + "." + replica);
    }

    /** The tag every replica of {@code clusterId} puts on its export events; the merge reads by it. */
    public static String tag(String clusterId) {
        return "exports-" + clusterId;
    }

    @Override
    public OwnWrites emptyState() {
        return OwnWrites.EMPTY;
    }

    @Override
    public CommandHandlerWithReply<Command, Event, OwnWrites> commandHandler() {
        return (state, command) -> switch (command) {
            case Export(ServiceExport export, ActorRef<Changed> replyTo) -> onExport(state, export, replyTo);
            case Unexport(ServiceKey key, ActorRef<Unexported> replyTo) -> onUnexport(state, key, replyTo);
            case GetExports(ActorRef<ExportSet> replyTo) -> Effect().reply(replyTo, merged.current());
            case ApplyChanges(List<ServiceExport> exports, List<ServiceKey> unexports,
                              ActorRef<ChangesReply> replyTo) -> onApplyChanges(state, exports, unexports, replyTo);
        };
    }

    /** The winning word on {@code key} as far as this replica knows: the merged view or its own newer write. */
    private ExportEntry known(OwnWrites state, ServiceKey key) {
        return ExportEntry.newest(merged.entry(key).orElse(null), state.pendingFor(key));
    }

    private long nextVersion(OwnWrites state, ExportEntry replaced) {
        long afterReplaced = replaced == null ? 0 : replaced.version() + 1;
        return Math.max(Math.max(state.lastVersion() + 1, afterReplaced), clock.millis());
    }

    private ReplyEffect<Event, OwnWrites> onExport(OwnWrites state, ServiceExport export, ActorRef<Changed> replyTo) {
        ExportEntry existing = known(state, export.key());
        ServiceExport current = existing == null ? null : existing.export();
        // Re-exporting keeps the first export time: the MCS merge rules let the oldest export win conflicts.
        ServiceExport toStore = current == null ? export : export.withExportedAt(current.exportedAt());
        if (toStore.equals(current)) {
            return Effect().reply(replyTo, new Changed(current, existing.version()));
        }
        ServiceExported event = new ServiceExported(toStore, nextVersion(state, existing), replica);
        return Effect().persist(event)
                .thenRun(next -> persisted.accept(event.entries()))
                .thenReply(replyTo, next -> new Changed(toStore, event.version()));
    }

    private ReplyEffect<Event, OwnWrites> onUnexport(OwnWrites state, ServiceKey key, ActorRef<Unexported> replyTo) {
        ExportEntry existing = known(state, key);
        if (existing == null || existing.export() == null) {
            return Effect().reply(replyTo, new Unexported(key, false, existing == null ? 0 : existing.version()));
        }
        ServiceUnexported event = new ServiceUnexported(key, nextVersion(state, existing), replica);
        return Effect().persist(event)
                .thenRun(next -> persisted.accept(event.entries()))
                .thenReply(replyTo, next -> new Unexported(key, true, event.version()));
    }

    private ReplyEffect<Event, OwnWrites> onApplyChanges(OwnWrites state, List<ServiceExport> exports,
                                                         List<ServiceKey> unexports, ActorRef<ChangesReply> replyTo) {
        try {
            ExportChanges.check(exports, unexports);
        } catch (io.isthmus.api.InvalidFieldException e) {
            return Effect().reply(replyTo, new ChangesRefused(e.field(), e.value(), e.reason()));
        }
        List<ServiceExport> toStore = new java.util.ArrayList<>();
        List<ServiceKey> toWithdraw = new java.util.ArrayList<>();
        long version = Math.max(state.lastVersion() + 1, clock.millis());
        int unchanged = 0;
        for (ServiceExport export : exports) {
            ExportEntry existing = known(state, export.key());
            ServiceExport current = existing == null ? null : existing.export();
            ServiceExport stored = current == null ? export : export.withExportedAt(current.exportedAt());
            if (stored.equals(current)) {
                unchanged++;
                continue;
            }
            toStore.add(stored);
            version = Math.max(version, existing == null ? 0 : existing.version() + 1);
        }
        for (ServiceKey key : unexports) {
            ExportEntry existing = known(state, key);
            if (existing == null || existing.export() == null) {
                continue;
            }
            toWithdraw.add(key);
            version = Math.max(version, existing.version() + 1);
        }
        int absent = unexports.size() - toWithdraw.size();
        if (toStore.isEmpty() && toWithdraw.isEmpty()) {
            return Effect().reply(replyTo, new ChangesApplied(0, unchanged, 0, absent, 0));
        }
        ServicesChanged event = new ServicesChanged(toStore, toWithdraw, version, replica);
        int stored = toStore.size();
        int withdrawn = toWithdraw.size();
        int same = unchanged;
        return Effect().persist(event)
                .thenRun(next -> persisted.accept(event.entries()))
                .thenReply(replyTo, next -> new ChangesApplied(stored, same, withdrawn, absent, event.version()));
    }

    @Override
    public EventHandler<OwnWrites, Event> eventHandler() {
        return (state, event) -> state.with(event.entries(), merged);
    }

    @Override
    public Set<String> tagsFor(Event event) {
        return Set.of(tag);
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(100, 2);
    }
}
