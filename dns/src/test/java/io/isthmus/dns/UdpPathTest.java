package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.fastpath.BatchedUdpSocket;
import java.io.IOException;
import java.net.BindException;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;

/**
 * Which UDP path the server takes and that both answer: batched recvmmsg/sendmmsg by default here (Linux x86_64
 * with native access), plain NIO when {@code isthmus.dns.udp.path=nio} forces it.
 */
class UdpPathTest {
    private static final String WEB = "web.shop.svc.clusterset.local.";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final int DEFAULT_THREADS = Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 4);

    @Test
    void theBatchedPathIsTheDefaultHereAndAnswers() throws IOException {
        try (Property _ = Property.clear(UdpListener.PATH_PROPERTY); // as if the suite had not forced nio
             DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            assertEquals("recvmmsg(batch=32, threads=" + DEFAULT_THREADS + ", SO_REUSEPORT sockets="
                    + DEFAULT_THREADS + ")", server.udpSyscalls().mode());
            assertTrue(server.udpSyscalls().fast());
            assertEquals(ServingPath.fast(QueryProcessor.WIRE_PATH), server.answerPath(), "the standard chain");
            assertTrue(server.udpPath().startsWith("recvmmsg(batch=32"), server.udpPath());
            assertAnswersOverUdp(server.localAddress());
        }
    }

    @Test
    void forcingNioStillAnswersEverythingAndSaysWhy() throws IOException {
        try (Property _ = Property.set(UdpListener.PATH_PROPERTY, "nio");
             DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            assertEquals(new ServingPath(false, "nio(threads=" + DEFAULT_THREADS + ")",
                    "forced by -Disthmus.dns.udp.path=nio"), server.udpSyscalls());
            assertAnswersOverUdp(server.localAddress());
            assertEquals(0, RawDns.udp(server.localAddress(), new byte[] {1, 2, 3}, Duration.ofMillis(200)).map(b -> 1)
                    .orElse(0), "a runt gets silence");
            assertEquals(200, answeredBurst(server.localAddress(), 200));
        }
    }

    @Test
    void theThreadsPropertySetsReceiveThreadsAndSockets() throws IOException {
        try (Property _ = Property.clear(UdpListener.PATH_PROPERTY);
             Property _ = Property.set(UdpListener.THREADS_PROPERTY, "3");
             DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            assertEquals("recvmmsg(batch=32, threads=3, SO_REUSEPORT sockets=3)", server.udpSyscalls().mode());
            int port = server.localAddress().getPort();
            assertEquals(3, Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("dns-udp-" + port + "-")).count());
            assertAnswersOverUdp(server.localAddress());
        }
    }

    @Test
    void aHandlerAheadOfTheZoneSendsEveryQueryDownTheChainAndTheServerSaysWhich() throws IOException {
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort());
        SeeingHandler seeing = new SeeingHandler();
        DnsChain chain = new DnsChain(List.of(seeing,
                new ClustersetZoneHandler(config.zone(), config.ttl(), Fixtures::directory), new RefusedHandler()));
        try (DnsServer server = DnsServer.start(config, chain)) {
            assertEquals(new ServingPath(false, QueryProcessor.CHAIN_PATH, "handler UdpPathTest$SeeingHandler is"
                    + " ahead of the zone handler; put ClustersetZoneHandler first to answer zone names from bytes"),
                    server.answerPath());
            assertTrue(server.udpPath().endsWith("answers: " + server.answerPath().text()), server.udpPath());
            assertAnswersOverUdp(server.localAddress());
            assertTrue(seeing.seen.get() > 0, "the handler ahead saw the zone query");
        }
    }

    @Test
    void aChainWithoutTheZoneHandlerSaysSo() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()),
                new DnsChain(List.of(new RefusedHandler())))) {
            assertEquals(new ServingPath(false, QueryProcessor.CHAIN_PATH, "the chain has no clusterset zone handler"),
                    server.answerPath());
        }
    }

    /** Passes every query on and counts it. */
    private static final class SeeingHandler implements DnsHandler {
        final java.util.concurrent.atomic.AtomicInteger seen = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public Message serve(DnsRequest request, Next next) {
            seen.incrementAndGet();
            return next.serve(request);
        }
    }

    @Test
    void aBurstOfQueriesIsAnsweredInFullThroughBatches() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            assertEquals(200, answeredBurst(server.localAddress(), 200));
            assertEquals(200, server.counters().snapshot().total());
        }
    }

    @Test
    void queriesFromManyClientsAreAnsweredWhicheverSocketTheKernelPicks() throws IOException {
        try (Property _ = Property.set(UdpListener.THREADS_PROPERTY, "4");
             DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            for (int client = 0; client < 40; client++) {
                byte[] reply = RawDns.udp(server.localAddress(), RawDns.queryBytes(client, WEB), RawDns.WAIT)
                        .orElseThrow(() -> new AssertionError("no answer"));
                assertEquals(Rcode.NOERROR, new Message(reply).getRcode());
            }
            assertEquals(40, server.counters().snapshot().total());
        }
    }

    @Test
    void aServerOnIpv6LoopbackAnswersOverTheBatchedPath() throws IOException {
        InetSocketAddress v6 = new InetSocketAddress(InetAddress.getByName("::1"), 0);
        requireBindable(v6);
        try (Property _ = Property.clear(UdpListener.PATH_PROPERTY);
             DnsServer server = DnsServer.start(DnsConfig.of(v6), Fixtures::directory)) {
            assertTrue(server.udpPath().startsWith("recvmmsg("), server.udpPath());
            assertEquals(v6.getAddress(), server.localAddress().getAddress());
            assertAnswersOverUdp(server.localAddress());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"auto", "nio"})
    void anAnswerThatWaitsOnAnUpstreamGoesOutLaterWithoutHoldingUpTheOthers(String path) throws Exception {
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort());
        DnsChain chain = new DnsChain(List.of(
                new ClustersetZoneHandler(config.zone(), config.ttl(), Fixtures::directory),
                new SlowUpstream(Duration.ofMillis(500)),
                new RefusedHandler()));
        try (Property _ = Property.set(UdpListener.PATH_PROPERTY, path);
             DnsServer server = DnsServer.start(config, chain);
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET)) {
            client.bind(new InetSocketAddress(LOOPBACK, 0));
            client.connect(server.localAddress());
            client.socket().setSoTimeout(Math.toIntExact(RawDns.WAIT.toMillis()));
            client.write(ByteBuffer.wrap(RawDns.queryBytes(1, "www.slow.example.")));
            client.write(ByteBuffer.wrap(RawDns.queryBytes(2, WEB)));

            Message first = receive(client);
            Message second = receive(client);

            assertEquals(2, first.getHeader().getID(), "the zone's answer did not wait for the upstream");
            assertEquals(Rcode.NOERROR, first.getRcode());
            assertEquals(1, second.getHeader().getID(), "the upstream's answer came, later");
            assertEquals(Rcode.NXDOMAIN, second.getRcode());
        }
    }

    @ParameterizedTest(name = "{0}, {1} bytes of padding")
    @CsvSource({"auto, 4200", "auto, 30000", "auto, 65000", "nio, 4200", "nio, 30000"})
    void aQueryLargerThan4096BytesIsAnsweredOnEitherPath(String path, int padding) throws Exception {
        try (Property _ = Property.set(UdpListener.PATH_PROPERTY, path);
             DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET)) {
            client.setOption(java.net.StandardSocketOptions.SO_SNDBUF, 1 << 17);
            client.bind(new InetSocketAddress(LOOPBACK, 0));
            client.connect(server.localAddress());
            client.socket().setSoTimeout(Math.toIntExact(RawDns.WAIT.toMillis()));
            Message query = RawDns.query(7, WEB, org.xbill.DNS.Type.A);
            // Padding (code 12) keeps the query on the wire path; an unknown option sends it down the chain.
            for (int code : new int[] {12, 65001}) {
                Message asked = query.clone();
                asked.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 0, 0, List.of(
                        new org.xbill.DNS.GenericEDNSOption(code, new byte[padding]))), Section.ADDITIONAL);
                byte[] wire = asked.toWire();
                assertTrue(wire.length > 4096, "the query is " + wire.length + " bytes");
                client.write(ByteBuffer.wrap(wire));

                Message answer = receive(client);

                assertEquals(7, answer.getHeader().getID());
                assertEquals(Rcode.NOERROR, answer.getRcode(), "option " + code + ": " + answer);
                assertEquals("10.0.0.10", answer.getSection(Section.ANSWER).getFirst().rdataToString());
            }
        }
    }

    @Test
    void aPortHeldByAnotherSoReusePortSocketIsStillInUse() throws IOException {
        BatchedUdpSocket.Options reusePort = BatchedUdpSocket.Options.defaults().withReusePort(true);
        try (BatchedUdpSocket squatter = BatchedUdpSocket.open(Fixtures.loopbackAnyPort(), reusePort)) {
            int port = squatter.localAddress().getPort();

            BindException e = assertThrows(BindException.class, () ->
                    DnsServer.start(DnsConfig.of(new InetSocketAddress(LOOPBACK, port)), Fixtures::directory));

            assertEquals("dns listen address 127.0.0.1:" + port + " is already in use (UDP)", e.getMessage());
        }
    }

    @Test
    void anUnknownPathFailsStartNamingTheValuesThatWork() {
        try (Property _ = Property.set(UdpListener.PATH_PROPERTY, "dpdk")) {
            BindException e = assertThrows(BindException.class, () ->
                    DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory));
            assertTrue(e.getMessage().contains("-Disthmus.dns.udp.path=dpdk is not one of auto, nio, recvmmsg"),
                    e.getMessage());
        }
    }

    /** An A question over UDP through dig and dnsjava, and a large answer whole under EDNS and cut without it. */
    private static void assertAnswersOverUdp(InetSocketAddress at) {
        Reply byDig = Dig.ask(at, Ask.of(WEB, "A"), false);
        assertEquals("NOERROR", byDig.rcode());
        assertEquals("A 10.0.0.10", byDig.answer().getFirst().typeAndData());
        assertEquals("NXDOMAIN", DnsjavaClient.ask(at, Ask.of("nope.shop.svc.clusterset.local.", "A"), false).rcode());
        Reply big = DnsjavaClient.ask(at, Ask.of("big.shop.svc.clusterset.local.", "A").withEdns(0, 4096), false);
        assertEquals(Fixtures.BIG_SIZE, big.answer().size(), "fits 4096 bytes, so it comes whole");
        Reply cut = Dig.ask(at, Ask.of("big.shop.svc.clusterset.local.", "A").withoutEdns(), false);
        assertTrue(cut.has("tc"), "over 512 bytes without EDNS: TC");
    }

    /** Sends {@code count} queries at once from one socket, then counts the distinct answers. */
    private static int answeredBurst(InetSocketAddress at, int count) throws IOException {
        try (DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET)) {
            client.setOption(java.net.StandardSocketOptions.SO_RCVBUF, 4 << 20);
            client.bind(new InetSocketAddress(LOOPBACK, 0));
            client.connect(at);
            List<ByteBuffer> queries = new ArrayList<>();
            for (int id = 0; id < count; id++) {
                queries.add(ByteBuffer.wrap(RawDns.queryBytes(id, WEB)));
            }
            for (ByteBuffer query : queries) {
                client.write(query);
            }
            client.socket().setSoTimeout(Math.toIntExact(RawDns.WAIT.toMillis()));
            BitSet answered = new BitSet(count);
            DatagramPacket reply = new DatagramPacket(new byte[4096], 4096);
            try {
                for (int i = 0; i < count; i++) {
                    client.socket().receive(reply);
                    Message message = new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength()));
                    assertTrue(message.getHeader().getFlag(Flags.QR));
                    assertEquals(1, message.getSection(Section.ANSWER).size());
                    answered.set(message.getHeader().getID());
                }
            } catch (java.net.SocketTimeoutException e) {
                // counted below
            }
            return answered.cardinality();
        }
    }

    /** What a forwarder looks like to the server: it may block, and here it does, on names under slow.example. */
    private record SlowUpstream(Duration delay) implements DnsHandler {
        @Override
        public Message serve(DnsRequest request, Next next) {
            if (!request.question().getName().toString().endsWith("slow.example.")) {
                return next.serve(request);
            }
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return request.reply(Rcode.NXDOMAIN);
        }

        @Override
        public boolean mayBlock() {
            return true;
        }
    }

    private static Message receive(DatagramChannel client) throws IOException {
        DatagramPacket packet = new DatagramPacket(new byte[4096], 4096);
        client.socket().receive(packet);
        return new Message(java.util.Arrays.copyOf(packet.getData(), packet.getLength()));
    }

    /** Fails with the cause when ::1 cannot be bound: IPv6 coverage must not vanish into a skip. */
    private static void requireBindable(InetSocketAddress address) {
        try (DatagramChannel channel = DatagramChannel.open(StandardProtocolFamily.INET6)) {
            channel.bind(address);
        } catch (IOException | UnsupportedOperationException e) {
            throw new AssertionError("this test needs " + address + ", which cannot be bound here (" + e
                    + "): enable IPv6 on loopback (sysctl net.ipv6.conf.lo.disable_ipv6=0)", e);
        }
    }

    /** Sets a system property for a test and puts the old value back. */
    private record Property(String name, String previous) implements AutoCloseable {
        static Property set(String name, String value) {
            return new Property(name, System.setProperty(name, value));
        }

        static Property clear(String name) {
            return new Property(name, System.clearProperty(name));
        }

        @Override
        public void close() {
            if (previous == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, previous);
            }
        }
    }
}
