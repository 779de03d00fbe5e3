package io.isthmus.tunnel;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/** Drops by reason, counted from many threads without contention. */
final class DropCounters {
    private final LongAdder[] counts = new LongAdder[DropReason.values().length];

    DropCounters() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    void count(DropReason reason) {
        counts[reason.ordinal()].increment();
    }

    Map<DropReason, Long> snapshot() {
        Map<DropReason, Long> snapshot = new EnumMap<>(DropReason.class);
        for (DropReason reason : DropReason.values()) {
            snapshot.put(reason, counts[reason.ordinal()].sum());
        }
        return java.util.Collections.unmodifiableMap(snapshot);
    }
}
