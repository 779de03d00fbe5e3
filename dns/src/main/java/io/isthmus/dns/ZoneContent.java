package io.isthmus.dns;

import io.isthmus.api.ClusterBackends;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ImportedService;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SequencedSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;

/**
 * The names the zone holds, with their RRsets, laid out as the Kubernetes multi-cluster DNS specification (KEP-1645)
 * asks. Built in parts, so that a new directory snapshot re-encodes only the services that changed: the apex and
 * its neighbours ({@link #apex}), and each service ({@link #service}).
 * <pre>
 *   zone                                  SOA, NS
 *   ns.dns.zone                           A/AAAA of our listen address (none when it is a wildcard)
 *   dns-version.zone                      TXT "1.0.0" (the schema version, spec §2.2)
 *   SVC.NS.svc.zone                       A/AAAA: ClusterSetIPs, or every endpoint of a headless service
 *   _PORT._PROTO.SVC.NS.svc.zone          SRV per named port: to SVC (ClusterSetIP) or to each endpoint (headless)
 *   HOST.CLUSTER.SVC.NS.svc.zone          A/AAAA of one headless endpoint (HOST: its hostname, else its dashed IP)
 *   CLUSTER.SVC.NS.svc.zone               A/AAAA of one cluster's share, only when cluster names are on
 *   reversed ClusterSetIP .in-addr.arpa   PTR to SVC.NS.svc.zone (outside the zone: we own just these names)
 *   reversed headless endpoint IP         PTR to HOST.CLUSTER.SVC.NS.svc.zone (spec §2.4.3; likewise outside)
 * </pre>
 * Every name between one of these and the zone exists too, with no records (an empty non-terminal: NODATA, not
 * NXDOMAIN): within a part, the part adds them; {@code svc} and the namespaces, {@link ZoneTable} does. A headless
 * service without endpoints has no names at all (spec §2.4.1: NXDOMAIN).
 */
final class ZoneContent {
    private static final Logger log = LoggerFactory.getLogger(ZoneContent.class);
    static final String SCHEMA_VERSION = "1.0.0";
    // SOA timers matter only to secondaries, which this zone does not have; the values are CoreDNS's.
    private static final long REFRESH = 7200;
    private static final long RETRY = 1800;
    private static final long EXPIRE = 86400;
    /** RFC 2782 leaves weights to us; as CoreDNS, the records of one priority share 100. */
    private static final int WEIGHT_TOTAL = 100;

    /** One RRset, and the records that belong in the additional section of an answer with it. */
    record RRset(int type, List<Record> records, List<Record> additional) {
    }

    private final ZoneSettings settings;
    private final Name zone;
    private final long ttl;
    private final Name nameServer;
    private final Name hostmaster;
    private final Map<Name, Map<Integer, Builder>> names = new LinkedHashMap<>();
    private int namesTooLong;

    private ZoneContent(ZoneSettings settings) {
        this.settings = settings;
        this.zone = settings.zone();
        this.ttl = settings.ttlSeconds();
        this.nameServer = nameUnderZone("ns", "dns");
        this.hostmaster = nameUnderZone("hostmaster");
    }

    /** The names at the apex and beside it: the zone (SOA, NS), ns.dns (and dns above it), dns-version. */
    static Map<Name, Map<Integer, RRset>> apex(long version, ZoneSettings settings) {
        ZoneContent content = new ZoneContent(settings);
        content.add(content.soa(version));
        content.add(new NSRecord(content.zone, DClass.IN, content.ttl, content.nameServer));
        content.names.computeIfAbsent(content.nameServer, k -> new LinkedHashMap<>());
        settings.nameServerAddress().ifPresent(address -> content.add(content.addressRecord(content.nameServer, address)));
        content.add(new TXTRecord(content.nameUnderZone("dns-version"), DClass.IN, content.ttl, SCHEMA_VERSION));
        content.addEmptyNonTerminals(content.zone);
        return content.finish();
    }

    /**
     * The names one service brings: its own name and those below it (with the empty non-terminals among them),
     * and the PTR names of its ClusterSetIPs or, headless, of its endpoints. The names above it ({@code <ns>.svc}, {@code svc}) are the zone's.
     * None for a headless service without endpoints.
     */
    static Map<Name, Map<Integer, RRset>> service(ImportedService service, ZoneSettings settings) {
        ZoneContent content = new ZoneContent(settings);
        Name serviceName = content.serviceName(service);
        content.addService(service, serviceName);
        if (serviceName != null) {
            content.addEmptyNonTerminals(serviceName);
        }
        return content.finish();
    }

