package io.isthmus.dns;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import org.xbill.DNS.Rcode;

/**
 * Counters for metrics, cheap to bump from many threads. Every message received counts in {@code total}; it then
 * either gets a response (counted by rcode, and in the latency histogram) or is dropped, so
 * {@code total = sum(byRcode) + dropped} once traffic stops. Queries whose question could be read also count by
 * qtype.
 */
public final class DnsCounters {
    /** Qtypes dnsjava has no mnemonic for fold into one label, so strangers cannot grow the map to 65536 keys. */
    static final String OTHER_QTYPE = "OTHER";
    /** Upper bounds of the latency buckets, in microseconds; a last bucket takes the rest (+Inf). */
    public static final List<Long> LATENCY_BOUNDS_MICROS = List.of(50L, 100L, 250L, 500L, 1_000L, 2_500L, 5_000L,
            10_000L, 25_000L, 100_000L);
    /** Qtypes and rcodes below these count in arrays (no map lookup per query); the rare rest in maps. */
    private static final int QTYPES_IN_ARRAY = 512;
    private static final int RCODES_IN_ARRAY = 32;
    private static final long[] BOUNDS_NANOS = LATENCY_BOUNDS_MICROS.stream().mapToLong(b -> b * 1_000).toArray();

    /** What became of a query sent to the upstreams. */
    public enum ForwardOutcome {
        /** An upstream answered (with any rcode). */
        ANSWERED,
        /** Every try timed out. */
        TIMEOUT,
        /** The upstreams failed otherwise (refused the connection, sent garbage...). */
        ERROR;

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final LongAdder total = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder truncated = new LongAdder();
    private final AtomicReferenceArray<LongAdder> qtypes = new AtomicReferenceArray<>(QTYPES_IN_ARRAY);
    private final ConcurrentHashMap<String, LongAdder> otherQtypes = new ConcurrentHashMap<>();
    private final AtomicReferenceArray<LongAdder> rcodes = new AtomicReferenceArray<>(RCODES_IN_ARRAY);
    private final ConcurrentHashMap<String, LongAdder> otherRcodes = new ConcurrentHashMap<>();
    private final LongAdder[] latencyBuckets = adders(BOUNDS_NANOS.length + 1);
    private final LongAdder latencySumNanos = new LongAdder();
    private final LongAdder cacheHits = new LongAdder();
    private final LongAdder cacheMisses = new LongAdder();
    private final LongAdder[] forwarded = adders(ForwardOutcome.values().length);
    private final LongAdder refusedByAllowList = new LongAdder();
    private final LongAdder internalErrors = new LongAdder();
    private final LongAdder rateLimited = new LongAdder();
    private final LongAdder rateLimitSlipped = new LongAdder();

    private static LongAdder[] adders(int count) {
        LongAdder[] out = new LongAdder[count];
        for (int i = 0; i < count; i++) {
            out[i] = new LongAdder();
        }
        return out;
    }

    void received() {
        total.increment();
    }

    void dropped() {
        dropped.increment();
    }

    void truncated() {
        truncated.increment();
    }

    void qtype(int qtype) {
        if (qtype < QTYPES_IN_ARRAY) {
            adder(qtypes, qtype).increment();
        } else {
            otherQtypes.computeIfAbsent(QueryProcessor.qtypeLabel(qtype), k -> new LongAdder()).increment();
        }
    }

    void rcode(int rcode) {
        if (rcode >= 0 && rcode < RCODES_IN_ARRAY) {
            adder(rcodes, rcode).increment();
        } else {
            otherRcodes.computeIfAbsent(Rcode.string(rcode), k -> new LongAdder()).increment();
        }
    }

    private static LongAdder adder(AtomicReferenceArray<LongAdder> array, int index) {
        LongAdder adder = array.get(index);
        if (adder == null) {
            array.compareAndSet(index, null, new LongAdder());
            adder = array.get(index);
        }
        return adder;
    }

    /** One response sent, {@code nanos} after its query was received. */
    void latency(long nanos) {
        int bucket = 0;
        while (bucket < BOUNDS_NANOS.length && nanos > BOUNDS_NANOS[bucket]) {
            bucket++;
        }
        latencyBuckets[bucket].increment();
        latencySumNanos.add(nanos);
    }

    /** A UDP response withheld by the rate limit (also counted as dropped). */
    void rateLimited() {
        rateLimited.increment();
    }

    /** A UDP response the rate limit sent truncated instead (also counted as truncated and by rcode). */
    void rateLimitSlipped() {
        rateLimitSlipped.increment();
    }

    void cacheHit() {
        cacheHits.increment();
    }

    void cacheMiss() {
        cacheMisses.increment();
    }

    void forwarded(ForwardOutcome outcome) {
        forwarded[outcome.ordinal()].increment();
    }

    void refusedByAllowList() {
        refusedByAllowList.increment();
    }

    /** A bug: a handler threw, or the server itself failed on a message. Logged where it happens. */
    void internalError() {
        internalErrors.increment();
    }

    /** What {@link Snapshot#internalErrors} will say, without the cost of a whole snapshot (for the fuzzer). */
    long internalErrorCount() {
        return internalErrors.sum();
    }

