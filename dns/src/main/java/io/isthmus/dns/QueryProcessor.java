package io.isthmus.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
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
 * Wire bytes in, wire bytes out, the same for both transports. Two paths lead through it:
 * <ul>
 *   <li>the <b>wire path</b>: a query in the common shape ({@link WireQuery}) for a name the zone holds is
 *       answered from the zone's precomputed bytes, without building a dnsjava message;</li>
 *   <li>the <b>chain path</b>: everything else is parsed and vetted by dnsjava and answered by the handler chain
 *       (the zone handler again, the forwarder, the refusal), then given EDNS and fitted to the transport.</li>
 * </ul>
 * The wire path is taken only when the chain starts with the {@link ClustersetZoneHandler}, which would answer
 * those queries with the same bytes anyway; a handler placed ahead of it (a policy or logging handler, say) must see
 * every query, so then every query takes the chain path. {@link #answerPath()} says which and why, and the server
 * logs it at start. Neither path throws: bad input gets FORMERR when a header can be read
 * and silence when not; a bug is logged, counted, and the message dropped.
 */
final class QueryProcessor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueryProcessor.class);

    /** RFC 1035 §4.2.1: without EDNS a UDP response is at most 512 bytes. */
    static final int MIN_UDP_PAYLOAD = 512;
    /** The largest UDP payload an IPv4 datagram can carry; a client asking for more gets this. */
    static final int MAX_UDP_PAYLOAD = 65_507;
    /** What we advertise in our OPT record: the DNS flag day 2020 size that avoids IP fragmentation. */
    static final int ADVERTISED_UDP_PAYLOAD = 1232;
    static final int MAX_TCP_MESSAGE = 65_535;
    /**
     * Queries that may wait on upstreams at once. Past it, a new query that needs a blocking chain is dropped (and
     * counted), so a flood of names to forward cannot pile up threads and memory; clients retry.
     */
    static final int MAX_WAITING = 1024;
    private static final Duration CLOSE_PATIENCE = Duration.ofSeconds(5);
    static final String WIRE_PATH = "wire path (zone names answered from precomputed bytes)";
    static final String CHAIN_PATH = "chain path (every query parsed and answered by the handler chain)";

    private final DnsChain chain;
    private final DnsCounters counters;
    private final ClustersetZoneHandler wirePath;
    private final ServingPath answerPath;
    private final ExecutorService blockingLane;
    private final Semaphore waiting = new Semaphore(MAX_WAITING);
    /** Null when UDP responses are not rate limited. */
    private final ResponseRateLimiter limiter;

    QueryProcessor(DnsChain chain, DnsCounters counters) {
        this(chain, counters, true, RateLimit.OFF);
    }

    QueryProcessor(DnsChain chain, DnsCounters counters, RateLimit rateLimit) {
        this(chain, counters, true, rateLimit);
    }

    /** {@code wirePath} false sends every query down the chain path: for tests that compare the two. */
    QueryProcessor(DnsChain chain, DnsCounters counters, boolean wirePath) {
        this(chain, counters, wirePath, RateLimit.OFF);
    }

    private QueryProcessor(DnsChain chain, DnsCounters counters, boolean wirePath, RateLimit rateLimit) {
        this.chain = chain;
        this.counters = counters;
        this.limiter = rateLimit.enabled() ? new ResponseRateLimiter(rateLimit) : null;
        this.wirePath = wirePath && !chain.handlers().isEmpty()
                && chain.handlers().getFirst() instanceof ClustersetZoneHandler zone ? zone : null;
        this.answerPath = this.wirePath != null ? ServingPath.fast(WIRE_PATH)
                : ServingPath.fallback(CHAIN_PATH, wirePath ? whyNoWirePath(chain) : "the wire path was switched off");
        this.blockingLane = chain.mayBlock()
                ? Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("dns-chain-", 0).factory())
                : null;
    }

    /** Whether zone names are answered on the wire path, and why not. */
    ServingPath answerPath() {
        return answerPath;
    }

    private static String whyNoWirePath(DnsChain chain) {
        var handlers = chain.handlers();
        int zone = 0;
        while (zone < handlers.size() && !(handlers.get(zone) instanceof ClustersetZoneHandler)) {
            zone++;
        }
        if (zone == handlers.size()) {
            return "the chain has no clusterset zone handler";
        }
        StringBuilder ahead = new StringBuilder();
        for (int i = 0; i < zone; i++) {
            ahead.append(i == 0 ? "" : ", ").append(name(handlers.get(i)));
        }
        return (zone == 1 ? "handler " : "handlers ") + ahead + (zone == 1 ? " is" : " are")
                + " ahead of the zone handler; put ClustersetZoneHandler first to answer zone names from bytes";
    }

    /** A handler's class name; a lambda's says where it was written. */
    private static String name(DnsHandler handler) {
        Class<?> type = handler.getClass();
        String name = type.getName().substring(type.getName().lastIndexOf('.') + 1);
        int lambda = name.indexOf("$$Lambda");
        return lambda >= 0 ? "a lambda in " + name.substring(0, lambda) : name;
    }

    /**
     * The response to send for {@code wire}, or empty to send nothing. Blocks while a forwarded query waits on its
     * upstreams, so a thread that receives datagrams should call {@link #process(byte[], Transport,
     * InetSocketAddress, Consumer)} instead; this one suits TCP, whose connections each have a virtual thread.
     */
    Optional<byte[]> process(byte[] wire, Transport transport, InetSocketAddress client) {
        long received = System.nanoTime();
        counters.received();
        byte[] limited = rateLimited(wire, transport, client, received);
        if (limited != null) {
            return limited == WITHHELD ? Optional.empty() : Optional.of(limited);
        }
        byte[] response = answerOnWirePath(wire, transport);
        if (response == null) {
            response = answerOnChainPath(wire, transport, client);
        }
        if (response == null) {
            return Optional.empty();
        }
        counters.latency(System.nanoTime() - received);
        return Optional.of(response);
    }

    /**
     * Answers {@code wire} and hands the response to {@code reply}, which is not called when there is nothing to
     * send. What the zone answers, and everything when no handler may block, is answered on the calling thread
     * before this returns; a query for a blocking chain (one with a forwarder) is handed to a virtual thread and
     * {@code reply} is called from there later. So {@code reply} must be safe to call from any thread (sending a
     * datagram on a shared channel is). Never throws; an exception from {@code reply} is logged.
     */
    void process(byte[] wire, Transport transport, InetSocketAddress client, Consumer<byte[]> reply) {
        long received = System.nanoTime();
        counters.received();
        byte[] limited = rateLimited(wire, transport, client, received);
        if (limited != null) {
            if (limited != WITHHELD) {
                deliver(received, limited, reply);
            }
            return;
        }
        byte[] fast = answerOnWirePath(wire, transport);
        if (fast != null || blockingLane == null) {
            deliver(received, fast != null ? fast : answerOnChainPath(wire, transport, client), reply);
            return;
        }
        if (!waiting.tryAcquire()) {
            log.debug("dns: {} queries already wait on upstreams; dropping one from {}", MAX_WAITING, client);
            counters.dropped();
            return;
        }
        try {
            blockingLane.execute(() -> {
                try {
                    deliver(received, answerOnChainPath(wire, transport, client), reply);
                } finally {
                    waiting.release();
                }
            });
        } catch (RejectedExecutionException e) {
            waiting.release(); // closing
            counters.dropped();
        }
    }

    /** What {@link #rateLimited} returns for a response withheld: nothing is sent. */
    private static final byte[] WITHHELD = new byte[0];

    /**
     * Null when the response may go out (TCP, limiting off, an exempt client, tokens left); else {@link #WITHHELD},
     * or the truncated response that slips out instead, counted.
     */
    private byte[] rateLimited(byte[] wire, Transport transport, InetSocketAddress client, long now) {
        if (limiter == null || transport != Transport.UDP) {
            return null;
        }
        return switch (limiter.judge(client.getAddress(), now)) {
            case SEND -> null;
            case DROP -> {
                counters.rateLimited();
                counters.dropped();
                yield WITHHELD;
            }
            case SLIP -> {
                byte[] slip = SlipResponse.of(wire);
                if (slip == null) {
                    counters.rateLimited();
                    counters.dropped();
                    yield WITHHELD;
                }
                counters.rateLimitSlipped();
                counters.rcode(Rcode.NOERROR);
                counters.truncated();
                yield slip;
            }
        };
    }

    private void deliver(long received, byte[] response, Consumer<byte[]> reply) {
        if (response == null) {
            return;
        }
        counters.latency(System.nanoTime() - received);
        try {
            reply.accept(response);
        } catch (RuntimeException e) {
            log.debug("dns: sending a response failed: {}", e.toString());
        }
    }

    /** Stops the virtual threads of queries still waiting on upstreams; their clients get nothing. */
    @Override
    public void close() {
        if (blockingLane == null) {
            return;
        }
        blockingLane.shutdownNow(); // interrupts them, which closes their upstream sockets
        try {
            if (!blockingLane.awaitTermination(CLOSE_PATIENCE.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("dns: queries waiting on upstreams did not stop within {}", CLOSE_PATIENCE);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The response from the zone's precomputed bytes, or null when the query is not for the wire path. */
    private byte[] answerOnWirePath(byte[] wire, Transport transport) {
        if (wirePath == null) {
            return null;
        }
        try {
            WireQuery query = WireQuery.parse(wire);
            if (query == null) {
                return null;
            }
            int limit = transport == Transport.TCP ? MAX_TCP_MESSAGE
                    : query.hasOpt() ? Math.clamp(query.udpPayload(), MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD) : MIN_UDP_PAYLOAD;
            byte[] response = wirePath.answer(wire, query, limit);
            if (response != null) {
                counters.qtype(query.qtype());
                counters.rcode(response[3] & 0xF);
                if ((response[2] & 0x02) != 0) {
                    counters.truncated();
                }
            }
            return response;
        } catch (RuntimeException e) {
            // A bug; the chain path answers this query instead, so the client does not suffer for it.
            log.warn("dns: the wire path failed; answering on the chain path", e);
            counters.internalError();
            return null;
        }
    }

    /** The response from the chain, or null (counted as dropped) when nothing is to be sent. */
    private byte[] answerOnChainPath(byte[] wire, Transport transport, InetSocketAddress client) {
        try {
            byte[] response = respond(wire, transport, client);
            if (response == null) {
                counters.dropped();
            }
            return response;
        } catch (RuntimeException e) {
            // Only a bug gets here (handler failures are caught below); dropping keeps the listener alive.
            log.warn("dns: dropped a query from {} after an unexpected failure", client, e);
            counters.internalError();
            counters.dropped();
            return null;
        }
    }

    private byte[] respond(byte[] wire, Transport transport, InetSocketAddress client) {
        if (wire.length < Header.LENGTH) {
            return null; // not even an id to answer to
        }
        Header header = parseHeader(wire);
        if (header.getFlag(Flags.QR)) {
            return null; // a response, not a query: answering could start a loop between servers
        }
        Message query = parse(wire, client);
        Record question = query != null && query.getSection(Section.QUESTION).size() == 1 ? query.getQuestion() : null;
        if (question != null) {
            counters.qtype(question.getType());
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
            counters.internalError();
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
        } catch (IOException e) {
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

    private byte[] send(Message response, Message query, Transport transport) {
        return send(response, query, response.getHeader().getRcode(), transport);
    }

    /**
     * Adds our OPT when the query had one ({@code query} is null when the query could not be trusted that far),
     * counts, and renders to fit the transport: whole if it fits; else without the additional records (RFC 2181
     * §9 allows that without TC); else with TC and nothing but the question, which sends the client to TCP.
     */
    private byte[] send(Message response, Message query, int rcode, Transport transport) {
        OPTRecord queryOpt = query == null ? null : query.getOPT();
        if (queryOpt != null) {
            int doFlag = queryOpt.getFlags() & ExtendedFlags.DO; // RFC 3225 §3: DO is copied into the response
            response.addRecord(new OPTRecord(ADVERTISED_UDP_PAYLOAD, rcode >>> 4, 0, doFlag), Section.ADDITIONAL);
        }
        counters.rcode(rcode);
        int limit = transport == Transport.TCP ? MAX_TCP_MESSAGE : udpLimit(queryOpt);
        byte[] wire = response.toWire();
        if (wire.length <= limit) {
            return wire;
        }
        byte[] withoutAdditional = cut(response, false).toWire();
        if (withoutAdditional.length <= limit) {
            return withoutAdditional;
        }
        counters.truncated();
        return cut(response, true).toWire();
    }

    private static int udpLimit(OPTRecord opt) {
        if (opt == null) {
            return MIN_UDP_PAYLOAD;
        }
        return Math.clamp(opt.getPayloadSize(), MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD);
    }

    /**
     * The response without its additional records but the OPT, and when {@code truncate}, without any record but
     * the question and OPT, with TC set (RFC 2181 §9: rather an empty answer with TC than a partial RRset).
     */
    private static Message cut(Message response, boolean truncate) {
        Message cut = response.clone();
        OPTRecord opt = response.getOPT();
        if (truncate) {
            cut.removeAllRecords(Section.ANSWER);
            cut.removeAllRecords(Section.AUTHORITY);
            cut.getHeader().setFlag(Flags.TC);
        }
        cut.removeAllRecords(Section.ADDITIONAL);
        if (opt != null) {
            cut.addRecord(opt, Section.ADDITIONAL);
        }
        return cut;
    }

    static String qtypeLabel(int qtype) {
        String name = Type.string(qtype);
        return name.startsWith("TYPE") ? DnsCounters.OTHER_QTYPE : name;
    }
}
