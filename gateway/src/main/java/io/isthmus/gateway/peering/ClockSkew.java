package io.isthmus.gateway.peering;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * How far a peer's wall clock is from ours, estimated from its heartbeats NTP-style. A heartbeat carries the peer's
 * wall clock when it was sent and lets us measure the round trip (its echo of our last heartbeat). Its one-way delay
 * lies between 0 and that round trip, so {@code peerWall - (ourWallAtReceipt - rtt / 2)} is the peer's offset give or
 * take {@code rtt / 2}, whatever the asymmetry of the path. Of the last {@link #WINDOW} samples the one with the
 * lowest round trip is kept (NTP's clock filter): queueing only ever adds delay, so the fastest exchange is the
 * least distorted, while a window rather than all time follows a clock that was stepped or drifts.
 *
 * <p>Not thread-safe: one per peer stream, fed by its inbound stage.
 */
public final class ClockSkew {
    /** Samples considered: 16 heartbeats, 16 s at the default interval. */
    static final int WINDOW = 16;
    /**
     * A wall clock further off than this is no clock (a peer sending garbage): such samples are dropped, which also
     * keeps every sum here and in the nanoseconds of the estimate far from overflowing.
     */
    static final long MAX_OFFSET_MICROS = Duration.ofDays(365L * 100).toNanos() / 1_000;

    /**
     * @param offset the peer's clock minus ours (positive: the peer's clock is ahead)
     * @param bound  how wrong {@code offset} may be at most, either way: half the sample's round trip
     */
    public record Estimate(Duration offset, Duration bound) {
        /** What a time read on the peer's clock was on ours. */
        Instant toLocal(Instant peerTime) {
            return peerTime.minus(offset);
        }
    }

    private final long[] offsetMicros = new long[WINDOW];
    private final long[] rttMicros = new long[WINDOW];
    private int samples;
    private int next;

    /**
     * Takes one heartbeat and returns the estimate after it.
     *
     * @param peerWallMicros    the heartbeat's {@code wall_clock_unix_micros}; 0 (a peer older than the field) is no
     *                          sample
     * @param localWallAtReceipt our wall clock when the heartbeat arrived
     * @param rtt               the round trip measured from this heartbeat's echo; null when it had none (no sample)
     */
    Optional<Estimate> sample(long peerWallMicros, Instant localWallAtReceipt, Duration rtt) {
        long localUs = micros(localWallAtReceipt);
        if (peerWallMicros != 0 && rtt != null && !rtt.isNegative() && rtt.compareTo(Duration.ofHours(1)) < 0
                && peerWallMicros > localUs - MAX_OFFSET_MICROS && peerWallMicros < localUs + MAX_OFFSET_MICROS) {
            long rttUs = rtt.toNanos() / 1_000;
            offsetMicros[next] = peerWallMicros - (localUs - rttUs / 2);
            rttMicros[next] = rttUs;
            next = (next + 1) % WINDOW;
            samples = Math.min(samples + 1, WINDOW);
        }
        return estimate();
    }

    /** The lowest-round-trip sample of the window; empty before the first sample. */
    Optional<Estimate> estimate() {
        if (samples == 0) {
            return Optional.empty();
        }
        int best = -1;
        // Newest first, so that of equal round trips the most recent wins.
        for (int i = 1; i <= samples; i++) {
            int at = Math.floorMod(next - i, WINDOW);
            if (best < 0 || rttMicros[at] < rttMicros[best]) {
                best = at;
            }
        }
        return Optional.of(new Estimate(Duration.ofNanos(offsetMicros[best] * 1_000),
                Duration.ofNanos(rttMicros[best] / 2 * 1_000)));
    }

    static long micros(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000);
    }

    static Instant instantOfMicros(long micros) {
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }
}
