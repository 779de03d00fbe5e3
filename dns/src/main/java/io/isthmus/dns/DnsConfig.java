package io.isthmus.dns;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Optional;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * What a {@link DnsServer} needs to start. Build it with {@link #of} and the {@code with} methods; every bad value
 * throws an {@link InvalidFieldException} naming the field.
 *
 * @param listen         address and port for both UDP and TCP; port 0 picks a free port
 * @param zone           the clusterset zone we are authoritative for, absolute
 * @param ttl            TTL of every record we serve, and the SOA minimum (so also the negative-caching TTL)
 * @param tcpIdleTimeout how long a TCP connection may wait for its next query before we close it
 * @param locality       how the local cluster's endpoints are placed in answers
 * @param localCluster   the cluster this server runs in; required unless locality is {@link Locality#OFF}
 * @param clusterNames   whether {@code <clusterid>.<svc>.<ns>.svc.<zone>} names exist (beyond the MCS spec, which
 *                       asks for no per-cluster names; off by default)
 * @param forwarding     where names outside the zone go; {@link Forwarding#OFF} refuses them
 * @param rateLimit      response rate limiting for UDP ({@link RateLimit#DEFAULTS} unless set; {@link RateLimit#OFF})
 */
public record DnsConfig(InetSocketAddress listen, Name zone, Duration ttl, Duration tcpIdleTimeout,
                        Locality locality, Optional<ClusterId> localCluster, boolean clusterNames,
                        Forwarding forwarding, RateLimit rateLimit) {
    public static final Name DEFAULT_ZONE = Name.fromConstantString("clusterset.local.");
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(5);
    /** RFC 7766 §6.2.3 asks for seconds, not minutes, for idle DNS connections. */
    public static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration MAX_TTL = Duration.ofDays(1);
    /** 255 bytes less the longest label we put right under the zone, {@code dns-version} (one length byte + 11). */
    private static final int MAX_ZONE_LENGTH = 255 - 12;

    public DnsConfig {
        if (listen == null || listen.isUnresolved()) {
            throw new InvalidFieldException("dns listen address", listen, "must be an IP address and port");
        }
        if (zone == null || !zone.isAbsolute()) {
            throw new InvalidFieldException("dns zone", zone, "must be an absolute DNS name such as clusterset.local.");
        }
        if (zone.length() > MAX_ZONE_LENGTH) {
            throw new InvalidFieldException("dns zone", zone,
                    "is too long: names such as dns-version.<zone> and hostmaster.<zone> must fit in 255 bytes");
        }
        if (ttl == null || ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0 || ttl.toNanosPart() != 0) {
            throw new InvalidFieldException("dns ttl", ttl, "must be whole seconds between 0 and 86400");
        }
        if (tcpIdleTimeout == null || tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()
                || tcpIdleTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new InvalidFieldException("dns tcp idle timeout", tcpIdleTimeout, "must be positive");
        }
        if (locality == null) {
            throw new InvalidFieldException("dns locality", "", "must be off, prefer-local or local-only");
        }
        if (localCluster == null) {
            localCluster = Optional.empty();
        }
        if (locality != Locality.OFF && localCluster.isEmpty()) {
            throw new InvalidFieldException("dns local cluster", "",
                    "is required when dns locality is " + locality.label() + " (set the local cluster first)");
        }
        if (forwarding == null) {
            throw new InvalidFieldException("dns forwarding", "", "must be given; Forwarding.OFF turns it off");
        }
        if (rateLimit == null) {
            throw new InvalidFieldException("dns rate limit", "", "must be given; RateLimit.OFF turns it off");
        }
        for (InetSocketAddress upstream : forwarding.upstreams()) {
            if (isOwnAddress(listen, upstream)) {
                throw new InvalidFieldException("dns forward upstreams", DnsServer.show(upstream),
                        "is this server's own listen address; forwarding to it would loop");
            }
        }
    }

    private static boolean isOwnAddress(InetSocketAddress listen, InetSocketAddress upstream) {
        if (listen.getPort() == 0 || listen.getPort() != upstream.getPort()) {
            return false;
        }
        return listen.getAddress().equals(upstream.getAddress())
                || (listen.getAddress().isAnyLocalAddress() && upstream.getAddress().isLoopbackAddress());
    }

    /** Listens on {@code listen}; default zone, TTL and idle timeout, locality off, no forwarding. */
    public static DnsConfig of(InetSocketAddress listen) {
        return new DnsConfig(listen, DEFAULT_ZONE, DEFAULT_TTL, DEFAULT_TCP_IDLE_TIMEOUT, Locality.OFF,
                Optional.empty(), false, Forwarding.OFF, RateLimit.DEFAULTS);
    }

    /** Parses a zone name as written in configuration; a missing final dot is added. */
    public static Name parseZone(String text) {
        try {
            return Name.fromString(text == null ? "" : text.trim(), Name.root);
        } catch (TextParseException e) {
            throw new InvalidFieldException("dns zone", text, e.getMessage());
        }
    }

    public DnsConfig withZone(String zone) {
        return new DnsConfig(listen, parseZone(zone), ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withTtl(Duration ttl) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withTcpIdleTimeout(Duration tcpIdleTimeout) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    /** Sets the cluster this server runs in; set it before a locality other than off. */
    public DnsConfig withLocalCluster(ClusterId localCluster) {
        if (localCluster == null) {
            throw new InvalidFieldException("dns local cluster", "", "must be a cluster id");
        }
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, Optional.of(localCluster), clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withLocality(Locality locality) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withClusterNames(boolean clusterNames) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withRateLimit(RateLimit rateLimit) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }

    public DnsConfig withForwarding(Forwarding forwarding) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout, locality, localCluster, clusterNames, forwarding, rateLimit);
    }
}
