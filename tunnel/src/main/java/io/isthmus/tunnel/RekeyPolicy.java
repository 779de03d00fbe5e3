package io.isthmus.tunnel;

import java.time.Duration;

/**
 * When a peer's session is replaced, and how long the replaced one still opens packets.
 *
 * @param after        a session older than this is replaced (default 120 s)
 * @param afterPackets a session that sent this many packets is replaced
 * @param afterBytes   a session that sent this many bytes is replaced
 * @param grace        how long the previous session still opens packets once a new one is in use (packets sealed
 *                     just before the switch are still in flight)
 * @param retryAfter   an offer unanswered this long is made again (the peering stream may have been reconnected)
 */
public record RekeyPolicy(Duration after, long afterPackets, long afterBytes, Duration grace, Duration retryAfter) {
    public RekeyPolicy {
        if (after.isNegative() || after.isZero() || grace.isNegative() || retryAfter.isNegative()
                || retryAfter.isZero()) {
            throw new IllegalArgumentException("rekey times must be positive (grace may be zero): " + this);
        }
        if (afterPackets < 1 || afterPackets > Session.REJECT_AFTER_PACKETS || afterBytes < 1) {
            throw new IllegalArgumentException("rekey volumes must be positive, packets at most 2^48: " + this);
        }
    }

    /** 120 s, 2^32 packets or 1 TiB, 10 s of grace, offers retried after 5 s. */
    public static RekeyPolicy defaults() {
        return new RekeyPolicy(Duration.ofSeconds(120), 1L << 32, 1L << 40, Duration.ofSeconds(10),
                Duration.ofSeconds(5));
    }

    public RekeyPolicy withVolume(long packets, long bytes) {
        return new RekeyPolicy(after, packets, bytes, grace, retryAfter);
    }

    public RekeyPolicy withAfter(Duration after) {
        return new RekeyPolicy(after, afterPackets, afterBytes, grace, retryAfter);
    }

    boolean due(Session session, java.time.Instant now) {
        return !session.created().plus(after).isAfter(now) || session.sentPackets() >= afterPackets
                || session.sentBytes() >= afterBytes;
    }
}
