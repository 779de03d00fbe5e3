package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Where names outside the clusterset zone go: off while {@code upstreams} is empty.
 *
 * @param upstreams      resolvers to ask (the cluster's own DNS, say), tried in turn starting from a rotating one
 * @param timeout        how long one try waits for an upstream's UDP answer (and for each TCP step)
 * @param attempts       tries per query in all, each on the next upstream
 * @param cacheEntries   responses kept at most; 0 turns the cache off
 * @param allowedClients who may have names forwarded; anybody else gets REFUSED for them, so we are no open resolver
 */
public record Forwarding(List<InetSocketAddress> upstreams, Duration timeout, int attempts, int cacheEntries,
                         List<ClientNetwork> allowedClients) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);
    public static final int DEFAULT_ATTEMPTS = 3;
    public static final int DEFAULT_CACHE_ENTRIES = 10_000;
    public static final int DNS_PORT = 53;
    // Before OFF: static fields initialize in order, and OFF's constructor reads these.
    private static final Duration MAX_TIMEOUT = Duration.ofSeconds(30);
    private static final int MAX_ATTEMPTS = 10;
    private static final int MAX_CACHE_ENTRIES = 10_000_000;
    /** No upstreams: names outside the zone are refused. */
    public static final Forwarding OFF = new Forwarding(List.of(), DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS,
            DEFAULT_CACHE_ENTRIES, ClientNetwork.PRIVATE);

    public Forwarding {
        if (upstreams == null) {
            throw new InvalidFieldException("dns forward upstreams", "", "must be a list, empty to turn forwarding off");
        }
        for (InetSocketAddress upstream : upstreams) {
            if (upstream == null || upstream.isUnresolved() || upstream.getPort() == 0
                    || upstream.getAddress().isAnyLocalAddress()) {
                throw new InvalidFieldException("dns forward upstreams", upstream,
                        "each must be an IP address and a port other than 0, e.g. 10.96.0.10:53");
            }
        }
        upstreams = List.copyOf(upstreams);
        if (timeout == null || timeout.toMillis() < 1 || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new InvalidFieldException("dns forward timeout", timeout, "must be between 1 ms and 30 s");
        }
        if (attempts < 1 || attempts > MAX_ATTEMPTS) {
            throw new InvalidFieldException("dns forward attempts", attempts, "must be between 1 and " + MAX_ATTEMPTS);
        }
        if (cacheEntries < 0 || cacheEntries > MAX_CACHE_ENTRIES) {
            throw new InvalidFieldException("dns forward cache entries", cacheEntries,
                    "must be between 0 (no cache) and " + MAX_CACHE_ENTRIES);
        }
        if (allowedClients == null || allowedClients.isEmpty() || allowedClients.stream().anyMatch(n -> n == null)) {
            throw new InvalidFieldException("dns forward allowed clients", allowedClients,
                    "must list at least one network; 0.0.0.0/0 and ::/0 would make an open resolver");
        }
        allowedClients = List.copyOf(allowedClients);
    }

    /** Forwards to {@code upstreams} with the default timeout, attempts, cache size and allow-list. */
    public static Forwarding to(List<InetSocketAddress> upstreams) {
        return OFF.withUpstreams(upstreams);
    }

    /** Parses upstreams as written in configuration: {@code 10.96.0.10}, {@code 10.96.0.10:53}, {@code [fd00::10]:53}. */
    public static List<InetSocketAddress> parseUpstreams(List<String> texts) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String text : texts) {
            out.add(parseUpstream(text));
        }
        return out;
    }

    static InetSocketAddress parseUpstream(String text) {
        String value = text == null ? "" : text.trim();
        String host = value;
        String port = null;
        if (value.startsWith("[")) {
            int close = value.indexOf(']');
            if (close < 0 || (close + 1 < value.length() && value.charAt(close + 1) != ':')) {
                throw new InvalidFieldException("dns forward upstreams", text, "expected [IPv6]:PORT, e.g. [fd00::10]:53");
            }
            host = value.substring(1, close);
            port = close + 1 < value.length() ? value.substring(close + 2) : null;
        } else if (value.indexOf(':') >= 0 && value.indexOf(':') == value.lastIndexOf(':')) {
            host = value.substring(0, value.indexOf(':'));
            port = value.substring(value.indexOf(':') + 1);
        }
        int number = DNS_PORT;
        if (port != null) {
            if (!port.matches("\\d{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
                throw new InvalidFieldException("dns forward upstreams", text, "the port must be between 1 and 65535");
            }
            number = Integer.parseInt(port);
        }
        try {
            return new InetSocketAddress(IpLiteral.parse("dns forward upstreams", host), number);
        } catch (InvalidFieldException e) {
            throw new InvalidFieldException("dns forward upstreams", text,
                    "must be an IP address with an optional port, e.g. 10.96.0.10:53 or [fd00::10]:53");
        }
    }

    public boolean enabled() {
        return !upstreams.isEmpty();
    }

    public Forwarding withUpstreams(List<InetSocketAddress> upstreams) {
        return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowedClients);
    }

    public Forwarding withTimeout(Duration timeout) {
        return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowedClients);
    }

    public Forwarding withAttempts(int attempts) {
        return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowedClients);
    }

    public Forwarding withCacheEntries(int cacheEntries) {
        return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowedClients);
    }

    public Forwarding withAllowedClients(List<ClientNetwork> allowedClients) {
        return new Forwarding(upstreams, timeout, attempts, cacheEntries, allowedClients);
    }
}
