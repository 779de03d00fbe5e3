package io.isthmus.gateway.exports;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.CborSerializable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.apache.pekko.persistence.typed.RecoveryCompleted;

import java.time.Clock;

/**
 * The exports of one cluster: a sharded, event-sourced entity (one per cluster id), so an acknowledged export
 * survives a restart of any replica. Every change is published whole on a topic that peering and DNS follow.
 */
public final class ExportRegistry
        extends EventSourcedBehaviorWithEnforcedReplies<ExportRegistry.Command, ExportRegistry.Event, ExportSet> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "ExportRegistry");

    public sealed interface Command extends CborSerializable {
    }

    /** Adds or replaces an export. An identical re-export is acknowledged without a new version. */
    public record Export(ServiceExport export, ActorRef<Changed> replyTo) implements Command {
    }

    public record Unexport(ServiceKey key, ActorRef<Unexported> replyTo) implements Command {
    }

    public record GetExports(ActorRef<ExportSet> replyTo) implements Command {
    }

    public record Changed(ServiceExport export, long version) implements CborSerializable {
    }

    /** {@code found} is false when there was no such export (nothing changed). */
    public record Unexported(ServiceKey key, boolean found, long version) implements CborSerializable {
    }

    public sealed interface Event extends CborSerializable {
    }

    public record ServiceExported(ServiceExport export, long version) implements Event {
    }

    public record ServiceUnexported(ServiceKey key, long version) implements Event {
    }

    private final ActorRef<Topic.Command<ExportSet>> topic;
    private final Clock clock;

    private ExportRegistry(String clusterId, ActorRef<Topic.Command<ExportSet>> topic, Clock clock) {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), clusterId));
        this.topic = topic;
        this.clock = clock;
    }

    public static Behavior<Command> create(String clusterId, ActorRef<Topic.Command<ExportSet>> topic, Clock clock) {
        return new ExportRegistry(clusterId, topic, clock);
    }

    @Override
    public ExportSet emptyState() {
        return ExportSet.EMPTY;
    }

    @Override
    public CommandHandlerWithReply<Command, Event, ExportSet> commandHandler() {
        return (state, command) -> switch (command) {
            case Export(ServiceExport export, ActorRef<Changed> replyTo) -> onExport(state, export, replyTo);
            case Unexport(ServiceKey key, ActorRef<Unexported> replyTo) -> onUnexport(state, key, replyTo);
            case GetExports(ActorRef<ExportSet> replyTo) -> Effect().reply(replyTo, state);
        };
    }

    private ReplyEffect<Event, ExportSet> onExport(ExportSet state, ServiceExport export, ActorRef<Changed> replyTo) {
        ServiceExport existing = state.find(export.key()).orElse(null);
        // Re-exporting keeps the first export time: the MCS merge rules let the oldest export win conflicts.
        ServiceExport toStore = existing == null ? export
                : export.withExportedAt(existing.exportedAt());
        if (toStore.equals(existing)) {
            return Effect().reply(replyTo, new Changed(existing, state.version()));
        }
        return Effect().persist(new ServiceExported(toStore, state.nextVersion(clock.instant())))
                .thenRun(this::publish)
                .thenReply(replyTo, next -> new Changed(toStore, next.version()));
    }

    private ReplyEffect<Event, ExportSet> onUnexport(ExportSet state, ServiceKey key, ActorRef<Unexported> replyTo) {
        if (state.find(key).isEmpty()) {
            return Effect().reply(replyTo, new Unexported(key, false, state.version()));
        }
        return Effect().persist(new ServiceUnexported(key, state.nextVersion(clock.instant())))
                .thenRun(this::publish)
                .thenReply(replyTo, next -> new Unexported(key, true, next.version()));
    }

    private void publish(ExportSet state) {
        topic.tell(Topic.publish(state));
    }

    @Override
    public EventHandler<ExportSet, Event> eventHandler() {
        return (state, event) -> switch (event) {
            case ServiceExported(ServiceExport export, long version) -> state.with(export, version);
            case ServiceUnexported(ServiceKey key, long version) -> state.without(key, version);
        };
    }

    @Override
    public SignalHandler<ExportSet> signalHandler() {
        return newSignalHandlerBuilder().onSignal(RecoveryCompleted.instance(), this::publish).build();
    }

    @Override
    public RetentionCriteria retentionCriteria() {
        return RetentionCriteria.snapshotEvery(100, 2);
    }
}
