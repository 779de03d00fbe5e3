package io.isthmus.gateway.peering;

import io.isthmus.gateway.exports.ExportSet;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;

import java.util.concurrent.atomic.AtomicReference;

/**
 * This cluster's current exports, and a signal to every open peer link when they change. Links read the
 * current set when signalled (or on their heartbeat), so a dropped signal delays an update by at most one
 * heartbeat and never loses it.
 */
public final class ExportFeed {
    private final AtomicReference<ExportSet> current = new AtomicReference<>(ExportSet.EMPTY);
    /** The last full snapshot made of an export set offered to every cluster: the same for every stream. */
    private final AtomicReference<SharedSnapshot> lastSnapshot = new AtomicReference<>();
    private final BoundedSourceQueue<Long> signals;
    private final Source<Long, NotUsed> changes;

    public ExportFeed(ActorSystem<?> system) {
        Pair<BoundedSourceQueue<Long>, Source<Long, NotUsed>> hub = Source.<Long>queue(64)
                .toMat(BroadcastHub.of(Long.class, 64), Keep.both())
                .run(system);
        this.signals = hub.first();
        this.changes = hub.second();
    }

    public ExportSet current() {
        return current.get();
    }

    /** Takes {@code exports} if it is newer than what the feed holds; returns whether it did. */
    public boolean offer(ExportSet exports) {
        ExportSet before = current.getAndAccumulate(exports, (old, candidate) ->
                candidate.version() > old.version() ? candidate : old);
        if (exports.version() <= before.version()) {
            return false;
        }
        signals.offer(exports.version());
        return true;
    }

    private record SharedSnapshot(ExportSet exports, Object message) {
    }

    /**
     * The snapshot message of {@code exports} made by {@code make}, made once for all the streams that ask for the
     * same set (at a restart, every stream of every peer asks at once: building it is O(n) each).
     */
    <T> T snapshotOf(ExportSet exports, java.util.function.Supplier<T> make) {
        SharedSnapshot known = lastSnapshot.get();
        if (known != null && known.exports() == exports) {
            @SuppressWarnings("unchecked")
            T message = (T) known.message();
            return message;
        }
        T message = make.get();
        lastSnapshot.set(new SharedSnapshot(exports, message));
        return message;
    }

    /** Emits a version number each time the exports change (while the link is subscribed). */
    public Source<Long, NotUsed> changes() {
        return changes;
    }
}
