package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A sampled record of decisions: one in {@code every} is written to a ring of {@code capacity} slots, the oldest
 * overwritten. Writing allocates nothing and takes no lock: each slot has a sequence number written before (odd,
 * "being written") and after its fields, and a reader keeps only slots whose sequence did not move while it read.
 */
public final class DecisionLog {
    private static final int SLOT = 8; // seq, time, src hi, src lo, dst hi, dst lo, meta, decision

    /** One logged decision. */
    public record Entry(long atMillis, InetAddress source, InetAddress destination, int protocol, int port,
                        long decision) {
        @Override
        public String toString() {
            return new Flow(source, destination, protocol, port) + " "
                    + (Decision.allowed(decision) ? "ALLOW" : "DENY") + " rule " + Decision.decidingRule(decision);
        }
    }

    private final int capacity;
    private final int every;
    private final AtomicLong seen = new AtomicLong();
    private final AtomicLongArray slots;

    public DecisionLog(int capacity, int every) {
        if (capacity < 1 || capacity > 1 << 20) {
            throw new InvalidFieldException("decision-log.capacity", capacity, "must be 1..1048576");
        }
        if (every < 1) {
            throw new InvalidFieldException("decision-log.sample-every", every, "must be at least 1");
        }
        this.capacity = capacity;
        this.every = every;
        this.slots = new AtomicLongArray(capacity * SLOT);
    }

    /** Counts a decision and writes it when it is the sampled one of its {@code every}. */
    public void offer(int version, byte[] packet, int sourceAt, int destinationAt, int protocol, int port,
                      long decision) {
        long n = seen.getAndIncrement();
        if (n % every != 0) {
            return;
        }
        long sample = n / every;
        int base = (int) (sample % capacity) * SLOT;
        long sequence = sample * 2 + 2; // even: complete; odd: being written
        slots.set(base, sequence - 1);
        slots.set(base + 1, System.currentTimeMillis());
        int length = version == 4 ? 4 : 16;
        slots.set(base + 2, length == 16 ? read(packet, sourceAt, 8) : 0);
        slots.set(base + 3, length == 16 ? read(packet, sourceAt + 8, 8) : read(packet, sourceAt, 4));
        slots.set(base + 4, length == 16 ? read(packet, destinationAt, 8) : 0);
        slots.set(base + 5, length == 16 ? read(packet, destinationAt + 8, 8) : read(packet, destinationAt, 4));
        slots.set(base + 6, (long) version << 32 | (long) protocol << 20 | (port & 0xF_FFFFL));
        slots.set(base + 7, decision);
        slots.set(base, sequence);
    }

    /** How many decisions were offered (sampled or not). */
    public long seen() {
        return seen.get();
    }

    public int every() {
        return every;
    }

    /** The logged decisions still in the ring, oldest first. */
    public List<Entry> recent() {
        List<long[]> complete = new ArrayList<>();
        for (int slot = 0; slot < capacity; slot++) {
            int base = slot * SLOT;
            long before = slots.get(base);
            long[] fields = new long[SLOT];
            for (int i = 1; i < SLOT; i++) {
                fields[i] = slots.get(base + i);
            }
            if (before > 0 && before % 2 == 0 && slots.get(base) == before) {
                fields[0] = before;
                complete.add(fields);
            }
        }
        complete.sort(Comparator.comparingLong(f -> f[0]));
        List<Entry> entries = new ArrayList<>(complete.size());
        for (long[] f : complete) {
            int version = (int) (f[6] >>> 32);
            int protocol = (int) (f[6] >>> 20) & 0xFFF;
            int port = (int) (f[6] & 0xF_FFFF);
            entries.add(new Entry(f[1], address(version, f[2], f[3]), address(version, f[4], f[5]), protocol,
                    port == 0xF_FFFF ? Flow.NO_PORT : port, f[7]));
        }
        return entries;
    }

    private static long read(byte[] bytes, int at, int length) {
        long value = 0;
        for (int i = 0; i < length; i++) {
            value = value << 8 | bytes[at + i] & 0xFF;
        }
        return value;
    }

    private static InetAddress address(int version, long hi, long lo) {
        byte[] bytes = new byte[version == 4 ? 4 : 16];
        for (int i = 0; i < bytes.length; i++) {
            int fromEnd = bytes.length - 1 - i; // byte position counted from the last
            long word = fromEnd < 8 ? lo : hi;
            bytes[i] = (byte) (word >>> (8 * (fromEnd % 8)));
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // never: the length is 4 or 16
        }
    }
}
