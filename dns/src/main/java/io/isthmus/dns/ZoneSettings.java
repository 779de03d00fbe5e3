package io.isthmus.dns;

import io.isthmus.api.ClusterId;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Optional;
import org.xbill.DNS.Name;

/**
 * What shapes the zone's records, taken from {@link DnsConfig}.
 *
 * @param zone              the zone, lower-cased (every name we build is lower case, so it can be a lookup key)
 * @param ttlSeconds        TTL of every record and the SOA minimum
 * @param nameServerAddress the address {@code ns.dns.<zone>} resolves to; empty (NODATA) when we listen on a
 *                          wildcard address, which is no address a client could use
 */
record ZoneSettings(Name zone, long ttlSeconds, Locality locality, Optional<ClusterId> localCluster,
                    boolean clusterNames, Optional<InetAddress> nameServerAddress) {

    static ZoneSettings from(DnsConfig config) {
        InetAddress listen = config.listen().getAddress();
        return new ZoneSettings(config.zone().canonicalize(), config.ttl().toSeconds(), config.locality(),
                config.localCluster(), config.clusterNames(),
                listen.isAnyLocalAddress() ? Optional.empty() : Optional.of(listen));
    }

    /** Only a zone and a TTL: locality off, no per-cluster names, no address for the name server. */
    static ZoneSettings of(Name zone, Duration ttl) {
        return new ZoneSettings(zone.canonicalize(), ttl.toSeconds(), Locality.OFF, Optional.empty(), false,
                Optional.empty());
    }
}
