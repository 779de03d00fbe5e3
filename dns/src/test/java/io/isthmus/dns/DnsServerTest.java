package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceType;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.nio.channels.DatagramChannel;
import java.nio.channels.ServerSocketChannel;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** Starting, binding, serving over time and stopping: what the gateway relies on around the answers. */
class DnsServerTest {
    private static final String WEB = "web.shop.svc.clusterset.local.";
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    @Test
    void portZeroBindsUdpAndTcpOnTheSameChosenPort() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            InetSocketAddress bound = server.localAddress();
            assertEquals(LOOPBACK, bound.getAddress());
            assertNotEquals(0, bound.getPort());
            assertEquals("NOERROR", Dig.ask(bound, Ask.of(WEB, "A"), false).rcode());
            assertEquals("NOERROR", Dig.ask(bound, Ask.of(WEB, "A"), true).rcode());
        }
    }

    @Test
    void aUdpPortInUseFailsStartNamingTheAddressAndLeavesNothingBound() throws IOException {
        try (DatagramChannel squatter = udpSquatterWithTcpTwinFree()) {
            int port = ((InetSocketAddress) squatter.getLocalAddress()).getPort();

            BindException e = assertThrows(BindException.class, () ->
                    DnsServer.start(DnsConfig.of(new InetSocketAddress(LOOPBACK, port)), Fixtures::directory));

            assertEquals("dns listen address 127.0.0.1:" + port + " is already in use (UDP)", e.getMessage());
            assertTcpPortFree(port);
        }
    }

    @Test
    void aTcpPortInUseFailsStartNamingTheAddressAndReleasesTheUdpPort() throws IOException {
        try (ServerSocketChannel squatter = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
            squatter.bind(new InetSocketAddress(LOOPBACK, 0));
            int port = ((InetSocketAddress) squatter.getLocalAddress()).getPort();

            BindException e = assertThrows(BindException.class, () ->
                    DnsServer.start(DnsConfig.of(new InetSocketAddress(LOOPBACK, port)), Fixtures::directory));

            assertEquals("dns listen address 127.0.0.1:" + port + " is already in use (TCP)", e.getMessage());
            assertUdpPortFree(port);
        }
    }

    @Test
    void closeStopsEveryThreadAndFreesThePort() throws IOException {
        DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
        int port = server.localAddress().getPort();
        Socket idleClient = RawDns.tcp(server.localAddress()); // a connection still open at close
        assertTrue(threadsOf(port) > 0);

        assertTimeoutPreemptively(Duration.ofSeconds(5), server::close);

        assertEquals(0, threadsOf(port), "no platform thread of this server left");
        assertEquals(-1, readOrEof(idleClient.getInputStream()), "open connections are closed");
        idleClient.close();
        assertUdpPortFree(port);
        assertTcpPortFree(port);
    }

    @Test
    void aNewDirectorySnapshotIsServedFromTheNextQuery() throws IOException {
        AtomicReference<ServiceDirectory> current = new AtomicReference<>(ServiceDirectory.EMPTY);
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), current::get)) {
            InetSocketAddress at = server.localAddress();
            assertEquals("NXDOMAIN", Dig.ask(at, Ask.of(WEB, "A"), false).rcode());
            assertEquals("NXDOMAIN", Dig.ask(at, Ask.of("svc.clusterset.local.", "A"), false).rcode(),
                    "no services: svc is no empty non-terminal either");

            current.set(Fixtures.directoryWith(42, List.of(
                    Fixtures.export("shop", "web", ServiceType.CLUSTER_SET_IP, "10.9.9.9"))));
            Reply added = Dig.ask(at, Ask.of(WEB, "A"), false);
            assertEquals("NOERROR", added.rcode());
            assertEquals("A 10.9.9.9", added.answer().getFirst().typeAndData());
            assertTrue(Dig.ask(at, Ask.of(Fixtures.ZONE, "SOA"), true).answer().getFirst().rdata().contains(" 42 "),
                    "the SOA serial follows the directory version");

            current.set(Fixtures.directoryWith(43, List.of(
                    Fixtures.export("shop", "web", ServiceType.CLUSTER_SET_IP, "10.9.9.10"))));
            assertEquals("A 10.9.9.10", DnsjavaClient.ask(at, Ask.of(WEB, "A"), false).answer().getFirst().typeAndData());

            current.set(Fixtures.directoryWith(44, List.of()));
            assertEquals("NXDOMAIN", DnsjavaClient.ask(at, Ask.of(WEB, "A"), true).rcode());
        }
    }

    @Test
    void zoneAndTtlComeFromTheConfig() throws IOException {
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort()).withZone("Mesh.Example").withTtl(Duration.ofSeconds(30));
        try (DnsServer server = DnsServer.start(config, Fixtures::directory)) {
            for (Client client : Client.values()) {
                Reply found = client.ask(server.localAddress(), Ask.of("web.shop.svc.mesh.example.", "A"));
                assertEquals("NOERROR", found.rcode(), client.name());
                assertEquals(30, found.answer().getFirst().ttl(), client.name());

                Reply missing = client.ask(server.localAddress(), Ask.of("nope.shop.svc.mesh.example.", "A"));
                assertEquals("NXDOMAIN", missing.rcode(), client.name());
                Reply.Rr soa = missing.authority().getFirst();
                // Name compression points the SOA owner at the question's spelling of the zone, so compare
                // without case (DNS names have none).
                assertTrue("Mesh.Example.".equalsIgnoreCase(soa.name()), client.name() + ": " + soa.name());
                assertEquals(30, soa.ttl(), client.name());
                assertTrue(soa.rdata().endsWith(" 30"), "SOA minimum is the TTL: " + soa.rdata());

                assertEquals("REFUSED", client.ask(server.localAddress(), Ask.of(WEB, "A")).rcode(),
                        "the default zone is not ours any more");
            }
        }
    }

    @Test
    void tcpAnswersPipelinedQueriesInOrderOnOneConnection() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
             Socket socket = RawDns.tcp(server.localAddress())) {
            RawDns.writeFramed(socket,
                    RawDns.queryBytes(1, WEB),
                    RawDns.query(2, "db.shop.svc.clusterset.local.", Type.AAAA).toWire(),
                    RawDns.queryBytes(3, "nope.shop.svc.clusterset.local."),
                    RawDns.query(4, "big.shop.svc.clusterset.local.", Type.A).toWire());
            Message first = RawDns.readFramed(socket);
            Message second = RawDns.readFramed(socket);
            Message third = RawDns.readFramed(socket);
            Message fourth = RawDns.readFramed(socket);
            assertEquals(List.of(1, 2, 3, 4), List.of(first.getHeader().getID(), second.getHeader().getID(),
                    third.getHeader().getID(), fourth.getHeader().getID()));
            assertEquals(2, second.getSection(Section.ANSWER).size());
            assertEquals(Rcode.NXDOMAIN, third.getRcode());
            assertEquals(Fixtures.BIG_SIZE, fourth.getSection(Section.ANSWER).size(), "TCP is never truncated");

            RawDns.writeFramed(socket, RawDns.queryBytes(5, WEB)); // and the connection stays usable
            assertEquals(5, RawDns.readFramed(socket).getHeader().getID());
        }
    }

    @Test
    void anIdleTcpConnectionIsClosedAfterTheTimeout() throws IOException {
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort()).withTcpIdleTimeout(Duration.ofMillis(300));
        try (DnsServer server = DnsServer.start(config, Fixtures::directory);
             Socket socket = RawDns.tcp(server.localAddress())) {
            RawDns.writeFramed(socket, RawDns.queryBytes(1, WEB));
            assertEquals(1, RawDns.readFramed(socket).getHeader().getID());
            long start = System.nanoTime();
            assertEquals(-1, readOrEof(socket.getInputStream()), "closed by the server");
            long waitedMillis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(waitedMillis >= 200 && waitedMillis < 2000, "closed after about 300 ms, not " + waitedMillis);
        }
    }

    @Test
    void countersCountQueriesByQtypeAndRcode() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory)) {
            InetSocketAddress at = server.localAddress();
            DnsjavaClient.ask(at, Ask.of(WEB, "A"), false);
            DnsjavaClient.ask(at, Ask.of(WEB, "A"), true);
            DnsjavaClient.ask(at, Ask.of(WEB, "AAAA"), false);
            DnsjavaClient.ask(at, Ask.of("nope.shop.svc.clusterset.local.", "A"), false);
            DnsjavaClient.ask(at, Ask.of("example.com.", "TYPE65280"), false);
            DnsjavaClient.ask(at, Ask.of("big.shop.svc.clusterset.local.", "A").withoutEdns(), false);
            RawDns.udp(at, new byte[] {1, 2, 3}, Duration.ofMillis(200));

            DnsCounters.Snapshot counts = server.counters().snapshot();

            assertEquals(7, counts.total());
            assertEquals(1, counts.dropped());
            assertEquals(1, counts.truncated());
            assertEquals(Map.of("A", 4L, "AAAA", 1L, "OTHER", 1L), counts.byQtype());
            assertEquals(Map.of("NOERROR", 4L, "NXDOMAIN", 1L, "REFUSED", 1L), counts.byRcode());
            assertEquals(6, counts.latency().count(), "every response, none for the dropped message");
            assertEquals(0, counts.internalErrors());
            assertThrows(UnsupportedOperationException.class, () -> counts.byRcode().put("x", 1L));
            DnsjavaClient.ask(at, Ask.of(WEB, "A"), false);
            assertEquals(7, counts.total(), "a snapshot does not move");
        }
    }

    @Test
    void aChainTriesHandlersInTheirDeclaredOrder() throws IOException {
        // A handler in the forwarder's place: after the zone, before the refusal.
        DnsHandler fakeForwarder = (request, next) -> request.question().getName().toString().endsWith("example.org.")
                ? request.reply(Rcode.NXDOMAIN) : next.serve(request);
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort());
        DnsChain chain = new DnsChain(List.of(
                new ClustersetZoneHandler(config.zone(), config.ttl(), Fixtures::directory),
                fakeForwarder,
                new RefusedHandler()));
        try (DnsServer server = DnsServer.start(config, chain)) {
            assertEquals("NOERROR", Dig.ask(server.localAddress(), Ask.of(WEB, "A"), false).rcode());
            Reply forwarded = Dig.ask(server.localAddress(), Ask.of("www.example.org.", "A"), false);
            assertEquals("NXDOMAIN", forwarded.rcode());
            assertFalse(forwarded.has("aa"));
            assertEquals("REFUSED", Dig.ask(server.localAddress(), Ask.of("www.example.com.", "A"), false).rcode());
        }
    }

    @Test
    void anEmptyChainAnswersServfail() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), new DnsChain(List.of()))) {
            assertEquals("SERVFAIL", DnsjavaClient.ask(server.localAddress(), Ask.of(WEB, "A"), false).rcode());
        }
    }

    @Test
    void zoneTransfersAreRefused() throws IOException {
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
             Socket socket = RawDns.tcp(server.localAddress())) {
            RawDns.writeFramed(socket, RawDns.query(9, Fixtures.ZONE, Type.AXFR).toWire());
            Message reply = RawDns.readFramed(socket);
            assertEquals(Rcode.REFUSED, reply.getRcode());
            assertEquals(0, reply.getSection(Section.ANSWER).size());
        }
    }

    /** The listener threads of the server on {@code port} (virtual connection threads are not listed by the JVM). */
    private static long threadsOf(int port) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().matches("dns-(udp|tcp)-" + port + "-.*") && t.isAlive()).count();
    }

    private static int readOrEof(InputStream in) throws IOException {
        return in.read();
    }

    private static void assertUdpPortFree(int port) throws IOException {
        try (DatagramChannel probe = DatagramChannel.open(StandardProtocolFamily.INET)) {
            probe.bind(new InetSocketAddress(LOOPBACK, port));
        }
    }

    /** A UDP socket on a port whose TCP twin no other process holds (the machine is shared). */
    private static DatagramChannel udpSquatterWithTcpTwinFree() throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            DatagramChannel squatter = DatagramChannel.open(StandardProtocolFamily.INET);
            squatter.bind(new InetSocketAddress(LOOPBACK, 0));
            try {
                assertTcpPortFree(((InetSocketAddress) squatter.getLocalAddress()).getPort());
                return squatter;
            } catch (BindException taken) {
                squatter.close();
            }
        }
        throw new IllegalStateException("no UDP port with a free TCP twin in 50 tries");
    }

    private static void assertTcpPortFree(int port) throws IOException {
        try (ServerSocketChannel probe = ServerSocketChannel.open(StandardProtocolFamily.INET)) {
            probe.bind(new InetSocketAddress(LOOPBACK, port));
        }
    }
}