    /** The empty non-terminals above the services: {@code svc} and each namespace that has a service with names. */
    static Map<Name, Map<Integer, RRset>> namespaces(Collection<String> namespaces, ZoneSettings settings) {
        ZoneContent content = new ZoneContent(settings);
        for (String namespace : namespaces) {
            Name name = content.nameUnderZone(namespace, "svc");
            if (name != null) {
                content.names.putIfAbsent(name, new LinkedHashMap<>());
            }
        }
        content.addEmptyNonTerminals(content.zone);
        return content.finish();
    }

    /** {@code <svc>.<ns>.svc.<zone>}, or null when that is too long for DNS. */
    private Name serviceName(ImportedService service) {
        return nameUnderZone(service.key().name(), service.key().namespace(), "svc");
    }

    /** The name of the service {@code key}: the names at and below it are the service's alone. Null when too long. */
    static Name serviceName(io.isthmus.api.ServiceKey key, ZoneSettings settings) {
        return new ZoneContent(settings).nameUnderZone(key.name(), key.namespace(), "svc");
    }

    /** The SOA that negative answers carry in their authority section. */
    static SOARecord soa(long version, ZoneSettings settings) {
        return new ZoneContent(settings).soa(version);
    }

    private SOARecord soa(long version) {
        long serial = version & 0xFFFF_FFFFL; // SOA serials are 32-bit, and wrap (RFC 1982)
        return new SOARecord(zone, DClass.IN, ttl, nameServer, hostmaster, serial, REFRESH, RETRY, EXPIRE, ttl);
    }

    private Map<Name, Map<Integer, RRset>> finish() {
        if (namesTooLong > 0) {
            log.warn("dns: {} names would be longer than 255 bytes under zone {} and are left out", namesTooLong, zone);
        }
        Map<Name, Map<Integer, RRset>> out = new LinkedHashMap<>();
        names.forEach((name, byType) -> {
            Map<Integer, RRset> rrsets = new LinkedHashMap<>();
            byType.forEach((type, b) -> rrsets.put(type, new RRset(type, List.copyOf(b.records), List.copyOf(b.additional))));
            out.put(name, rrsets);
        });
        return out;
    }

    private void addService(ImportedService service, Name serviceName) {
        List<Placed> placed = place(service.clusters());
        if (serviceName == null || placed.isEmpty()) {
            return; // a headless service without endpoints: no names (spec §2.4.1)
        }
        List<Record> serviceAddresses = addressRecords(serviceName, placed.stream().map(p -> p.endpoint().ip()).toList());
        serviceAddresses.forEach(this::add);
        for (ServicePort port : service.ports()) {
            if (port.name().isEmpty()) {
                continue; // unnamed ports have no SRV record
            }
            Name srvName = nameUnder(serviceName, "_" + port.name(), "_" + port.protocol().name().toLowerCase(Locale.ROOT));
            if (srvName == null) {
                continue;
            }
            if (service.type() == ServiceType.CLUSTER_SET_IP) {
                add(new SRVRecord(srvName, DClass.IN, ttl, 0, WEIGHT_TOTAL, port.port(), serviceName), serviceAddresses);
            } else {
                addHeadlessSrv(srvName, serviceName, port, placed);
            }
        }
        if (service.type() == ServiceType.HEADLESS) {
            for (ClusterBackends backends : service.clusters()) {
                for (Endpoint endpoint : backends.endpoints()) {
                    Name host = endpointName(serviceName, backends.cluster(), endpoint);
                    if (host != null) {
                        add(addressRecord(host, endpoint.ip()));
                        // Spec §2.4.3: the pod's address names it back; a pod in two services gets both.
                        add(new PTRRecord(ReverseMap.fromAddress(endpoint.ip()), DClass.IN, ttl, host));
                    }
                }
            }
        }
        if (settings.clusterNames()) {
            for (ClusterBackends backends : service.clusters()) {
                Name clusterName = nameUnder(serviceName, backends.cluster().value());
                if (clusterName != null) {
                    addressRecords(clusterName, backends.ips()).forEach(this::add);
                }
            }
        }
        if (service.type() == ServiceType.CLUSTER_SET_IP) {
            // Every cluster's IP, whatever locality leaves in the A answer: a client may hold any of them.
            for (InetAddress ip : service.addresses()) {
                add(new PTRRecord(ReverseMap.fromAddress(ip), DClass.IN, ttl, serviceName));
            }
        }
    }

