package io.isthmus.gateway.exports;

import org.apache.pekko.actor.Cancellable;
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
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Reads every replica's export events from the journal by their tag, in the journal's global order (its
 * {@code ordering} column), into {@link ClusterExports}. That order is the same for every replica, which is what
 * makes the merged versions agree between replicas.
 *
 * <p>The tag query passes a hole in the ordering after a while (a write rolled back leaves one for ever), so a
 * commit slower than that would be skipped. A sweep therefore checks each replica's stream, whose sequence numbers
 * have no holes, against what was applied, and applies what the tag query skipped (late, with a warning).
 */
public final class ExportJournal {
    private static final Logger log = LoggerFactory.getLogger(ExportJournal.class);
    private static final RestartSettings RESTART = RestartSettings.create(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2);
    private static final Duration SWEEP_INTERVAL = Duration.ofSeconds(2);

    private final ActorSystem<?> system;
    private final String tag;
    private final ClusterExports merged;
    private final JdbcReadJournal journal;
    private final Streams streams = new Streams();

    public ExportJournal(ActorSystem<?> system, String tag, ClusterExports merged) {
        this.system = system;
        this.tag = tag;
        this.merged = merged;
        this.journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    }

    /**
     * Applies the events in the journal now, quietly; completes with the offset of the last one (0: none). A
     * failed read (the database or the journal's sequence reader too slow to answer) is retried from the last
     * applied event, {@code attempts} times in all.
     */
    public CompletionStage<Long> recover(int attempts) {
        return recoverFrom(new AtomicLong(), attempts);
    }

    private CompletionStage<Long> recoverFrom(AtomicLong offset, int attemptsLeft) {
        return journal.currentEventsByTag(tag, Offset.sequence(offset.get()))
                .runForeach(envelope -> offset.set(apply(envelope)), system)
                .handle((done, failure) -> {
                    if (failure == null) {
                        return CompletableFuture.completedFuture(offset.get());
                    }
                    if (attemptsLeft <= 1) {
                        return CompletableFuture.<Long>failedFuture(failure);
                    }
                    log.info("reading the export events failed at offset {}, trying again: {}", offset.get(),
                            failure.toString());
                    return recoverFrom(offset, attemptsLeft - 1).toCompletableFuture();
                })
                .thenCompose(result -> result);
    }

    /**
     * Keeps applying the events written after {@code offset} (by any replica, this one included) as the journal
     * shows them, polled every {@code jdbc-read-journal.refresh-interval}, and sweeps for skipped ones. Database
     * errors restart the query from the last applied event, with backoff. Closing stops both.
     */
    public AutoCloseable follow(long offset) {
        AtomicLong applied = new AtomicLong(offset);
        // RestartSource logs each failure before it restarts.
        UniqueKillSwitch reader = RestartSource.withBackoff(RESTART,
                        () -> journal.eventsByTag(tag, Offset.sequence(applied.get())))
                .viaMat(KillSwitches.single(), Keep.right())
                .toMat(Sink.foreach(envelope -> applied.set(apply(envelope))), Keep.left())
                .run(system);
        AtomicBoolean sweeping = new AtomicBoolean();
        Cancellable sweeps = system.scheduler().scheduleWithFixedDelay(SWEEP_INTERVAL, SWEEP_INTERVAL, () -> {
            if (sweeping.compareAndSet(false, true)) {
                sweep(applied.get()).whenComplete((ok, failure) -> {
                    sweeping.set(false);
                    if (failure != null) {
                        log.warn("sweeping the export streams for skipped events failed: {}", failure.toString());
                    }
                });
            }
        }, system.executionContext());
        return () -> {
            sweeps.cancel();
            reader.shutdown();
        };
    }

    /**
     * Reads again, per replica stream, the events after its first hole (or beyond the last one applied), and
     * applies those the tag query has passed ({@code ordering} below {@code passed}) without applying them. Newer
     * ones are left to the tag query, which brings them in the journal's order.
     */
    private CompletionStage<Void> sweep(long passed) {
        CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
        for (Map.Entry<String, Long> stream : streams.contiguous().entrySet()) {
            String persistenceId = stream.getKey();
            long upTo = stream.getValue();
            all = all.thenCompose(previous -> journal.currentLastSequenceNumberByPersistenceId(persistenceId)
                    .thenCompose(last -> {
                        long lastStored = last.orElse(0L);
                        if (lastStored <= upTo) {
                            return CompletableFuture.completedFuture(null);
                        }
                        return journal.currentEventsByPersistenceId(persistenceId, upTo + 1, lastStored)
                                .runForeach(envelope -> {
                                    long ordering = ((Sequence) envelope.offset()).value();
                                    if (ordering < passed
                                            && streams.isNew(envelope.persistenceId(), envelope.sequenceNr())) {
                                        log.warn("export event {} #{} was skipped by the tag query (a slow commit); "
                                                + "applied now", envelope.persistenceId(), envelope.sequenceNr());
                                        applyEvent(envelope);
                                    }
                                }, system)
                                .thenApply(done -> (Void) null);
                    }));
        }
        return all;
    }

    private long apply(EventEnvelope envelope) {
        if (streams.isNew(envelope.persistenceId(), envelope.sequenceNr())) {
            applyEvent(envelope);
        }
        return ((Sequence) envelope.offset()).value();
    }

    private void applyEvent(EventEnvelope envelope) {
        if (envelope.event() instanceof ExportRegistry.Event event) {
            merged.applyAll(event.entries());
        } else {
            log.warn("ignoring an event of type {} under the exports tag (persistence id {})",
                    envelope.event().getClass().getName(), envelope.persistenceId());
        }
    }

    /** Which events of each replica's stream were applied: all up to {@code contiguous}, and some beyond. */
    private static final class Streams {
        private final Map<String, Long> contiguous = new HashMap<>();
        private final Map<String, TreeSet<Long>> beyond = new HashMap<>();

        /** Records {@code sequenceNr} as applied; false if it was already. */
        synchronized boolean isNew(String persistenceId, long sequenceNr) {
            long upTo = contiguous.getOrDefault(persistenceId, 0L);
            TreeSet<Long> ahead = beyond.computeIfAbsent(persistenceId, id -> new TreeSet<>());
            if (sequenceNr <= upTo || !ahead.add(sequenceNr)) {
                return false;
            }
            while (ahead.remove(upTo + 1)) {
                upTo++;
            }
            contiguous.put(persistenceId, upTo);
            return true;
        }

        synchronized Map<String, Long> contiguous() {
            return Map.copyOf(contiguous);
        }
    }
}
