package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import java.util.List;

/**
 * Response rate limiting for UDP (RRL, as BIND, NSD and Knot do it), so that nobody can use the server to flood a
 * third party by forging its address: each client prefix has a token bucket of {@code burst} responses that
 * refills at {@code responsesPerSecond}; past it, responses are withheld, and every {@code slip}-th withheld one
 * goes out as an empty truncated response (TC=1) instead, which sends a real client to TCP (never limited) and
 * gives a forger nothing larger than its query. TCP is not limited: a forged address cannot finish a handshake.
 *
 * @param responsesPerSecond refill of each prefix's bucket; 0 turns limiting off
 * @param burst              the bucket's size: responses a quiet prefix may get at once
 * @param slip               every slip-th withheld response is sent truncated; 0: none is, all are dropped
 * @param ipv4PrefixLength   IPv4 clients in one prefix of this length share a bucket (BIND's default, 24)
 * @param ipv6PrefixLength   the same for IPv6, at most 64 (BIND's default, 56)
 * @param tableSize          buckets kept at most (memory is bounded by it); the least recently seen goes first
 * @param exemptClients      networks never limited (by default loopback: the node's own resolvers and probes)
 */
public record RateLimit(int responsesPerSecond, int burst, int slip, int ipv4PrefixLength, int ipv6PrefixLength,
                        int tableSize, List<ClientNetwork> exemptClients) {
    public static final int DEFAULT_RESPONSES_PER_SECOND = 1_000;
    public static final int DEFAULT_BURST = 2_000;
    public static final int DEFAULT_SLIP = 2;
    public static final int DEFAULT_IPV4_PREFIX = 24;
    public static final int DEFAULT_IPV6_PREFIX = 56;
    public static final int DEFAULT_TABLE_SIZE = 65_536;
    public static final List<ClientNetwork> LOOPBACK = List.of(ClientNetwork.parse("127.0.0.0/8"),
            ClientNetwork.parse("::1/128"));
    private static final int MAX_RATE = 10_000_000;
    private static final int MAX_SLIP = 10;
    private static final int MAX_TABLE_SIZE = 1 << 24;
    /** On by default: 1,000 responses a second per /24 or /56, bursts of 2,000, every second withheld one slips. */
    public static final RateLimit DEFAULTS = new RateLimit(DEFAULT_RESPONSES_PER_SECOND, DEFAULT_BURST,
            DEFAULT_SLIP, DEFAULT_IPV4_PREFIX, DEFAULT_IPV6_PREFIX, DEFAULT_TABLE_SIZE, LOOPBACK);
    public static final RateLimit OFF = DEFAULTS.withResponsesPerSecond(0);

    public RateLimit {
        if (responsesPerSecond < 0 || responsesPerSecond > MAX_RATE) {
            throw new InvalidFieldException("dns rate limit responses per second", responsesPerSecond,
                    "must be between 0 (off) and " + MAX_RATE);
        }
        if (burst < 1 || burst > MAX_RATE) {
            throw new InvalidFieldException("dns rate limit burst", burst, "must be between 1 and " + MAX_RATE);
        }
        if (slip < 0 || slip > MAX_SLIP) {
            throw new InvalidFieldException("dns rate limit slip", slip,
                    "must be between 0 (drop every withheld response) and " + MAX_SLIP);
        }
        if (ipv4PrefixLength < 1 || ipv4PrefixLength > 32) {
            throw new InvalidFieldException("dns rate limit ipv4 prefix length", ipv4PrefixLength,
                    "must be between 1 and 32");
        }
        if (ipv6PrefixLength < 1 || ipv6PrefixLength > 64) {
            throw new InvalidFieldException("dns rate limit ipv6 prefix length", ipv6PrefixLength,
                    "must be between 1 and 64");
        }
        if (tableSize < 16 || tableSize > MAX_TABLE_SIZE) {
            throw new InvalidFieldException("dns rate limit table size", tableSize,
                    "must be between 16 and " + MAX_TABLE_SIZE);
        }
        if (exemptClients == null || exemptClients.stream().anyMatch(n -> n == null)) {
            throw new InvalidFieldException("dns rate limit exempt clients", exemptClients,
                    "must be a list of networks (may be empty)");
        }
        exemptClients = List.copyOf(exemptClients);
    }

    public boolean enabled() {
        return responsesPerSecond > 0;
    }

    public RateLimit withResponsesPerSecond(int responsesPerSecond) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }

    public RateLimit withBurst(int burst) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }

    public RateLimit withSlip(int slip) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }

    public RateLimit withPrefixLengths(int ipv4PrefixLength, int ipv6PrefixLength) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }

    public RateLimit withTableSize(int tableSize) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }

    public RateLimit withExemptClients(List<ClientNetwork> exemptClients) {
        return new RateLimit(responsesPerSecond, burst, slip, ipv4PrefixLength, ipv6PrefixLength, tableSize,
                exemptClients);
    }
}
