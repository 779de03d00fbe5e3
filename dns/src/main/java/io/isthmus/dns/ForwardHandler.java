package io.isthmus.dns;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Forwards IN-class names outside the clusterset zone (and the reverse names the zone does not own) to the
 * configured upstreams, with a response cache in front. Only clients on the allow-list get this service; others
 * get REFUSED, so the server is never an open resolver (names in the zone are answered for everybody, earlier in
 * the chain). Blocks on the upstream round trip, so {@link #mayBlock} is true and {@link QueryProcessor} runs
 * chains with this handler on virtual threads.
 *
 * <p>The client's question goes upstream as asked, with its RD and CD bits and its DO bit in our own OPT; the
 * response comes back with the upstream's rcode, AA, RA and AD, and its records minus the hop-by-hop ones. When
 * no upstream answers, the client gets SERVFAIL.
 */
public final class ForwardHandler implements DnsHandler {
    private final Name zone;
    private final List<ClientNetwork> allowedClients;
    private final UpstreamClient upstreams;
    private final ForwardCache cache;
    private final DnsCounters counters;
    private final LongSupplier nanoClock;

    /** Forwards names outside {@code zone} as {@code forwarding} says, counting into {@code counters}. */
    public ForwardHandler(Name zone, Forwarding forwarding, DnsCounters counters) {
        this(zone, forwarding, counters,
                new UdpTcpUpstreams(forwarding.upstreams(), forwarding.timeout(), forwarding.attempts()),
                System::nanoTime);
    }

    ForwardHandler(Name zone, Forwarding forwarding, DnsCounters counters, UpstreamClient upstreams,
                   LongSupplier nanoClock) {
        if (!forwarding.enabled()) {
            throw new IllegalArgumentException("a forward handler needs upstreams");
        }
        this.zone = Objects.requireNonNull(zone, "zone");
        this.allowedClients = forwarding.allowedClients();
        this.upstreams = upstreams;
        this.cache = new ForwardCache(forwarding.cacheEntries());
        this.counters = counters;
        this.nanoClock = nanoClock;
    }

    @Override
    public Message serve(DnsRequest request, Next next) {
        Record question = request.question();
        if (question.getDClass() != DClass.IN || question.getName().subdomain(zone)) {
            return next.serve(request);
        }
        if (!allowed(request.client())) {
            counters.refusedByAllowList();
            return request.reply(Rcode.REFUSED);
        }
        if (question.getType() == Type.AXFR || question.getType() == Type.IXFR) {
            return request.reply(Rcode.REFUSED); // zone transfers are between a zone's servers, not through us
        }
        Message query = request.query();
        OPTRecord clientOpt = query.getOPT();
        boolean dnssecOk = clientOpt != null && (clientOpt.getFlags() & ExtendedFlags.DO) != 0;
        boolean checkingDisabled = query.getHeader().getFlag(Flags.CD);
        ForwardCache.Key key = new ForwardCache.Key(question.getName(), question.getType(), question.getDClass(),
                dnssecOk, checkingDisabled);
        Optional<UpstreamResponse> cached = cache.get(key, nanoClock.getAsLong());
        if (cached.isPresent()) {
            counters.cacheHit();
            return relay(request, cached.get());
        }
        counters.cacheMiss();
        UpstreamResponse response = switch (upstreams.ask(upstreamQuery(request, dnssecOk))) {
            case UpstreamClient.Answered(Message answered) -> {
                counters.forwarded(DnsCounters.ForwardOutcome.ANSWERED);
                yield UpstreamResponse.of(answered);
            }
            case UpstreamClient.TimedOut() -> {
                counters.forwarded(DnsCounters.ForwardOutcome.TIMEOUT);
                yield UpstreamResponse.serverFailure();
            }
            case UpstreamClient.Failed(var _) -> {
                counters.forwarded(DnsCounters.ForwardOutcome.ERROR);
                yield UpstreamResponse.serverFailure();
            }
        };
        cache.put(key, response, nanoClock.getAsLong());
        return relay(request, response);
    }

    @Override
    public boolean mayBlock() {
        return true;
    }

    private boolean allowed(InetSocketAddress client) {
        if (client == null || client.getAddress() == null) {
            return false;
        }
        InetAddress address = client.getAddress();
        for (ClientNetwork network : allowedClients) {
            if (network.contains(address)) {
                return true;
            }
        }
        return false;
    }

    private static Message upstreamQuery(DnsRequest request, boolean dnssecOk) {
        Header clientHeader = request.query().getHeader();
        Message query = new Message();
        query.getHeader().setOpcode(clientHeader.getOpcode());
        for (int flag : new int[] {Flags.RD, Flags.CD}) {
            if (clientHeader.getFlag(flag)) {
                query.getHeader().setFlag(flag);
            }
        }
        query.addRecord(request.question(), Section.QUESTION);
        query.addRecord(new OPTRecord(QueryProcessor.ADVERTISED_UDP_PAYLOAD, 0, 0, dnssecOk ? ExtendedFlags.DO : 0),
                Section.ADDITIONAL);
        return query;
    }

    private static Message relay(DnsRequest request, UpstreamResponse upstream) {
        Message reply = request.reply(upstream.rcode());
        Header header = reply.getHeader();
        if (upstream.authoritative()) {
            header.setFlag(Flags.AA);
        }
        if (upstream.recursionAvailable()) {
            header.setFlag(Flags.RA);
        }
        if (upstream.authenticData()) {
            header.setFlag(Flags.AD);
        }
        upstream.answer().forEach(r -> reply.addRecord(r, Section.ANSWER));
        upstream.authority().forEach(r -> reply.addRecord(r, Section.AUTHORITY));
        upstream.additional().forEach(r -> reply.addRecord(r, Section.ADDITIONAL));
        return reply;
    }
}
