package io.isthmus.dns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/** Asks with dnsjava's SimpleResolver and reduces the answer to a {@link Reply}. */
final class DnsjavaClient {
    private DnsjavaClient() {
    }

    /**
     * SimpleResolver sizes its UDP receive buffer by the payload it advertises, so it cannot read the 512 bytes a
     * server may always send (RFC 6891 §6.2.5) when it advertises less. Those asks are for dig.
     */
    static boolean canAsk(Ask ask, boolean tcp) {
        return tcp || ask.edns() == null || ask.edns().payload() >= QueryProcessor.MIN_UDP_PAYLOAD;
    }

    static Reply ask(InetSocketAddress server, Ask ask, boolean tcp) {
        return ask(server, ask, tcp ? Over.TCP : Over.UDP);
    }

    static Reply ask(InetSocketAddress server, Ask ask, Over over) {
        SimpleResolver resolver = new SimpleResolver(server);
        resolver.setTCP(over == Over.TCP);
        resolver.setIgnoreTruncation(over == Over.UDP);
        resolver.setTimeout(Duration.ofSeconds(3));
        if (ask.edns() == null) {
            resolver.setEDNS(-1);
        } else {
            // The OPTRecord form, because setEDNS(version, ...) refuses any version but 0.
            resolver.setEDNS(new OPTRecord(ask.edns().payload(), 0, ask.edns().version(), 0));
        }
        try {
            Message query = Message.newQuery(Record.newRecord(
                    Name.fromString(ask.qname()), Type.value(ask.qtype()), DClass.IN));
            query.getHeader().setOpcode(ask.opcode());
            return reduce(resolver.send(query));
        } catch (IOException e) {
            throw new UncheckedIOException("dnsjava could not ask " + ask, e);
        }
    }

    static Reply reduce(Message m) {
        Set<String> flags = new LinkedHashSet<>();
        for (int flag : new int[] {Flags.QR, Flags.AA, Flags.TC, Flags.RD, Flags.RA, Flags.AD, Flags.CD}) {
            if (m.getHeader().getFlag(flag)) {
                flags.add(Flags.string(flag).toLowerCase(Locale.ROOT));
            }
        }
        OPTRecord opt = m.getOPT();
        return new Reply(Rcode.string(m.getRcode()), flags,
                m.getSection(Section.QUESTION).stream()
                        .map(q -> new Reply.Question(q.getName().toString(), Type.string(q.getType()))).toList(),
                records(m, Section.ANSWER), records(m, Section.AUTHORITY), records(m, Section.ADDITIONAL),
                opt == null ? null : new Reply.Opt(opt.getVersion(), opt.getPayloadSize()));
    }

    private static List<Reply.Rr> records(Message m, int section) {
        return m.getSection(section).stream()
                .filter(r -> r.getType() != Type.OPT)
                .map(r -> new Reply.Rr(r.getName().toString(), r.getTTL(), Type.string(r.getType()), r.rdataToString()))
                .toList();
    }
}
