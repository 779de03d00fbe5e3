package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceDirectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Answers, authoritatively, every IN-class name under the clusterset zone from the current
 * {@link ServiceDirectory}; passes every other name on.
 *
 * <pre>
 *   zone                      SOA, NS
 *   svc.zone, NS.svc.zone     exist while some service is below them (empty non-terminals: NODATA)
 *   SVC.NS.svc.zone           A = the import's IPv4 addresses, AAAA = its IPv6 addresses
 *   anything else in zone     NXDOMAIN
 * </pre>
 * Negative answers carry the SOA in authority; its minimum, and every TTL, is the configured TTL. The directory
 * is read once per query, so a snapshot the gateway swaps in is served from the next query on.
 */
public final class ClustersetZoneHandler implements DnsHandler {
    private static final String SVC = "svc";
    // SOA timers matter only to secondaries, which this zone does not have; the values are CoreDNS's.
    private static final long REFRESH = 7200;
    private static final long RETRY = 1800;
    private static final long EXPIRE = 86400;

    private final Name zone;
    private final long ttl;
    private final Name nameServer;
    private final Name hostmaster;
    private final Supplier<ServiceDirectory> directory;
    // The index of the last snapshot seen; rebuilt when the supplier hands out another one.
    private final AtomicReference<ZoneIndex> index = new AtomicReference<>(ZoneIndex.of(ServiceDirectory.EMPTY));

    public ClustersetZoneHandler(Name zone, Duration ttl, Supplier<ServiceDirectory> directory) {
        this.zone = Objects.requireNonNull(zone, "zone");
        this.ttl = ttl.toSeconds();
        this.directory = Objects.requireNonNull(directory, "directory");
        this.nameServer = under(zone, "ns.dns");
        this.hostmaster = under(zone, "hostmaster");
    }

    private static Name under(Name zone, String prefix) {
        try {
            return Name.concatenate(Name.fromConstantString(prefix), zone);
        } catch (NameTooLongException e) {
            throw new InvalidFieldException("dns zone", zone, "is too long to hold " + prefix + " below it");
        }
    }

    /** The name at a depth below the apex, as far as this zone is concerned. */
    private sealed interface Node {
        record Apex() implements Node {
        }

        record EmptyNonTerminal() implements Node {
        }

        record Service(ZoneIndex.Addresses addresses) implements Node {
        }

        record NoSuchName() implements Node {
        }
    }

    @Override
    public Message serve(DnsRequest request, Next next) {
        Record question = request.question();
        Name qname = question.getName();
        if (question.getDClass() != DClass.IN || !qname.subdomain(zone)) {
            return next.serve(request);
        }
        int qtype = question.getType();
        if (qtype == Type.AXFR || qtype == Type.IXFR) {
            return authoritative(request.reply(Rcode.REFUSED)); // no secondaries: no zone transfers
        }
        ZoneIndex current = indexOf(directory.get());
        Node node = find(current, qname);
        List<Record> answers = new ArrayList<>();
        switch (node) {
            case Node.Apex() -> {
                if (qtype == Type.SOA || qtype == Type.ANY) {
                    answers.add(soa(qname, current));
                }
                if (qtype == Type.NS || qtype == Type.ANY) {
                    answers.add(new NSRecord(qname, DClass.IN, ttl, nameServer));
                }
            }
            case Node.Service(ZoneIndex.Addresses addresses) -> {
                if (qtype == Type.A || qtype == Type.ANY) {
                    addresses.v4().forEach(a -> answers.add(new ARecord(qname, DClass.IN, ttl, a)));
                }
                if (qtype == Type.AAAA || qtype == Type.ANY) {
                    addresses.v6().forEach(a -> answers.add(new AAAARecord(qname, DClass.IN, ttl, a)));
                }
            }
            case Node.EmptyNonTerminal() -> { }
            case Node.NoSuchName() -> {
                Message response = authoritative(request.reply(Rcode.NXDOMAIN));
                response.addRecord(soa(zone, current), Section.AUTHORITY);
                return response;
            }
        }
        Message response = authoritative(request.reply(Rcode.NOERROR));
        if (answers.isEmpty()) {
            response.addRecord(soa(zone, current), Section.AUTHORITY); // NODATA, RFC 2308 §2.2
        }
        answers.forEach(r -> response.addRecord(r, Section.ANSWER));
        return response;
    }

    private Node find(ZoneIndex current, Name qname) {
        int depth = qname.labels() - zone.labels();
        return switch (depth) {
            case 0 -> new Node.Apex();
            case 1 -> label(qname, 0).equals(SVC) && !current.namespaces().isEmpty()
                    ? new Node.EmptyNonTerminal() : new Node.NoSuchName();
            case 2 -> label(qname, 1).equals(SVC) && current.namespaces().containsKey(label(qname, 0))
                    ? new Node.EmptyNonTerminal() : new Node.NoSuchName();
            case 3 -> {
                ZoneIndex.Addresses found = label(qname, 2).equals(SVC)
                        ? current.find(label(qname, 1), label(qname, 0)) : null;
                yield found == null ? new Node.NoSuchName() : new Node.Service(found);
            }
            default -> new Node.NoSuchName();
        };
    }

    /** Label {@code i} from the left, lower-cased: DNS names match without regard to ASCII case. */
    private static String label(Name name, int i) {
        return name.getLabelString(i).toLowerCase(Locale.ROOT);
    }

    private ZoneIndex indexOf(ServiceDirectory snapshot) {
        ServiceDirectory wanted = snapshot == null ? ServiceDirectory.EMPTY : snapshot;
        ZoneIndex known = index.get();
        if (known.source() == wanted) {
            return known;
        }
        // Two threads may both build the index of a new snapshot; either result is right, so no lock.
        ZoneIndex built = ZoneIndex.of(wanted);
        index.set(built);
        return built;
    }

    private SOARecord soa(Name owner, ZoneIndex current) {
        long serial = current.source().version() & 0xFFFF_FFFFL; // SOA serials are 32-bit, and wrap (RFC 1982)
        return new SOARecord(owner, DClass.IN, ttl, nameServer, hostmaster, serial, REFRESH, RETRY, EXPIRE, ttl);
    }

    private static Message authoritative(Message response) {
        response.getHeader().setFlag(Flags.AA);
        return response;
    }
}
