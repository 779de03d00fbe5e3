package io.isthmus.loadtest.peering;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * The closed injection model: each of {@code peers} keeps {@code inFlight} changes outstanding; when one's outcome
 * is known (answered in DNS, timed out, or not sent) the next is sent at once, until the deadline. A slot whose
 * change completes after the deadline retires; {@link #done()} completes when every slot has retired.
 */
final class ClosedLoop {
    /** Sends one change for peer {@code peer} (0-based); the stage completes when its outcome is known. */
    interface Sender {
        CompletionStage<?> send(int peer);
    }

    private final int peers;
    private final int inFlight;
    private final LongSupplier clock;
    private final long deadlineNanos;
    private final Sender sender;
    private final Executor executor;
    private final AtomicInteger live = new AtomicInteger();
    private final CompletableFuture<Void> done = new CompletableFuture<>();

    /**
     * @param clock    {@link System#nanoTime} in the driver; a test's own clock otherwise
     * @param executor where the next change is sent from when one completes (not the thread completing it)
     */
    ClosedLoop(int peers, int inFlight, LongSupplier clock, long deadlineNanos, Sender sender, Executor executor) {
        if (peers < 1 || inFlight < 1) {
            throw new IllegalArgumentException("a closed loop needs peers and changes in flight, got " + peers
                    + " peers, " + inFlight + " in flight");
        }
        this.peers = peers;
        this.inFlight = inFlight;
        this.clock = clock;
        this.deadlineNanos = deadlineNanos;
        this.sender = sender;
        this.executor = executor;
    }

    /** Sends the first {@code inFlight} changes of every peer. */
    ClosedLoop start() {
        live.set(peers * inFlight);
        for (int k = 0; k < inFlight; k++) {
            for (int p = 0; p < peers; p++) {
                next(p);
            }
        }
        return this;
    }

    CompletableFuture<Void> done() {
        return done;
    }

    private void next(int peer) {
        if (clock.getAsLong() - deadlineNanos >= 0) {
            if (live.decrementAndGet() == 0) {
                done.complete(null);
            }
            return;
        }
        CompletionStage<?> outcome;
        try {
            outcome = sender.send(peer);
        } catch (RuntimeException e) {
            outcome = CompletableFuture.failedFuture(e);
        }
        outcome.whenComplete((result, error) -> executor.execute(() -> next(peer)));
    }
}