    private void addHeadlessSrv(Name srvName, Name serviceName, ServicePort port, List<Placed> placed) {
        Map<Integer, Integer> perPriority = new LinkedHashMap<>();
        placed.forEach(p -> perPriority.merge(p.priority(), 1, Integer::sum));
        for (Placed p : placed) {
            Name target = endpointName(serviceName, p.cluster(), p.endpoint());
            if (target == null) {
                continue;
            }
            int weight = Math.max(1, WEIGHT_TOTAL / perPriority.get(p.priority()));
            add(new SRVRecord(srvName, DClass.IN, ttl, p.priority(), weight, port.port(), target),
                    List.of(addressRecord(target, p.endpoint().ip())));
        }
    }

    /** One endpoint in an answer: where it comes from and its SRV priority. */
    private record Placed(ClusterId cluster, Endpoint endpoint, int priority) {
    }

    /** The endpoints the service name answers with, in order, as the locality setting wants them. */
    private List<Placed> place(List<ClusterBackends> clusters) {
        ClusterId local = settings.localCluster().orElse(null);
        boolean localHasEndpoints = clusters.stream()
                .anyMatch(c -> c.cluster().equals(local) && !c.endpoints().isEmpty());
        List<Placed> first = new ArrayList<>();
        List<Placed> rest = new ArrayList<>();
        for (ClusterBackends backends : clusters) {
            boolean isLocal = backends.cluster().equals(local);
            for (Endpoint endpoint : backends.endpoints()) {
                switch (settings.locality()) {
                    case OFF -> first.add(new Placed(backends.cluster(), endpoint, 0));
                    case PREFER_LOCAL -> (isLocal ? first : rest).add(new Placed(backends.cluster(), endpoint,
                            isLocal || !localHasEndpoints ? 0 : 1));
                    case LOCAL_ONLY -> {
                        if (isLocal || !localHasEndpoints) {
                            first.add(new Placed(backends.cluster(), endpoint, 0));
                        }
                    }
                }
            }
        }
        first.addAll(rest);
        return first;
    }

    private Name endpointName(Name serviceName, ClusterId cluster, Endpoint endpoint) {
        String host = endpoint.hostname().isEmpty() ? IpText.dashed(endpoint.ip()) : endpoint.hostname();
        return nameUnder(serviceName, host, cluster.value());
    }

    /** A and AAAA records for {@code ips}, without repeats, in the order given. */
    private List<Record> addressRecords(Name owner, Collection<InetAddress> ips) {
        SequencedSet<Record> records = new LinkedHashSet<>();
        for (InetAddress ip : ips) {
            records.add(addressRecord(owner, ip));
        }
        return List.copyOf(records);
    }

    private Record addressRecord(Name owner, InetAddress ip) {
        return ip instanceof Inet4Address
                ? new ARecord(owner, DClass.IN, ttl, ip)
                : new AAAARecord(owner, DClass.IN, ttl, ip);
    }

    private void add(Record record) {
        add(record, List.of());
    }

    private void add(Record record, List<Record> additional) {
        Builder rrset = names.computeIfAbsent(record.getName(), k -> new LinkedHashMap<>())
                .computeIfAbsent(record.getType(), type -> new Builder());
        rrset.records.add(record);
        rrset.additional.addAll(additional);
    }

    /**
     * RFC 8020: every name between a name that exists and {@code top} (which the caller has) exists too, if only as
     * an empty non-terminal.
     * Names outside the zone (the reverse names) get none: we own those names, not the trees above them.
     */
    private void addEmptyNonTerminals(Name top) {
        for (Name name : List.copyOf(names.keySet())) {
            if (!name.subdomain(top)) {
                continue;
            }
            for (Name parent = parent(name); parent != null && parent.subdomain(top) && !parent.equals(top);
                    parent = parent(parent)) {
                if (names.putIfAbsent(parent, new LinkedHashMap<>()) != null) {
                    break; // its ancestors were added with it
                }
            }
        }
    }

    private static Name parent(Name name) {
        return name.labels() <= 1 ? null : new Name(name, 1);
    }

    private Name nameUnderZone(String... labels) {
        return nameUnder(zone, labels);
    }

    /** {@code labels} (left to right) followed by {@code origin}, or null when that is too long for DNS. */
    private Name nameUnder(Name origin, String... labels) {
        if (origin == null) {
            return null;
        }
        try {
            return Name.fromString(String.join(".", labels), origin);
        } catch (TextParseException e) {
            namesTooLong++;
            return null;
        }
    }

    /** An RRset while it is being collected; the sets drop repeats (the same PTR from two clusters, say). */
    private static final class Builder {
        final SequencedSet<Record> records = new LinkedHashSet<>();
        final SequencedSet<Record> additional = new LinkedHashSet<>();
    }
}
