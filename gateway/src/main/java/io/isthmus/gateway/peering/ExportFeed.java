package io.isthmus.gateway.peering;

import io.isthmus.gateway.exports.ExportSet;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Clock;
import java.util.concurrent.atomic.AtomicReference;

/**
 * This cluster's current exports, and a signal to every open peer link when they change. Links read the
 * current set when signalled (or on their heartbeat), so a dropped signal delays an update by at most one
 * heartbeat and never loses it. Each set is stamped with the wall clock when the feed took it, the
 * {@code changed_at} its deltas carry; the peer links read their heartbeats' wall clock from the same clock.
 */
public final class ExportFeed {
    /** An export set and when (Unix microseconds, 0 for the empty start) this feed took it. */
    record Stamped(ExportSet exports, long changedAtMicros) {
    }

    private final Clock clock;
    private final AtomicReference<Stamped> current = new AtomicReference<>(new Stamped(ExportSet.EMPTY, 0));
    /** The last full snapshot made of an export set offered to every cluster: the same for every stream. */
    private final AtomicReference<SharedSnapshot> lastSnapshot = new AtomicReference<>();
    private final BoundedSourceQueue<Long> signals;
    private final Source<Long, NotUsed> changes;

    public ExportFeed(ActorSystem<?> system) {
        this(system, Clock.systemUTC());
    }

    /** @param clock this gateway's wall clock (tests give one gateway of several a clock that is off) */
    public ExportFeed(ActorSystem<?> system, Clock clock) {
        this.clock = clock;
        Pair<BoundedSourceQueue<Long>, Source<Long, NotUsed>> hub = Source.<Long>queue(64)
                .toMat(BroadcastHub.of(Long.class, 64), Keep.both())
                .run(system);
        this.signals = hub.first();
        this.changes = hub.second();
    }

    public ExportSet current() {
        return current.get().exports();
    }

    /** The current set with its stamp, read together. */
    Stamped stamped() {
        return current.get();
    }

    Clock clock() {
        return clock;
    }

    /** Takes {@code exports} if it is newer than what the feed holds; returns whether it did. */
    public boolean offer(ExportSet exports) {
        Stamped candidate = new Stamped(exports, ClockSkew.micros(clock.instant()));
        Stamped before = current.getAndAccumulate(candidate, (old, offered) ->
                offered.exports().version() > old.exports().version() ? offered : old);
        if (exports.version() <= before.exports().version()) {
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
