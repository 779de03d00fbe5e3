package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import java.net.InetSocketAddress;
import java.time.Duration;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * What a {@link DnsServer} needs to start.
 *
 * @param listen         address and port for both UDP and TCP; port 0 picks a free port
 * @param zone           the clusterset zone we are authoritative for, absolute
 * @param ttl            TTL of every record we serve, and the SOA minimum (so also the negative-caching TTL)
 * @param tcpIdleTimeout how long a TCP connection may wait for its next query before we close it
 */
public record DnsConfig(InetSocketAddress listen, Name zone, Duration ttl, Duration tcpIdleTimeout) {
    public static final Name DEFAULT_ZONE = Name.fromConstantString("clusterset.local.");
    public static final Duration DEFAULT_TTL = Duration.ofSeconds(5);
    /** RFC 7766 §6.2.3 asks for seconds, not minutes, for idle DNS connections. */
    public static final Duration DEFAULT_TCP_IDLE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration MAX_TTL = Duration.ofDays(1);

    public DnsConfig {
        if (listen == null || listen.isUnresolved()) {
            throw new InvalidFieldException("dns listen address", listen, "must be an IP address and port");
        }
        if (zone == null || !zone.isAbsolute()) {
            throw new InvalidFieldException("dns zone", zone, "must be an absolute DNS name such as clusterset.local.");
        }
        if (ttl == null || ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0 || ttl.toNanosPart() != 0) {
            throw new InvalidFieldException("dns ttl", ttl, "must be whole seconds between 0 and 86400");
        }
        if (tcpIdleTimeout == null || tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()
                || tcpIdleTimeout.toMillis() > Integer.MAX_VALUE) {
            throw new InvalidFieldException("dns tcp idle timeout", tcpIdleTimeout, "must be positive");
        }
    }

    /** Listens on {@code listen}; default zone, TTL and idle timeout. */
    public static DnsConfig of(InetSocketAddress listen) {
        return new DnsConfig(listen, DEFAULT_ZONE, DEFAULT_TTL, DEFAULT_TCP_IDLE_TIMEOUT);
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
        return new DnsConfig(listen, parseZone(zone), ttl, tcpIdleTimeout);
    }

    public DnsConfig withTtl(Duration ttl) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout);
    }

    public DnsConfig withTcpIdleTimeout(Duration tcpIdleTimeout) {
        return new DnsConfig(listen, zone, ttl, tcpIdleTimeout);
    }
}
