package io.isthmus.dns;

import java.net.InetSocketAddress;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * One parsed query as handlers see it. The server only builds requests whose question section holds exactly
 * one question and whose opcode is QUERY, so {@link #question()} is never null. Handlers must not modify
 * {@code query}.
 */
public record DnsRequest(Message query, Transport transport, InetSocketAddress client) {

    public Record question() {
        return query.getQuestion();
    }

    /** A response to this query: same id, opcode, RD and CD, QR set, the question echoed as the client wrote it. */
    public Message reply(int rcode) {
        return reply(query.getHeader(), query.getQuestion(), rcode);
    }

    /** A response built from a header alone (the question may be null when the query could not be parsed). */
    static Message reply(Header query, Record question, int rcode) {
        Message response = new Message(query.getID());
        Header header = response.getHeader();
        header.setFlag(Flags.QR);
        header.setOpcode(query.getOpcode());
        // RFC 1035 copies RD; RFC 4035 §3.1.6 copies CD.
        if (query.getFlag(Flags.RD)) {
            header.setFlag(Flags.RD);
        }
        if (query.getFlag(Flags.CD)) {
            header.setFlag(Flags.CD);
        }
        header.setRcode(rcode);
        if (question != null) {
            response.addRecord(question, Section.QUESTION);
        }
        return response;
    }
}
