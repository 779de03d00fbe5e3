package io.isthmus.gateway.exports;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads every replica's export events from the journal by their tag, in the journal's global order (its
 * {@code ordering} column), into {@link ClusterExports}. That order is the same for every replica, which is what
 * makes the merged versions agree between replicas.
 */
public final class ExportJournal {
    private static final Logger log = LoggerFactory.getLogger(ExportJournal.class);
    private static final RestartSettings RESTART = RestartSettings.create(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2);

    private ExportJournal() {
    }

    /**
     * Applies the events in the journal now, quietly; completes with the offset of the last one (0: none). A
     * failed read (the database or the journal's sequence reader too slow to answer) is retried from the last
     * applied event, {@code attempts} times in all.
     */
    public static CompletionStage<Long> recover(ActorSystem<?> system, String tag, ClusterExports merged,
                                                int attempts) {
        return recoverFrom(system, tag, merged, new AtomicLong(), attempts);
    }

    private static CompletionStage<Long> recoverFrom(ActorSystem<?> system, String tag, ClusterExports merged,
                                                     AtomicLong offset, int attemptsLeft) {
        return readJournal(system).currentEventsByTag(tag, Offset.sequence(offset.get()))
                .runForeach(envelope -> offset.set(apply(envelope, merged)), system)
                .handle((done, failure) -> {
                    if (failure == null) {
                        return CompletableFuture.completedFuture(offset.get());
                    }
                    if (attemptsLeft <= 1) {
                        return CompletableFuture.<Long>failedFuture(failure);
                    }
                    log.info("reading the export events failed at offset {}, trying again: {}", offset.get(),
                            failure.toString());
                    return recoverFrom(system, tag, merged, offset, attemptsLeft - 1).toCompletableFuture();
                })
                .thenCompose(result -> result);
    }

    /**
     * Keeps applying the events written after {@code offset} (by any replica, this one included) as the journal
     * shows them, polled every {@code jdbc-read-journal.refresh-interval}. Database errors restart the query from
     * the last applied event, with backoff. The returned switch stops it.
     */
    public static UniqueKillSwitch follow(ActorSystem<?> system, String tag, ClusterExports merged, long offset) {
        AtomicLong applied = new AtomicLong(offset);
        JdbcReadJournal journal = readJournal(system);
        // RestartSource logs each failure before it restarts.
        return RestartSource.withBackoff(RESTART, () -> journal.eventsByTag(tag, Offset.sequence(applied.get())))
                .viaMat(KillSwitches.single(), Keep.right())
                .toMat(Sink.foreach(envelope -> applied.set(apply(envelope, merged))), Keep.left())
                .run(system);
    }

    private static long apply(EventEnvelope envelope, ClusterExports merged) {
        if (envelope.event() instanceof ExportRegistry.Event event) {
            merged.apply(event.entry());
        } else {
            log.warn("ignoring an event of type {} under the exports tag (persistence id {})",
                    envelope.event().getClass().getName(), envelope.persistenceId());
        }
        return ((Sequence) envelope.offset()).value();
    }

    private static JdbcReadJournal readJournal(ActorSystem<?> system) {
        return PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }
}
