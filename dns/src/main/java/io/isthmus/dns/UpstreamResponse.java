package io.isthmus.dns;

import java.io.IOException;
import java.util.List;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * An upstream's response as the forwarder keeps and relays it: the rcode, the header flags that carry over to the
 * client, and the records without the hop-by-hop ones (OPT, TSIG, SIG(0)), which are between us and the upstream.
 */
record UpstreamResponse(int rcode, boolean authoritative, boolean recursionAvailable, boolean authenticData,
                        List<Record> answer, List<Record> authority, List<Record> additional) {

    UpstreamResponse {
        answer = List.copyOf(answer);
        authority = List.copyOf(authority);
        additional = List.copyOf(additional);
    }

    static UpstreamResponse of(Message message) {
        int rcode = message.getRcode();
        if (rcode > 0xF) {
            rcode = Rcode.SERVFAIL; // an extended rcode belongs to the upstream's EDNS exchange with us, not the client's
        }
        return new UpstreamResponse(rcode, message.getHeader().getFlag(Flags.AA), message.getHeader().getFlag(Flags.RA),
                message.getHeader().getFlag(Flags.AD), message.getSection(Section.ANSWER),
                message.getSection(Section.AUTHORITY),
                message.getSection(Section.ADDITIONAL).stream().filter(r -> !isHopByHop(r.getType())).toList());
    }

    /** What the client gets when no upstream answered. */
    static UpstreamResponse serverFailure() {
        return new UpstreamResponse(Rcode.SERVFAIL, false, true, false, List.of(), List.of(), List.of());
    }

    private static boolean isHopByHop(int type) {
        return type == Type.OPT || type == Type.TSIG || type == Type.SIG;
    }

    /**
     * How long this response may be cached, in seconds: the smallest TTL of its records for an answer; for a
     * negative answer the SOA's TTL capped by its minimum (RFC 2308 §5), or nothing without an SOA; a few
     * seconds for a failure (RFC 9520 asks that failures be cached briefly, to spare the upstreams); 0 (do not
     * cache) for anything else.
     */
    long cacheSeconds(long failureSeconds, long maxSeconds) {
        if (rcode == Rcode.SERVFAIL || rcode == Rcode.REFUSED) {
            return failureSeconds;
        }
        boolean negative = rcode == Rcode.NXDOMAIN || (rcode == Rcode.NOERROR && answer.isEmpty());
        if (negative) {
            long soaSeconds = authority.stream().filter(r -> r instanceof SOARecord).map(SOARecord.class::cast)
                    .mapToLong(soa -> Math.min(soa.getTTL(), soa.getMinimum())).min().orElse(0);
            return Math.min(soaSeconds, maxSeconds);
        }
        if (rcode != Rcode.NOERROR) {
            return 0;
        }
        long smallest = maxSeconds;
        for (Record r : answer) {
            smallest = Math.min(smallest, r.getTTL());
        }
        for (Record r : authority) {
            smallest = Math.min(smallest, r.getTTL());
        }
        return smallest;
    }

    /** The same response {@code seconds} later: every TTL less that much, down to 0. */
    UpstreamResponse aged(long seconds) {
        if (seconds <= 0) {
            return this;
        }
        return new UpstreamResponse(rcode, authoritative, recursionAvailable, authenticData,
                aged(answer, seconds), aged(authority, seconds), aged(additional, seconds));
    }

    private static List<Record> aged(List<Record> records, long seconds) {
        return records.stream().map(r -> withTtl(r, Math.max(0, r.getTTL() - seconds))).toList();
    }

    /** dnsjava keeps TTL setters to itself, so: the record's wire form with the TTL field rewritten. */
    private static Record withTtl(Record record, long ttl) {
        byte[] wire = record.toWire(Section.ANSWER); // owner uncompressed, type, class, TTL, rdlength, rdata
        int at = record.getName().length() + 4;
        wire[at] = (byte) (ttl >>> 24);
        wire[at + 1] = (byte) (ttl >>> 16);
        wire[at + 2] = (byte) (ttl >>> 8);
        wire[at + 3] = (byte) ttl;
        try {
            return Record.fromWire(wire, Section.ANSWER);
        } catch (IOException e) {
            throw new IllegalStateException("a record dnsjava wrote did not read back: " + record, e);
        }
    }
}
