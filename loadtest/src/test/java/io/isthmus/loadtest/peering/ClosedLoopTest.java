package io.isthmus.loadtest.peering;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClosedLoopTest {
    /** A sender whose changes complete only when the test says so; it counts what is outstanding per peer. */
    private static final class HeldSender implements ClosedLoop.Sender {
        final List<CompletableFuture<Void>> outstanding = new ArrayList<>();
        final List<Integer> peerOf = new ArrayList<>();
        final int[] sent;
        final int[] inFlight;
        int mostInFlight;

        HeldSender(int peers) {
            sent = new int[peers];
            inFlight = new int[peers];
        }

        @Override
        public CompletableFuture<Void> send(int peer) {
            sent[peer]++;
            inFlight[peer]++;
            mostInFlight = Math.max(mostInFlight, inFlight[peer]);
            CompletableFuture<Void> f = new CompletableFuture<>();
            outstanding.add(f);
            peerOf.add(peer);
            return f;
        }

        /** Completes the i-th change sent (its outcome known). */
        void complete(int i) {
            inFlight[peerOf.get(i)]--;
            outstanding.get(i).complete(null);
        }
    }

    @Test
    void eachPeerStartsWithKChangesAndSendsOneMoreForEachThatCompletes() {
        AtomicLong clock = new AtomicLong();
        HeldSender sender = new HeldSender(3);
        ClosedLoop loop = new ClosedLoop(3, 2, clock::get, 1_000, sender, Runnable::run).start();
        assertEquals(6, sender.outstanding.size());
        assertEquals(List.of(2, 2, 2), List.of(sender.sent[0], sender.sent[1], sender.sent[2]));

        sender.complete(4); // one of peer 1's
        assertEquals(7, sender.outstanding.size(), "exactly one more");
        assertEquals(1, (int) sender.peerOf.get(6), "for the same peer");
        sender.complete(0);
        sender.complete(6);
        assertEquals(9, sender.outstanding.size());
        assertEquals(2, sender.mostInFlight, "never more than K in flight for a peer");
        assertFalse(loop.done().isDone());
    }

    @Test
    void afterTheDeadlineCompletionsRetireTheirSlotsAndTheLoopEndsWhenAllHave() {
        AtomicLong clock = new AtomicLong();
        HeldSender sender = new HeldSender(2);
        ClosedLoop loop = new ClosedLoop(2, 1, clock::get, 1_000, sender, Runnable::run).start();
        sender.complete(0);
        assertEquals(3, sender.outstanding.size());
        clock.set(1_000);
        sender.complete(1);
        sender.complete(2);
        assertEquals(3, sender.outstanding.size(), "nothing sent at or after the deadline");
        assertTrue(loop.done().isDone());
    }

    @Test
    void aSendThatThrowsCountsAsCompletedAndTheLoopGoesOn() {
        AtomicLong clock = new AtomicLong();
        int[] calls = {0};
        ClosedLoop loop = new ClosedLoop(1, 1, clock::get, 1_000, peer -> {
            if (++calls[0] == 3) {
                clock.set(1_000); // the third call is the last one the deadline lets through
            }
            if (calls[0] % 2 == 1) {
                throw new IllegalStateException("cannot send");
            }
            return CompletableFuture.completedFuture(null);
        }, Runnable::run).start();
        assertEquals(3, calls[0]);
        assertTrue(loop.done().isDone());
    }
}
