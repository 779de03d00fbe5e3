package io.isthmus.dns;

import io.isthmus.api.ClusterBackends;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ImportedService;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * A test oracle written from the multi-cluster DNS specification, not from the zone code: the records a directory
 * should give for the service names, built straight from the directory with dnsjava's record types, with no
 * locality and no per-cluster names (the default settings). Answers are compared as sets of records, so order, case
 * and compression do not matter; SRV weights are left out (how to share 100 is the code's choice; see
 * {@link #withoutWeight}), priorities, ports and targets are not.
 */
final class NaiveZone {
    private final Name zone;
    private final long ttl;
    /** name → type → records. */
    private final Map<Name, Map<Integer, Set<Record>>> records = new HashMap<>();

    NaiveZone(ServiceDirectory directory, Name zone, long ttl) {
        this.zone = zone;
        this.ttl = ttl;
        for (ImportedService service : directory.services().values()) {
            add(service);
        }
    }

    /** Every service-related name this oracle gives records for. */
    Set<Name> names() {
        return records.keySet();
    }

    /** The expected records of {@code name} and {@code type}; empty when there are none. */
    Set<Record> expected(Name name, int type) {
        return records.getOrDefault(name, Map.of()).getOrDefault(type, Set.of());
    }

    private void add(ImportedService service) {
        Name serviceName = name(service.key().name() + "." + service.key().namespace() + ".svc");
        boolean headless = service.type() == ServiceType.HEADLESS;
        Set<InetAddress> ips = new HashSet<>();
        for (ClusterBackends cluster : service.clusters()) {
            for (Endpoint endpoint : cluster.endpoints()) {
                ips.add(endpoint.ip());
            }
        }
        if (ips.isEmpty()) {
            return; // a headless service without endpoints has no name
        }
        for (InetAddress ip : ips) {
            put(address(serviceName, ip));
        }
        for (ServicePort port : service.ports()) {
            if (port.name().isEmpty()) {
                continue;
            }
            Name srv = name("_" + port.name() + "._" + port.protocol().name().toLowerCase(Locale.ROOT) + "."
                    + service.key().name() + "." + service.key().namespace() + ".svc");
            if (!headless) {
                put(new SRVRecord(srv, DClass.IN, ttl, 0, 0, port.port(), serviceName));
                continue;
            }
            for (ClusterBackends cluster : service.clusters()) {
                for (Endpoint endpoint : cluster.endpoints()) {
                    put(new SRVRecord(srv, DClass.IN, ttl, 0, 0, port.port(), host(serviceName, cluster, endpoint)));
                }
            }
        }
        if (headless) {
            for (ClusterBackends cluster : service.clusters()) {
                for (Endpoint endpoint : cluster.endpoints()) {
                    put(address(host(serviceName, cluster, endpoint), endpoint.ip()));
                    put(new PTRRecord(ReverseMap.fromAddress(endpoint.ip()), DClass.IN, ttl,
                            host(serviceName, cluster, endpoint)));
                }
            }
        } else {
            for (InetAddress ip : ips) {
                put(new PTRRecord(ReverseMap.fromAddress(ip), DClass.IN, ttl, serviceName));
            }
        }
    }

    /** HOST.CLUSTER.SVC: the endpoint's hostname, else its address with '-' for '.' and ':'. */
    private Name host(Name serviceName, ClusterBackends cluster, Endpoint endpoint) {
        String host = endpoint.hostname().isEmpty()
                ? IpLiteral.format(endpoint.ip()).replace('.', '-').replace(':', '-')
                : endpoint.hostname();
        try {
            return Name.concatenate(Name.fromString(host + "." + cluster.cluster().value()), serviceName);
        } catch (TextParseException | org.xbill.DNS.NameTooLongException e) {
            throw new AssertionError(e);
        }
    }

    private Record address(Name owner, InetAddress ip) {
        return ip instanceof Inet4Address ? new ARecord(owner, DClass.IN, ttl, ip) : new AAAARecord(owner, DClass.IN, ttl, ip);
    }

    private void put(Record record) {
        records.computeIfAbsent(record.getName(), n -> new HashMap<>())
                .computeIfAbsent(record.getType(), t -> new HashSet<>()).add(record);
    }

    private Name name(String relative) {
        try {
            return Name.concatenate(Name.fromString(relative), zone);
        } catch (TextParseException | org.xbill.DNS.NameTooLongException e) {
            throw new AssertionError(e);
        }
    }

    /** An SRV record with its weight set to 0, to compare with the oracle's; any other record as it is. */
    static Record withoutWeight(Record record) {
        if (record instanceof SRVRecord srv && record.getType() == Type.SRV) {
            return new SRVRecord(srv.getName(), srv.getDClass(), srv.getTTL(), srv.getPriority(), 0, srv.getPort(),
                    srv.getTarget());
        }
        return record;
    }
}
