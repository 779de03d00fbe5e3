package io.isthmus.dns;

import io.isthmus.api.ServiceDirectory;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Answers, authoritatively, every IN-class name under the clusterset zone, and the reverse (PTR) names of the
 * ClusterSetIPs it serves, from the current {@link ServiceDirectory}; passes every other name on. What the zone
 * holds is laid out in {@link ZoneContent}.
 *
 * <p>Answers are precomputed per directory snapshot ({@link ZoneTable}), so this handler has two doors onto the
 * same bytes: {@link #serve}, the chain's, and {@link #answer}, which {@link QueryProcessor} takes for queries in
 * the common shape without building a dnsjava message at all. The directory is read once per query; a snapshot
 * the gateway swaps in is served from the next query on.
 */
public final class ClustersetZoneHandler implements DnsHandler {
    private final ZoneSettings settings;
    private final Name zone;
    private final Supplier<ServiceDirectory> directory;
    private final Object rebuild = new Object();
    private volatile ZoneTable table;

    /** The zone as {@code config} describes it: zone, TTL, locality, cluster names, our own address. */
    public ClustersetZoneHandler(DnsConfig config, Supplier<ServiceDirectory> directory) {
        this(ZoneSettings.from(config), directory);
    }

    /** Only a zone and a TTL; everything else as by default. */
    public ClustersetZoneHandler(Name zone, Duration ttl, Supplier<ServiceDirectory> directory) {
        this(ZoneSettings.of(Objects.requireNonNull(zone, "zone"), ttl), directory);
    }

    ClustersetZoneHandler(ZoneSettings settings, Supplier<ServiceDirectory> directory) {
        this.settings = settings;
        this.zone = settings.zone();
        this.directory = Objects.requireNonNull(directory, "directory");
        this.table = ZoneTable.build(ServiceDirectory.EMPTY, settings);
    }

    @Override
    public Message serve(DnsRequest request, Next next) {
        Record question = request.question();
        Name qname = question.getName();
        if (question.getDClass() != DClass.IN) {
            return next.serve(request);
        }
        int qtype = question.getType();
        if ((qtype == Type.AXFR || qtype == Type.IXFR) && qname.subdomain(zone)) {
            Message refused = request.reply(Rcode.REFUSED); // no secondaries: no zone transfers
            refused.getHeader().setFlag(Flags.AA);
            return refused;
        }
        ZoneTable current = current();
        byte[] lowerName = qname.toWireCanonical();
        ZoneTable.Hit hit = current.lookup(lowerName, lowerName.length, qtype);
        if (hit == ZoneTable.Miss.NOT_OURS) {
            return next.serve(request);
        }
        byte[] questionWire = question.toWire(Section.QUESTION);
        byte[] wire = current.respond(hit, request.query().getHeader().getID(), flagsOf(request.query().getHeader()),
                questionWire, 0, questionWire.length, lowerName.length, -1, ZoneTable.MAX_MESSAGE);
        try {
            return new Message(wire);
        } catch (IOException e) {
            throw new IllegalStateException("the zone table made a response dnsjava cannot read", e);
        }
    }

    /**
     * The whole response to {@code query} (whose bytes are {@code wire}), at most {@code limit} bytes long, or null
     * when the chain must answer it: a name that is not ours, or a zone transfer.
     */
    byte[] answer(byte[] wire, WireQuery query, int limit) {
        if (query.qtype() == Type.AXFR || query.qtype() == Type.IXFR) {
            return null;
        }
        ZoneTable current = current();
        ZoneTable.Hit hit = current.lookup(query.lowerName(), query.lowerName().length, query.qtype());
        if (hit == ZoneTable.Miss.NOT_OURS) {
            return null;
        }
        return current.respond(hit, query.id(), query.flags(), wire, ZoneTable.HEADER, query.questionLength(),
                query.lowerName().length, query.optFlags(), limit);
    }

    /** The table of the directory the supplier hands out now, built the first time it is seen. */
    ZoneTable current() {
        ServiceDirectory wanted = Objects.requireNonNullElse(directory.get(), ServiceDirectory.EMPTY);
        ZoneTable known = table;
        if (known.source() == wanted) {
            return known;
        }
        // One thread builds while the others that saw the new snapshot wait for it, rather than all building it.
        synchronized (rebuild) {
            known = table;
            if (known.source() != wanted) {
                known = ZoneTable.build(wanted, settings, known);
                table = known;
            }
            return known;
        }
    }

    private static int flagsOf(Header header) {
        return (header.getFlag(Flags.RD) ? 0x0100 : 0) | (header.getFlag(Flags.CD) ? 0x0010 : 0);
    }
}
