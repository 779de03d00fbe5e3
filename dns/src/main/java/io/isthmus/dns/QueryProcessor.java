package io.isthmus.dns;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Wire bytes in, wire bytes out, the same for both transports: parses and vets a message, runs the chain, adds
 * EDNS and fits the response to the transport. Never throws; bad input gets FORMERR when a header can be read and
 * silence when not.
 */
final class QueryProcessor {
    private static final Logger log = LoggerFactory.getLogger(QueryProcessor.class);

    /** RFC 1035 §4.2.1: without EDNS a UDP response is at most 512 bytes. */
    static final int MIN_UDP_PAYLOAD = 512;
    /** The largest UDP payload an IPv4 datagram can carry; a client asking for more gets this. */
    static final int MAX_UDP_PAYLOAD = 65_507;
    /** What we advertise in our OPT record: the DNS flag day 2020 size that avoids IP fragmentation. */
    static final int ADVERTISED_UDP_PAYLOAD = 1232;
    static final int MAX_TCP_MESSAGE = 65_535;

    private final DnsChain chain;
    private final DnsCounters counters;

    QueryProcessor(DnsChain chain, DnsCounters counters) {
        this.chain = chain;
        this.counters = counters;
    }

    /** The response to send for {@code wire}, or empty to send nothing. */
    Optional<byte[]> process(byte[] wire, Transport transport, InetSocketAddress client) {
        counters.received();
        try {
            return respond(wire, transport, client);
        } catch (RuntimeException e) {
            // Only a bug gets here (handler failures are caught below); dropping keeps the listener alive.
            log.warn("dns: dropped a query from {} after an unexpected failure", client, e);
            counters.dropped();
            return Optional.empty();
        }
    }

    private Optional<byte[]> respond(byte[] wire, Transport transport, InetSocketAddress client) {
        if (wire.length < Header.LENGTH) {
            counters.dropped();
            return Optional.empty(); // not even an id to answer to
        }
        Header header = parseHeader(wire);
        if (header.getFlag(Flags.QR)) {
            counters.dropped();
            return Optional.empty(); // a response, not a query: answering could start a loop between servers
        }
        Message query = parse(wire, client);
        Record question = query != null && query.getSection(Section.QUESTION).size() == 1 ? query.getQuestion() : null;
        if (question != null) {
            counters.qtype(qtypeLabel(question.getType()));
        }
        if (header.getOpcode() != Opcode.QUERY) {
            return send(DnsRequest.reply(header, question, Rcode.NOTIMP), query, transport);
        }
        if (question == null || !optPlacementValid(query)) {
            return send(DnsRequest.reply(header, question, Rcode.FORMERR), null, transport);
        }
        OPTRecord opt = query.getOPT();
        if (opt != null && opt.getVersion() != 0) {
            return send(DnsRequest.reply(header, question, Rcode.BADVERS & 0xF), query, Rcode.BADVERS, transport);
        }
        Message response;
        try {
            response = Objects.requireNonNull(chain.serve(new DnsRequest(query, transport, client)),
                    "a handler returned no response");
        } catch (RuntimeException e) {
            log.warn("dns: a handler failed on {} from {}", question, client, e);
            response = DnsRequest.reply(header, question, Rcode.SERVFAIL);
        }
        return send(response, query, transport);
    }

    /** The whole message, or null when it does not parse. */
    private static Message parse(byte[] wire, InetSocketAddress client) {
        try {
            return new Message(wire);
        } catch (Exception e) { // WireParseException mostly; dnsjava throws runtime exceptions for some rdata
            log.debug("dns: malformed message from {}: {}", client, e.toString());
            return null;
        }
    }

    private static Header parseHeader(byte[] wire) {
        try {
            return new Header(wire);
        } catch (java.io.IOException e) {
            throw new IllegalStateException("a header of " + wire.length + " bytes did not parse", e);
        }
    }

    /** RFC 6891 §6.1.1: at most one OPT, and only in the additional section. */
    private static boolean optPlacementValid(Message query) {
        int inAdditional = 0;
        for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            for (Record r : query.getSection(section)) {
                if (r.getType() == Type.OPT) {
                    if (section != Section.ADDITIONAL) {
                        return false;
                    }
                    inAdditional++;
                }
            }
        }
        return inAdditional <= 1;
    }

    private Optional<byte[]> send(Message response, Message query, Transport transport) {
        return send(response, query, response.getHeader().getRcode(), transport);
    }

    /**
     * Adds our OPT when the query had one ({@code query} is null when the query could not be trusted that far),
     * counts, and renders; a response too large for the transport goes out with TC and nothing but the question.
     */
    private Optional<byte[]> send(Message response, Message query, int rcode, Transport transport) {
        OPTRecord queryOpt = query == null ? null : query.getOPT();
        if (queryOpt != null) {
            int doFlag = queryOpt.getFlags() & ExtendedFlags.DO; // RFC 3225 §3: DO is copied into the response
            response.addRecord(new OPTRecord(ADVERTISED_UDP_PAYLOAD, rcode >>> 4, 0, doFlag), Section.ADDITIONAL);
        }
        counters.rcode(Rcode.string(rcode));
        byte[] wire = response.toWire();
        int limit = transport == Transport.TCP ? MAX_TCP_MESSAGE : udpLimit(queryOpt);
        if (wire.length <= limit) {
            return Optional.of(wire);
        }
        counters.truncated();
        return Optional.of(truncate(response).toWire());
    }

    private static int udpLimit(OPTRecord opt) {
        if (opt == null) {
            return MIN_UDP_PAYLOAD;
        }
        return Math.clamp(opt.getPayloadSize(), MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD);
    }

    /** RFC 2181 §9: rather an empty answer with TC, which sends the client to TCP, than a partial RRset. */
    private static Message truncate(Message response) {
        Message cut = response.clone();
        OPTRecord opt = response.getOPT();
        cut.removeAllRecords(Section.ANSWER);
        cut.removeAllRecords(Section.AUTHORITY);
        cut.removeAllRecords(Section.ADDITIONAL);
        if (opt != null) {
            cut.addRecord(opt, Section.ADDITIONAL);
        }
        cut.getHeader().setFlag(Flags.TC);
        return cut;
    }

    static String qtypeLabel(int qtype) {
        String name = Type.string(qtype);
        return name.startsWith("TYPE") ? DnsCounters.OTHER_QTYPE : name;
    }
}
