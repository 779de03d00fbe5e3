package io.isthmus.dns;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.xbill.DNS.Name;

/**
 * Upstream responses by question, at most {@code capacity} of them (the least recently used goes first), each for
 * as long as {@link UpstreamResponse#cacheSeconds} allows. Hits come back with their TTLs aged.
 */
final class ForwardCache {
    /** RFC 9520 §3.2 asks for at least 1 s; a few seconds spares a struggling upstream without hiding its recovery. */
    static final Duration FAILURE_TTL = Duration.ofSeconds(2);
    /** RFC 8767's suggested cap, so a record published with a week's TTL is still looked at again soon. */
    static final Duration MAX_TTL = Duration.ofHours(1);

    /**
     * What a cached response answers. DO and CD are part of it because they change what the upstream sends
     * (signatures; validation). Names compare without case in dnsjava.
     */
    record Key(Name name, int type, int dclass, boolean dnssecOk, boolean checkingDisabled) {
    }

    private record Stored(UpstreamResponse response, long storedNanos, long expiresNanos) {
    }

    private final int capacity;
    private final Map<Key, Stored> entries;

    ForwardCache(int capacity) {
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Stored> eldest) {
                return size() > ForwardCache.this.capacity;
            }
        };
    }

    /** The response for {@code key} with its TTLs aged to {@code nowNanos}, if one is cached and still fresh. */
    Optional<UpstreamResponse> get(Key key, long nowNanos) {
        Stored entry;
        synchronized (entries) {
            entry = entries.get(key);
            if (entry != null && nowNanos - entry.expiresNanos() >= 0) {
                entries.remove(key);
                entry = null;
            }
        }
        if (entry == null) {
            return Optional.empty();
        }
        return Optional.of(entry.response().aged((nowNanos - entry.storedNanos()) / 1_000_000_000L));
    }

    /** Keeps {@code response} for as long as it allows; one that may not be cached is ignored. */
    void put(Key key, UpstreamResponse response, long nowNanos) {
        long seconds = response.cacheSeconds(FAILURE_TTL.toSeconds(), MAX_TTL.toSeconds());
        if (seconds <= 0 || capacity == 0) {
            return;
        }
        Stored entry = new Stored(response, nowNanos, nowNanos + seconds * 1_000_000_000L);
        synchronized (entries) {
            entries.put(key, entry);
        }
    }

    int size() {
        synchronized (entries) {
            return entries.size();
        }
    }
}
