package io.isthmus.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;

/**
 * The buckets of {@link RateLimit}: which UDP responses go out, which are withheld and which slip out truncated.
 *
 * <p>Memory is fixed at start: {@code tableSize} buckets in flat arrays, in sets of {@value #WAYS}; a prefix
 * lives in the set its hash picks, and a new prefix takes the set's least recently seen bucket. A flood of
 * forged addresses from everywhere can thus push out a quiet prefix (which then starts again with a full bucket),
 * but not the prefix under attack, which stays the most recently seen. Sets are locked in stripes, so receive
 * threads seldom wait on each other.
 */
final class ResponseRateLimiter {
    /** What to do with one response. */
    enum Verdict {
        SEND,
        /** Withheld: nothing goes out. */
        DROP,
        /** Withheld, but an empty response with TC=1 goes out instead. */
        SLIP
    }

    private static final int WAYS = 4;
    private static final int STRIPES = 64;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final byte EMPTY = 0;
    private static final byte IPV4 = 4;
    private static final byte IPV6 = 6;

    private final RateLimit settings;
    private final List<ClientNetwork> exempt;
    private final double tokensPerNano;
    private final int sets;
    private final long[] keys;
    private final byte[] families;
    private final long[] lastSeen;
    private final double[] tokens;
    private final int[] withheld;
    private final Object[] stripes = new Object[STRIPES];

    ResponseRateLimiter(RateLimit settings) {
        this.settings = settings;
        this.exempt = settings.exemptClients();
        this.tokensPerNano = (double) settings.responsesPerSecond() / NANOS_PER_SECOND;
        this.sets = Integer.highestOneBit(Math.max(1, settings.tableSize() / WAYS));
        int slots = sets * WAYS;
        this.keys = new long[slots];
        this.families = new byte[slots];
        this.lastSeen = new long[slots];
        this.tokens = new double[slots];
        this.withheld = new int[slots];
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Object();
        }
    }

    /** Buckets in the table: {@code tableSize} rounded down to a power of two. */
    int capacity() {
        return keys.length;
    }

    /** Spends one response of {@code client}'s prefix at {@code nowNanos} (a monotonic clock). */
    Verdict judge(InetAddress client, long nowNanos) {
        if (!settings.enabled() || isExempt(client)) {
            return Verdict.SEND;
        }
        byte family;
        long key;
        byte[] address = client.getAddress();
        if (client instanceof Inet4Address) {
            family = IPV4;
            key = (readInt(address, 0) & 0xFFFF_FFFFL) >>> (32 - settings.ipv4PrefixLength());
        } else {
            family = IPV6;
            key = readLong(address) >>> (64 - settings.ipv6PrefixLength());
        }
        int set = (int) (mix(key * 31 + family) & (sets - 1));
        synchronized (stripes[set & (STRIPES - 1)]) {
            return spend(set * WAYS, family, key, nowNanos);
        }
    }

    private Verdict spend(int first, byte family, long key, long now) {
        int slot = -1;
        int oldest = first;
        for (int i = first; i < first + WAYS; i++) {
            if (families[i] == family && keys[i] == key) {
                slot = i;
                break;
            }
            if (families[i] == EMPTY) {
                oldest = i; // a free bucket before any taken one
            } else if (families[oldest] != EMPTY && lastSeen[i] - lastSeen[oldest] < 0) {
                oldest = i;
            }
        }
        if (slot < 0) {
            slot = oldest;
            families[slot] = family;
            keys[slot] = key;
            tokens[slot] = settings.burst();
            withheld[slot] = 0;
        } else {
            long elapsed = Math.max(0, now - lastSeen[slot]);
            tokens[slot] = Math.min(settings.burst(), tokens[slot] + elapsed * tokensPerNano);
        }
        lastSeen[slot] = now;
        if (tokens[slot] >= 1) {
            tokens[slot] -= 1;
            return Verdict.SEND;
        }
        int count = ++withheld[slot];
        if (count == Integer.MAX_VALUE) {
            withheld[slot] = 0;
        }
        return settings.slip() > 0 && count % settings.slip() == 0 ? Verdict.SLIP : Verdict.DROP;
    }

    private boolean isExempt(InetAddress client) {
        if (client.isLoopbackAddress() && exempt == RateLimit.LOOPBACK) {
            return true; // the default, without walking the list
        }
        for (ClientNetwork network : exempt) {
            if (network.contains(client)) {
                return true;
            }
        }
        return false;
    }

    private static int readInt(byte[] b, int at) {
        return (b[at] & 0xFF) << 24 | (b[at + 1] & 0xFF) << 16 | (b[at + 2] & 0xFF) << 8 | (b[at + 3] & 0xFF);
    }

    private static long readLong(byte[] b) {
        return (readInt(b, 0) & 0xFFFF_FFFFL) << 32 | (readInt(b, 4) & 0xFFFF_FFFFL);
    }

    /** A 64-bit finalizer (SplitMix64's), so prefixes that differ in low bits spread over the sets. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