    /** The counts as of now; each number is read on its own, so under load they may be a few queries apart. */
    public Snapshot snapshot() {
        SortedMap<String, Long> byQtype = new TreeMap<>();
        for (int i = 0; i < QTYPES_IN_ARRAY; i++) {
            LongAdder adder = qtypes.get(i);
            if (adder != null) {
                byQtype.merge(QueryProcessor.qtypeLabel(i), adder.sum(), Long::sum);
            }
        }
        otherQtypes.forEach((label, adder) -> byQtype.merge(label, adder.sum(), Long::sum));
        SortedMap<String, Long> byRcode = new TreeMap<>();
        for (int i = 0; i < RCODES_IN_ARRAY; i++) {
            LongAdder adder = rcodes.get(i);
            if (adder != null) {
                byRcode.merge(Rcode.string(i), adder.sum(), Long::sum);
            }
        }
        otherRcodes.forEach((label, adder) -> byRcode.merge(label, adder.sum(), Long::sum));
        SortedMap<String, Long> byOutcome = new TreeMap<>();
        for (ForwardOutcome outcome : ForwardOutcome.values()) {
            byOutcome.put(outcome.label(), forwarded[outcome.ordinal()].sum());
        }
        long[] buckets = new long[latencyBuckets.length];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = latencyBuckets[i].sum();
        }
        return new Snapshot(total.sum(), dropped.sum(), truncated.sum(), byQtype, byRcode,
                new LatencyHistogram(LATENCY_BOUNDS_MICROS, Arrays.stream(buckets).boxed().toList(),
                        latencySumNanos.sum() / 1_000),
                cacheHits.sum(), cacheMisses.sum(), byOutcome, refusedByAllowList.sum(), internalErrors.sum(),
                rateLimited.sum(), rateLimitSlipped.sum());
    }

    /**
     * Response latency from receipt of a query to its response being handed to the transport.
     *
     * @param boundsMicros upper bounds of the buckets, in microseconds, ascending
     * @param counts       responses per bucket (not cumulative), one more than the bounds: the last is +Inf
     * @param sumMicros    the sum of all latencies, in microseconds
     */
    public record LatencyHistogram(List<Long> boundsMicros, List<Long> counts, long sumMicros) {
        public LatencyHistogram {
            boundsMicros = List.copyOf(boundsMicros);
            counts = List.copyOf(counts);
            if (counts.size() != boundsMicros.size() + 1) {
                throw new IllegalArgumentException("one count per bound and one for +Inf, not " + counts.size());
            }
        }

        /** Prometheus's {@code _bucket} values: responses at or under each bound, the last being +Inf. */
        public List<Long> cumulativeCounts() {
            long running = 0;
            Long[] out = new Long[counts.size()];
            for (int i = 0; i < out.length; i++) {
                running += counts.get(i);
                out[i] = running;
            }
            return List.of(out);
        }

        /** Prometheus's {@code _count}: all responses. */
        public long count() {
            return counts.stream().mapToLong(Long::longValue).sum();
        }
    }

    /**
     * Immutable counts.
     *
     * @param total              DNS messages received (UDP datagrams and TCP frames)
     * @param dropped            messages we sent nothing back for (too short to hold a header, not a query,
     *                           shed because too many queries were already waiting for upstreams, or rate limited)
     * @param truncated          UDP responses sent with TC set because they did not fit
     * @param byQtype            queries by question type mnemonic ("A", "AAAA", ...; "OTHER" for unnamed types)
     * @param byRcode            responses by rcode mnemonic ("NOERROR", "NXDOMAIN", ...)
     * @param latency            time from receipt to response
     * @param cacheHits          forwarded names answered from the forwarding cache
     * @param cacheMisses        forwarded names that had to be asked upstream
     * @param forwardedByOutcome queries sent upstream by what became of them: "answered", "timeout", "error"
     * @param refusedByAllowList forwarded names refused because the client is not on the allow-list
     * @param internalErrors     bugs: a handler threw (the client got SERVFAIL) or a message made the server fail
     * @param rateLimited        UDP responses withheld by the rate limit (they count in {@code dropped} too)
     * @param rateLimitSlipped   UDP responses the rate limit sent empty with TC instead (in {@code truncated} too)
     */
    public record Snapshot(long total, long dropped, long truncated,
                           SortedMap<String, Long> byQtype, SortedMap<String, Long> byRcode,
                           LatencyHistogram latency, long cacheHits, long cacheMisses,
                           SortedMap<String, Long> forwardedByOutcome, long refusedByAllowList, long internalErrors,
                           long rateLimited, long rateLimitSlipped) {
        public Snapshot {
            byQtype = Collections.unmodifiableSortedMap(new TreeMap<>(byQtype));
            byRcode = Collections.unmodifiableSortedMap(new TreeMap<>(byRcode));
            forwardedByOutcome = Collections.unmodifiableSortedMap(new TreeMap<>(forwardedByOutcome));
        }

        /** Cache hits over lookups, 0 before the first lookup. */
        public double cacheHitRatio() {
            long lookups = cacheHits + cacheMisses;
            return lookups == 0 ? 0 : (double) cacheHits / lookups;
        }
    }
}
