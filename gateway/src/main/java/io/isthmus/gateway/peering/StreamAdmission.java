package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * How many peering streams one peer cluster may hold open at once, and how fast it may open new ones (a token
 * bucket: {@code opensPerMinute} at most in a burst, refilled evenly over a minute). A member that opens streams in
 * a loop (each a TLS handshake, a session, a full snapshot) is refused once over either, while every other peer
 * is served. The replicas of one cluster count together: they share its cluster id.
 */
public final class StreamAdmission {
    private final int maxOpen;
    private final int opensPerMinute;
    private final LongSupplier nanos;
    private final ConcurrentHashMap<ClusterId, PeerStreams> peers = new ConcurrentHashMap<>();

    /** Why a stream was refused: {@code reason} for the metrics' label, {@code message} in words. */
    public record Refusal(String reason, String message) {
    }

    private static final class PeerStreams {
        int open;
        double tokens;
        long refilledAt;
    }

    public StreamAdmission(int maxOpen, int opensPerMinute, LongSupplier nanos) {
        this.maxOpen = maxOpen;
        this.opensPerMinute = opensPerMinute;
        this.nanos = nanos;
    }

    /** Admits a new stream of {@code peer} (then {@link #closed} must follow), or says why not. */
    public Optional<Refusal> open(ClusterId peer) {
        PeerStreams streams = peers.computeIfAbsent(peer, p -> {
            PeerStreams fresh = new PeerStreams();
            fresh.tokens = opensPerMinute;
            fresh.refilledAt = nanos.getAsLong();
            return fresh;
        });
        synchronized (streams) {
            long now = nanos.getAsLong();
            streams.tokens = Math.min(opensPerMinute,
                    streams.tokens + (now - streams.refilledAt) * opensPerMinute / 60e9);
            streams.refilledAt = now;
            if (streams.open >= maxOpen) {
                return Optional.of(new Refusal("too-many-streams", peer + " holds " + streams.open
                        + " peering streams open already (isthmus.peering.limits.max-streams-per-peer = " + maxOpen + ")"));
            }
            if (streams.tokens < 1) {
                return Optional.of(new Refusal("stream-rate", peer + " opened more than " + opensPerMinute
                        + " peering streams in a minute (isthmus.peering.limits.stream-opens-per-minute)"));
            }
            streams.tokens -= 1;
            streams.open++;
            return Optional.empty();
        }
    }

    public void closed(ClusterId peer) {
        PeerStreams streams = peers.get(peer);
        if (streams != null) {
            synchronized (streams) {
                streams.open = Math.max(0, streams.open - 1);
            }
        }
    }
}
