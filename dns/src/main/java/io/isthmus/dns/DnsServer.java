package io.isthmus.dns;

import io.isthmus.api.ServiceDirectory;
import java.io.IOException;
import java.net.BindException;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The DNS server: UDP and TCP on one address and port, both answered by one {@link DnsChain}.
 *
 * <pre>{@code
 * try (DnsServer dns = DnsServer.start(DnsConfig.of(listen), directoryRef::get)) {
 *     dns.localAddress();           // the port actually bound, when listen asked for port 0
 *     dns.counters().snapshot();    // for /metrics
 * }
 * }</pre>
 */
public final class DnsServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
    /** With port 0 the UDP port is picked first; if TCP finds that number taken we try another this often. */
    private static final int EPHEMERAL_ATTEMPTS = 8;
    private static final int TCP_BACKLOG = 128;

    private final InetSocketAddress localAddress;
    private final DnsCounters counters;
    private final UdpListener udp;
    private final TcpListener tcp;
    private final QueryProcessor processor;

    private DnsServer(InetSocketAddress localAddress, DnsCounters counters, UdpListener udp, TcpListener tcp,
                      QueryProcessor processor) {
        this.localAddress = localAddress;
        this.counters = counters;
        this.udp = udp;
        this.tcp = tcp;
        this.processor = processor;
    }

    /**
     * Starts serving the clusterset zone from {@code directory}, read afresh for every query, with the standard
     * chain ({@link DnsChain#standard}: the zone, forwarding when the config has upstreams, refusal).
     */
    public static DnsServer start(DnsConfig config, Supplier<ServiceDirectory> directory) throws BindException {
        DnsCounters counters = new DnsCounters();
        return start(config, DnsChain.standard(config, directory, counters), counters);
    }

    /** Starts answering with {@code chain}, counting into counters of its own. */
    public static DnsServer start(DnsConfig config, DnsChain chain) throws BindException {
        return start(config, chain, new DnsCounters());
    }

    /**
     * Binds UDP and TCP and starts answering with {@code chain}, counting into {@code counters} (which the chain's
     * handlers may count into too). If either cannot be bound, nothing stays bound
     * and the {@link BindException} names the address and the transport, e.g.
     * {@code dns listen address 127.0.0.1:5353 is already in use (UDP)}.
     */
    public static DnsServer start(DnsConfig config, DnsChain chain, DnsCounters counters) throws BindException {
        Sockets sockets = bind(config.listen());
        QueryProcessor processor = new QueryProcessor(chain, counters, config.rateLimit());
        int port = sockets.bound().getPort();
        UdpListener udp = sockets.udp();
        udp.start(processor);
        TcpListener tcp = new TcpListener(sockets.tcp(), processor, config.tcpIdleTimeout(), port);
        log.info("dns: serving zone {} on {} (udp: {}; tcp); answers: {}; udp rate limit: {}", config.zone(),
                show(sockets.bound()), udp.path().text(), processor.answerPath().text(), describe(config.rateLimit()));
        return new DnsServer(sockets.bound(), counters, udp, tcp, processor);
    }

    private static String describe(RateLimit limit) {
        return !limit.enabled() ? "off" : limit.responsesPerSecond() + "/s per /" + limit.ipv4PrefixLength() + " or /"
                + limit.ipv6PrefixLength() + ", burst " + limit.burst() + ", slip " + limit.slip() + ", exempt "
                + limit.exemptClients();
    }

    /** The address and port actually bound (the chosen port when the config asked for port 0). */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    public DnsCounters counters() {
        return counters;
    }

    /**
     * How UDP datagrams move: {@code recvmmsg(batch=32, threads=2, SO_REUSEPORT sockets=2)} where batched system
     * calls work, else {@code nio(threads=2)} and why not (unavailable here, or forced; see {@link UdpListener}).
     */
    public ServingPath udpSyscalls() {
        return udp.path();
    }

    /**
     * How queries are answered, on UDP and TCP alike: zone names from precomputed bytes (the wire path), or every
     * query through the handler chain, and why (a handler ahead of the zone handler; see {@link QueryProcessor}).
     */
    public ServingPath answerPath() {
        return processor.answerPath();
    }

    /**
     * Both, in one line for {@code /api/v1/status} and {@code isthmus status}, e.g.
     * {@code recvmmsg(batch=32, threads=2, SO_REUSEPORT sockets=2); answers: wire path (...)}.
     */
    public String udpPath() {
        return udpSyscalls().text() + "; answers: " + answerPath().text();
    }

    /** Stops every listener thread and closes every socket; returns once they are gone. */
    @Override
    public void close() {
        tcp.close();
        udp.close();
        processor.close(); // after the listeners: no new query can reach it
        log.info("dns: stopped listening on {}", show(localAddress));
    }

    private record Sockets(UdpListener udp, ServerSocketChannel tcp, InetSocketAddress bound) {
    }

    private static Sockets bind(InetSocketAddress listen) throws BindException {
        int attempts = listen.getPort() == 0 ? EPHEMERAL_ATTEMPTS : 1;
        for (int attempt = 1; ; attempt++) {
            UdpListener udp = bindUdp(listen);
            InetSocketAddress bound;
            try {
                bound = udp.localAddress();
                return new Sockets(udp, bindTcp(new InetSocketAddress(listen.getAddress(), bound.getPort())), bound);
            } catch (BindException e) {
                udp.close();
                if (attempt >= attempts) {
                    throw e;
                }
            } catch (RuntimeException e) {
                udp.close();
                throw bindFailure(listen, "UDP", e);
            }
        }
    }

    /** Binds UDP on the path {@link UdpListener#bind} chooses (batched or NIO); it leaves nothing bound on failure. */
    private static UdpListener bindUdp(InetSocketAddress listen) throws BindException {
        try {
            return UdpListener.bind(listen);
        } catch (IOException | RuntimeException e) {
            throw bindFailure(listen, "UDP", e);
        }
    }

    private static ServerSocketChannel bindTcp(InetSocketAddress address) throws BindException {
        ServerSocketChannel tcp = null;
        try {
            tcp = ServerSocketChannel.open(family(address));
            tcp.setOption(StandardSocketOptions.SO_REUSEADDR, true); // restart despite TIME_WAIT connections
            tcp.bind(address, TCP_BACKLOG);
            return tcp;
        } catch (IOException | RuntimeException e) {
            closeQuietly(tcp);
            throw bindFailure(address, "TCP", e);
        }
    }

    private static StandardProtocolFamily family(InetSocketAddress address) {
        return address.getAddress() instanceof Inet6Address ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
    }

    private static BindException bindFailure(InetSocketAddress address, String transport, Exception cause) {
        String why = cause instanceof BindException && String.valueOf(cause.getMessage()).contains("in use")
                ? "is already in use"
                : "cannot be bound: " + cause.getMessage();
        BindException failure = new BindException("dns listen address " + show(address) + " " + why + " (" + transport + ")");
        failure.initCause(cause);
        return failure;
    }

    /** {@code 127.0.0.1:53} or {@code [::1]:53}, never a host name lookup. */
    static String show(InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        return (address.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + address.getPort();
    }

    private static void closeQuietly(java.nio.channels.Channel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            log.debug("dns: closing a socket after a failed bind: {}", e.toString());
        }
    }
}
