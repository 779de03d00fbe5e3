package io.isthmus.tunnel;

/**
 * Which counters of one session were already received, RFC 6479 style: a ring of {@value #BITS} bits in 64-bit words,
 * so sliding forward clears whole words instead of shifting. A counter is accepted once, and only if it is within
 * {@value #WINDOW} of the highest accepted one; reordering within that is fine (several sender threads share a
 * session's counter, so packets do arrive out of order).
 *
 * <p>{@link #mightAccept} is a cheap check before decryption (no lock; a stale answer only costs a decryption);
 * {@link #accept} decides, after the packet authenticated, under the lock.
 */
final class ReplayWindow {
    static final int BITS = 2048;
    private static final int WORDS = BITS / 64;
    /** Counters this far below the highest are refused: one word is always being recycled. */
    static final int WINDOW = BITS - 64;

    private final long[] bitmap = new long[WORDS];
    private volatile long highest = -1;

    boolean mightAccept(long counter) {
        long top = highest;
        if (counter > top) {
            return true;
        }
        if (top - counter >= WINDOW) {
            return false;
        }
        return (bitmap[(int) (counter >>> 6) & (WORDS - 1)] & (1L << (counter & 63))) == 0;
    }

    /** The lowest counter {@link #accept} may still take: anything below is refused now and for ever. */
    long floor() {
        long top = highest;
        return top < WINDOW ? 0 : top - WINDOW + 1;
    }

    synchronized boolean accept(long counter) {
        if (counter < 0) {
            return false;
        }
        long top = highest;
        if (counter > top) {
            long fromWord = top < 0 ? -1 : top >>> 6;
            long toWord = counter >>> 6;
            long clear = Math.min(toWord - fromWord, WORDS);
            for (long i = 1; i <= clear; i++) {
                bitmap[(int) ((fromWord + i) & (WORDS - 1))] = 0;
            }
            highest = counter;
        } else if (top - counter >= WINDOW) {
            return false;
        }
        int word = (int) (counter >>> 6) & (WORDS - 1);
        long bit = 1L << (counter & 63);
        if ((bitmap[word] & bit) != 0) {
            return false;
        }
        bitmap[word] |= bit;
        return true;
    }
}
