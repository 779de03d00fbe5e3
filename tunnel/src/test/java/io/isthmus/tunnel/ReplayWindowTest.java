package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReplayWindowTest {
    @Test
    void eachCounterIsAcceptedOnce() {
        ReplayWindow window = new ReplayWindow();
        for (long c = 0; c < 5000; c++) {
            assertTrue(window.mightAccept(c));
            assertTrue(window.accept(c));
            assertFalse(window.mightAccept(c));
            assertFalse(window.accept(c));
        }
    }

    @Test
    void reorderingWithinTheWindowIsAcceptedAndOlderCountersAreNot() {
        ReplayWindow window = new ReplayWindow();
        assertTrue(window.accept(10_000));
        assertTrue(window.accept(10_000 - ReplayWindow.WINDOW + 1));
        assertTrue(window.accept(9_999));
        assertFalse(window.accept(9_999));
        assertFalse(window.mightAccept(10_000 - ReplayWindow.WINDOW));
        assertFalse(window.accept(10_000 - ReplayWindow.WINDOW));
        assertFalse(window.accept(3));
    }

    /** What a filter in front may drop: below the floor nothing is accepted, then or after; at it, still. */
    @Test
    void theFloorIsTheLowestCounterStillAccepted() {
        ReplayWindow window = new ReplayWindow();
        assertEquals(0, window.floor());
        window.accept(ReplayWindow.WINDOW - 1);
        assertEquals(0, window.floor());
        window.accept(10_000);
        long floor = window.floor();
        assertEquals(10_000 - 1984 + 1, floor); // WINDOW is 2048 - 64 = 1984
        assertFalse(window.mightAccept(floor - 1));
        assertTrue(window.mightAccept(floor));
        assertTrue(window.accept(floor));
        window.accept(20_000);
        assertFalse(window.accept(floor + 1), "the floor only rises");
        assertTrue(window.floor() > floor);
    }

    @Test
    void aLargeJumpForgetsTheOldBitmap() {
        ReplayWindow window = new ReplayWindow();
        for (long c = 0; c < 100; c++) {
            window.accept(c);
        }
        long far = 1L << 40;
        assertTrue(window.accept(far));
        // the slots counters 0..99 occupied are reused by far - WINDOW + small, which were never seen
        for (long c = far - 100; c < far; c++) {
            assertTrue(window.accept(c), "counter " + c);
        }
        assertFalse(window.accept(-1));
    }
}
