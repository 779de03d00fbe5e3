package io.isthmus.tunnel;

import io.isthmus.api.InvalidFieldException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The flows the policy stage saw allowed, so that their answers can pass a table that would deny them as flows of
 * their own ({@link PolicyPacketFilter}). An entry is one 5-tuple (source, destination, protocol, source port,
 * destination port) and when it expires: {@link Settings#tcpTimeout} after the last allowed packet of a TCP flow,
 * {@link Settings#tcpClosingTimeout} once a FIN or RST went either way, {@link Settings#udpTimeout} after the last
 * allowed packet of a UDP or SCTP flow or ICMP echo request (keyed by the echo identifier). Only allowed packets of
 * the flow itself make or refresh an entry; answers never do, so a flow the table stops allowing expires.
 *
 * <p><b>Memory</b> is fixed: {@code capacity} slots of 8 longs (64 bytes) in one {@link AtomicLongArray}, made once.
 * A flow hashes (keyed by a random seed, so outsiders cannot aim at one neighbourhood) to a neighbourhood of
 * {@value #NEIGHBOURHOOD} consecutive slots (open addressing) and lives in one of them; a new flow takes a free or
 * expired slot of its neighbourhood, else the one that expires soonest, which is counted as an eviction. Nothing
 * grows and nothing allocates per packet.
 *
 * <p><b>Threads.</b> Every TUN reader and UDP receiver thread of the engine records and looks up at once (a request
 * goes out on one thread and its answer comes in on another). Each slot is guarded by a sequence lock, its word 0:
 * a writer takes the slot by a compare-and-set of the even sequence it read to the next odd value (failing when
 * any other writer came first, and then leaves this packet unrecorded: the next one records it), writes the key and
 * the state, and publishes the next even value. A reader keeps a slot's words only when the sequence was the same
 * even value before and after it read them (all accesses are volatile, so a word written under a later sequence is
 * never mixed with an earlier key), and reads a slot again while a writer holds it; if the writer stays away
 * ({@value #SPINS} re-reads) the answer is "not tracked", which can drop an answer, never pass a stranger. Two
 * threads may record the same new flow into two slots at once; both are correct entries, the second ages out.
 */
public final class ConnectionTracker {
    static final int NEIGHBOURHOOD = 8;
    private static final int SLOT = 8; // seq, src hi, src lo, dst hi, dst lo, meta, state, (unused)
    private static final int SPINS = 64;
    private static final long CLOSING = 1; // state: expiry millis << 1 | closing
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INTS = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);

    /**
     * @param capacity          entries (64 bytes each), 8..16777216
     * @param tcpTimeout        a TCP flow idle this long is forgotten
     * @param tcpClosingTimeout how long a TCP flow is kept once a FIN or RST went either way
     * @param udpTimeout        a UDP or SCTP flow, or ICMP echo, idle this long is forgotten
     */
    public record Settings(int capacity, Duration tcpTimeout, Duration tcpClosingTimeout, Duration udpTimeout) {
        public Settings {
            if (capacity < NEIGHBOURHOOD || capacity > 1 << 24) {
                throw new InvalidFieldException("capacity", capacity, "must be 8..16777216 entries (64 bytes each)");
            }
            within("tcp-timeout", tcpTimeout, Duration.ofSeconds(10), Duration.ofDays(5));
            within("tcp-closing-timeout", tcpClosingTimeout, Duration.ofSeconds(1), Duration.ofMinutes(10));
            within("udp-timeout", udpTimeout, Duration.ofSeconds(1), Duration.ofHours(1));
            if (tcpClosingTimeout.compareTo(tcpTimeout) > 0) {
                throw new InvalidFieldException("tcp-closing-timeout", tcpClosingTimeout,
                        "must not be longer than tcp-timeout (" + tcpTimeout + ")");
            }
        }

        /** 65,536 entries (4 MiB); TCP 1 h idle, 10 s once closing; UDP, SCTP and ICMP echo 30 s idle. */
        public static Settings defaults() {
            return new Settings(65_536, Duration.ofHours(1), Duration.ofSeconds(10), Duration.ofSeconds(30));
        }

        private static void within(String field, Duration value, Duration least, Duration most) {
            Objects.requireNonNull(value, field);
            if (value.compareTo(least) < 0 || value.compareTo(most) > 0) {
                throw new InvalidFieldException(field, value, "must be between " + least + " and " + most);
            }
        }
    }

    private final Settings settings;
    private final InstantSource clock;
    private final int capacity;
    private final long seed;
    private final long tcpMillis;
    private final long closingMillis;
    private final long udpMillis;
    private final AtomicLongArray slots;
    private final AtomicLong evictions = new AtomicLong();

    public ConnectionTracker(Settings settings, InstantSource clock) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.capacity = settings.capacity();
        this.seed = new SecureRandom().nextLong();
        this.tcpMillis = settings.tcpTimeout().toMillis();
        this.closingMillis = settings.tcpClosingTimeout().toMillis();
        this.udpMillis = settings.udpTimeout().toMillis();
        this.slots = new AtomicLongArray(capacity * SLOT);
    }

    /** With the defaults and the system clock. */
    public static ConnectionTracker withDefaults() {
        return new ConnectionTracker(Settings.defaults(), InstantSource.system());
    }

    public Settings settings() {
        return settings;
    }

    long now() {
        return clock.millis();
    }

    /** What {@link #record} does with a TCP segment, by its flags. */
    enum Tcp {
        /** SYN without ACK: a flow (re)opens. */
        OPENS,
        /** FIN or RST: the flow closes; its entry is kept only {@code tcpClosingTimeout} more. */
        CLOSES,
        /** anything else, and every packet that is not TCP */
        CARRIES
    }

    /**
     * An allowed packet of the flow from the address at {@code sourceAt} to the one at {@code destinationAt}
     * ({@code version} 4 or 6) with these ports (ICMP echo: the identifier and 0): makes or refreshes its entry.
     */
    void record(int version, byte[] packet, int sourceAt, int destinationAt, int protocol, int sourcePort,
                int destinationPort, Tcp tcp, long now) {
        long srcHi = high(version, packet, sourceAt);
        long srcLo = low(version, packet, sourceAt);
        long dstHi = high(version, packet, destinationAt);
        long dstLo = low(version, packet, destinationAt);
        long meta = meta(version, protocol, sourcePort, destinationPort);
        long timeout = protocol == 6 ? (tcp == Tcp.CLOSES ? closingMillis : tcpMillis) : udpMillis;
        int first = first(srcHi, srcLo, dstHi, dstLo, meta);
        long found = find(first, srcHi, srcLo, dstHi, dstLo, meta, now);
        if (found >= 0) {
            refresh(found, tcp, now, timeout);
        } else if (found == NONE && !(protocol == 6 && tcp == Tcp.CLOSES)) { // a FIN or RST alone opens nothing
            insert(first, srcHi, srcLo, dstHi, dstLo, meta, now + timeout << 1, now);
        }
    }

    /**
     * Where the entry of this flow (as {@link #record} was given it) is, when it is tracked and not expired at
     * {@code now}: a handle for {@link #closing}; else negative.
     */
    long tracked(int version, byte[] packet, int sourceAt, int destinationAt, int protocol, int sourcePort,
                 int destinationPort, long now) {
        long srcHi = high(version, packet, sourceAt);
        long srcLo = low(version, packet, sourceAt);
        long dstHi = high(version, packet, destinationAt);
        long dstLo = low(version, packet, destinationAt);
        long meta = meta(version, protocol, sourcePort, destinationPort);
        return find(first(srcHi, srcLo, dstHi, dstLo, meta), srcHi, srcLo, dstHi, dstLo, meta, now);
    }

    /** A FIN or RST answered the tracked flow {@code found}: it is kept at most {@code tcpClosingTimeout} more. */
    void closing(long found, long now) {
        int base = (int) (found & SLOT_MASK) * SLOT;
        long sequence = found >>> SLOT_BITS;
        long state = slots.get(base + 6);
        long closed = Math.min(state >>> 1, now + closingMillis) << 1 | CLOSING;
        if (closed != state && slots.compareAndSet(base, sequence, sequence + 1)) {
            slots.set(base + 6, closed);
            slots.set(base, published(sequence));
        }
    }

    private static final long NONE = -1;
    private static final long BUSY = -2;
    private static final int SLOT_BITS = 24;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    /** Sequences wrap within 39 bits (odd: being written; 0: never written), so one fits beside a slot number. */
    private static final long SEQUENCE_MASK = (1L << (63 - SLOT_BITS)) - 1;

    /** The even sequence a writer publishes after taking a slot at the even {@code sequence} (as sequence + 1). */
    private static long published(long sequence) {
        long next = sequence + 2;
        return next > SEQUENCE_MASK ? 2 : next;
    }

    /**
     * The live entry of the key in the neighbourhood from {@code first}, as its slot and the sequence it was read
     * under ({@code sequence << 24 | slot}), so that a writer's compare-and-set fails if the slot changed since;
     * {@link #NONE} when there is none, {@link #BUSY} when a writer kept a candidate slot through every re-read.
     */
    private long find(int first, long srcHi, long srcLo, long dstHi, long dstLo, long meta, long now) {
        for (int spin = 0; spin < SPINS; spin++) {
            boolean busy = false;
            for (int i = 0; i < NEIGHBOURHOOD; i++) {
                int slot = slot(first, i);
                int base = slot * SLOT;
                if (slots.get(base + 5) != meta) {
                    continue; // another flow's (one being written into this key is not there yet: not found)
                }
                long sequence = slots.get(base);
                boolean same = slots.get(base + 1) == srcHi && slots.get(base + 2) == srcLo
                        && slots.get(base + 3) == dstHi && slots.get(base + 4) == dstLo && slots.get(base + 5) == meta;
                long expiry = slots.get(base + 6) >>> 1;
                if ((sequence & 1) != 0 || slots.get(base) != sequence) {
                    busy = true; // read while a writer had it: the words may mix two keys
                } else if (same && sequence != 0 && expiry > now) {
                    return sequence << SLOT_BITS | slot;
                }
            }
            if (!busy) {
                return NONE;
            }
            Thread.onSpinWait();
        }
        return BUSY;
    }

    private void refresh(long found, Tcp tcp, long now, long timeout) {
        int base = (int) (found & SLOT_MASK) * SLOT;
        long sequence = found >>> SLOT_BITS;
        long state = slots.get(base + 6);
        long expiry = state >>> 1;
        boolean closing = (state & CLOSING) != 0;
        long next;
        if (tcp == Tcp.CLOSES) {
            next = Math.min(expiry, now + closingMillis) << 1 | CLOSING;
        } else if (closing && tcp != Tcp.OPENS) {
            return; // a closing flow is not kept longer by its last ACKs
        } else if (!closing && now + timeout - expiry < timeout >>> 4) {
            return; // fresh enough: an entry is written at most every 1/16 of its timeout
        } else {
            next = now + timeout << 1;
        }
        // fails, leaving the entry as it is, when any writer touched the slot since it was found
        if (next != state && slots.compareAndSet(base, sequence, sequence + 1)) {
            slots.set(base + 6, next);
            slots.set(base, published(sequence));
        }
    }

    private void insert(int first, long srcHi, long srcLo, long dstHi, long dstLo, long meta, long state, long now) {
        int victim = -1;
        long victimSequence = 0;
        long soonest = Long.MAX_VALUE;
        boolean live = false;
        for (int i = 0; i < NEIGHBOURHOOD; i++) {
            int slot = slot(first, i);
            int base = slot * SLOT;
            long sequence = slots.get(base);
            if ((sequence & 1) != 0) {
                continue; // another writer has it
            }
            long expiry = slots.get(base + 6) >>> 1;
            if (sequence == 0 || expiry <= now) {
                victim = slot;
                victimSequence = sequence;
                live = false;
                break;
            }
            if (expiry < soonest) {
                soonest = expiry;
                victim = slot;
                victimSequence = sequence;
                live = true;
            }
        }
        if (victim < 0) {
            return;
        }
        int base = victim * SLOT;
        // fails when another writer took the slot since it was read; the flow's next packet records it
        if (!slots.compareAndSet(base, victimSequence, victimSequence + 1)) {
            return;
        }
        slots.set(base + 1, srcHi);
        slots.set(base + 2, srcLo);
        slots.set(base + 3, dstHi);
        slots.set(base + 4, dstLo);
        slots.set(base + 5, meta);
        slots.set(base + 6, state);
        slots.set(base, published(victimSequence));
        if (live) {
            evictions.incrementAndGet();
        }
    }

    private int slot(int first, int i) {
        int slot = first + i;
        return slot >= capacity ? slot - capacity : slot;
    }

    private int first(long srcHi, long srcLo, long dstHi, long dstLo, long meta) {
        long h = seed;
        h = mix(h ^ srcHi);
        h = mix(h ^ srcLo);
        h = mix(h ^ dstHi);
        h = mix(h ^ dstLo);
        h = mix(h ^ meta);
        return (int) (((h >>> 32) * capacity) >>> 32); // uniform over 0..capacity-1 without a division
    }

    private static long mix(long h) {
        h *= 0x9E3779B97F4A7C15L;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return h ^ h >>> 32;
    }

    private static long high(int version, byte[] packet, int at) {
        return version == 4 ? 0 : (long) LONGS.get(packet, at);
    }

    private static long low(int version, byte[] packet, int at) {
        return version == 4 ? (int) INTS.get(packet, at) & 0xFFFF_FFFFL : (long) LONGS.get(packet, at + 8);
    }

    /** Never 0 (the version is 4 or 6), so an empty slot matches no key. */
    private static long meta(int version, int protocol, int sourcePort, int destinationPort) {
        return (long) version << 48 | (long) protocol << 32 | (long) sourcePort << 16 | destinationPort;
    }

    /** Entries not expired now (a scan of the whole table: for metrics and status, not per packet). */
    public int entries() {
        long now = now();
        int live = 0;
        for (int slot = 0; slot < capacity; slot++) {
            int base = slot * SLOT;
            long sequence = slots.get(base);
            if (sequence != 0 && (slots.get(base + 6) >>> 1) > now) {
                live++;
            }
        }
        return live;
    }

    /** Entries that were still live when a new flow took their slot (the table was full there). */
    public long evictions() {
        return evictions.get();
    }

    public int capacity() {
        return capacity;
    }
}
