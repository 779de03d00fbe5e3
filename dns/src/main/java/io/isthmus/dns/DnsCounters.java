package io.isthmus.dns;

import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters for metrics, cheap to bump from many threads. Every message received counts in {@code total}; it then
 * either gets a response (counted by rcode) or is dropped, so {@code total = sum(byRcode) + dropped} once traffic
 * stops. Queries whose question could be read also count by qtype.
 */
public final class DnsCounters {
    /** Qtypes dnsjava has no mnemonic for fold into one label, so strangers cannot grow the map to 65536 keys. */
    static final String OTHER_QTYPE = "OTHER";

    private final LongAdder total = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder truncated = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> byQtype = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LongAdder> byRcode = new ConcurrentHashMap<>();

    void received() {
        total.increment();
    }

    void dropped() {
        dropped.increment();
    }

    void truncated() {
        truncated.increment();
    }

    void qtype(String qtype) {
        byQtype.computeIfAbsent(qtype, k -> new LongAdder()).increment();
    }

    void rcode(String rcode) {
        byRcode.computeIfAbsent(rcode, k -> new LongAdder()).increment();
    }

    /** The counts as of now; each number is read on its own, so under load they may be a few queries apart. */
    public Snapshot snapshot() {
        return new Snapshot(total.sum(), dropped.sum(), truncated.sum(), sums(byQtype), sums(byRcode));
    }

    private static SortedMap<String, Long> sums(Map<String, LongAdder> adders) {
        SortedMap<String, Long> out = new TreeMap<>();
        adders.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    /**
     * Immutable counts.
     *
     * @param total     DNS messages received (UDP datagrams and TCP frames)
     * @param dropped   messages we sent nothing back for (too short to hold a header, or not a query)
     * @param truncated UDP responses sent with TC set because they did not fit
     * @param byQtype   queries by question type mnemonic ("A", "AAAA", ...; "OTHER" for unnamed types), sorted
     * @param byRcode   responses by rcode mnemonic ("NOERROR", "NXDOMAIN", ...), sorted
     */
    public record Snapshot(long total, long dropped, long truncated,
                           SortedMap<String, Long> byQtype, SortedMap<String, Long> byRcode) {
        public Snapshot {
            byQtype = Collections.unmodifiableSortedMap(new TreeMap<>(byQtype));
            byRcode = Collections.unmodifiableSortedMap(new TreeMap<>(byRcode));
        }
    }
}
