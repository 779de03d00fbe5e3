package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;

/** Bytes no resolver would send: answered with FORMERR where a header can be read, else ignored, never fatal. */
class MalformedInputTest {
    private static final String WEB = "web.shop.svc.clusterset.local.";
    private static final int RD = 0x0100;
    private static final int QR = 0x8000;

    private DnsServer server;
    private InetSocketAddress address;

    @BeforeEach
    void start() throws BindException {
        server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
        address = server.localAddress();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** What the server should do with a message: answer FORMERR (with the query's id), or send nothing. */
    enum Expect { FORMERR, SILENCE }

    static Stream<Arguments> malformedMessages() {
        // A question whose name is a compression pointer to itself (offset 12): a loop, not a name.
        byte[] pointerLoop = RawDns.bytes(RawDns.header(0x1001, RD, 1, 0, 0, 0)
                .put((byte) 0xC0).put((byte) 12).putShort((short) 1).putShort((short) 1));
        // Label a, then a pointer to label b (offset 16), whose pointer leads back to a (offset 12).
        byte[] pointerPingPong = RawDns.bytes(RawDns.header(0x1002, RD, 1, 0, 0, 0)
                .put((byte) 1).put((byte) 'a').put((byte) 0xC0).put((byte) 16)
                .put((byte) 1).put((byte) 'b').put((byte) 0xC0).put((byte) 12).putShort((short) 1).putShort((short) 1));
        byte[] questionMissing = RawDns.bytes(RawDns.header(0x1003, RD, 1, 0, 0, 0));
        byte[] noQuestion = RawDns.bytes(RawDns.header(0x1004, RD, 0, 0, 0, 0));
        byte[] labelPastTheEnd = RawDns.bytes(RawDns.header(0x1005, RD, 1, 0, 0, 0).put((byte) 63).put((byte) 'x'));
        byte[] recordCountsLie = RawDns.bytes(RawDns.header(0x1006, RD, 1, 40, 0, 0)
                .put(RawDns.query(0, WEB, 1).getQuestion().toWire(Section.QUESTION)));
        Message twoQuestions = RawDns.query(0x1007, WEB, 1);
        twoQuestions.addRecord(RawDns.query(0, "db.shop.svc.clusterset.local.", 1).getQuestion(), Section.QUESTION);
        Message twoOpts = RawDns.query(0x1008, WEB, 1);
        twoOpts.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 0), Section.ADDITIONAL);
        twoOpts.addRecord(new org.xbill.DNS.OPTRecord(1232, 0, 0), Section.ADDITIONAL);
        byte[] aResponse = RawDns.bytes(RawDns.header(0x1009, QR | RD, 0, 0, 0, 0));
        return Stream.of(
                Arguments.of("a compression pointer to itself", pointerLoop, Expect.FORMERR),
                Arguments.of("two compression pointers pointing at each other", pointerPingPong, Expect.FORMERR),
                Arguments.of("a header that promises a question and ends", questionMissing, Expect.FORMERR),
                Arguments.of("no question at all", noQuestion, Expect.FORMERR),
                Arguments.of("a label longer than the message", labelPastTheEnd, Expect.FORMERR),
                Arguments.of("more answer records promised than sent", recordCountsLie, Expect.FORMERR),
                Arguments.of("two questions", twoQuestions.toWire(), Expect.FORMERR),
                Arguments.of("two OPT records", twoOpts.toWire(), Expect.FORMERR),
                Arguments.of("a response (QR set), which must not be answered", aResponse, Expect.SILENCE),
                Arguments.of("a truncated header of 5 bytes", new byte[] {0x10, 0x0a, 1, 0, 0}, Expect.SILENCE),
                Arguments.of("an empty datagram", new byte[0], Expect.SILENCE));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedMessages")
    void malformedMessageOverUdpGetsFormerrOrSilenceAndTheServerStillAnswers(String what, byte[] wire, Expect expect)
            throws IOException {
        Optional<byte[]> reply = RawDns.udp(address, wire, expect == Expect.SILENCE ? Duration.ofMillis(300) : RawDns.WAIT);
        checkReply(wire, reply, expect);
        assertStillAnswers();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedMessages")
    void malformedMessageOverTcpGetsFormerrOrSilenceAndTheConnectionGoesOn(String what, byte[] wire, Expect expect)
            throws IOException {
        try (Socket socket = RawDns.tcp(address)) {
            // The bad message and a good one in a single write: the framing survives the bad one.
            RawDns.writeFramed(socket, wire, RawDns.queryBytes(0x2222, WEB));
            Message first = RawDns.readFramed(socket);
            if (expect == Expect.FORMERR) {
                checkReply(wire, Optional.of(first.toWire()), expect);
                first = RawDns.readFramed(socket);
            }
            assertEquals(0x2222, first.getHeader().getID());
            assertEquals(Rcode.NOERROR, first.getRcode());
        }
    }

    private static void checkReply(byte[] wire, Optional<byte[]> reply, Expect expect) throws IOException {
        switch (expect) {
            case SILENCE -> assertFalse(reply.isPresent(), "no reply expected");
            case FORMERR -> {
                assertTrue(reply.isPresent(), "a FORMERR reply expected");
                Message m = new Message(reply.get());
                int id = ((wire[0] & 0xFF) << 8) | (wire[1] & 0xFF);
                assertEquals(id, m.getHeader().getID(), "id");
                assertEquals(Rcode.FORMERR, m.getRcode(), "rcode");
                assertTrue(m.getHeader().getFlag(Flags.QR), "qr");
                assertTrue(m.getHeader().getFlag(Flags.RD), "rd copied");
                assertEquals(Opcode.QUERY, m.getHeader().getOpcode(), "opcode");
            }
        }
    }

    @Test
    void thousandsOfRandomDatagramsNeitherCrashNorStallTheServer() throws IOException {
        Random random = new Random(20250101); // fixed seed: a failure can be replayed
        List<byte[]> garbage = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            byte[] packet = new byte[random.nextInt(600)];
            random.nextBytes(packet);
            if (i % 3 == 0 && packet.length >= 4) {
                packet[2] &= 0x07; // QR clear, opcode QUERY: these get past the first checks into the parser
                packet[3] = 0;
            }
            garbage.add(packet);
        }
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            RawDns.udpFireAndForget(address, garbage);
            assertStillAnswers();
        });
        DnsCounters.Snapshot counts = server.counters().snapshot();
        long answered = counts.byRcode().values().stream().mapToLong(Long::longValue).sum();
        assertTrue(counts.total() >= 1, "counted");
        assertTrue(answered + counts.dropped() <= counts.total(), "every message counted once: " + counts);
    }

    @Test
    void randomTcpFramesNeitherCrashNorStallTheServer() {
        Random random = new Random(7);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            for (int connection = 0; connection < 20; connection++) {
                try (Socket socket = RawDns.tcp(address)) {
                    byte[] junk = new byte[random.nextInt(2000)];
                    random.nextBytes(junk);
                    socket.getOutputStream().write(junk);
                    socket.shutdownOutput(); // then leave: the server must not wait for the rest of a frame
                    drain(socket.getInputStream());
                } catch (IOException e) {
                    // The server may reset a connection it gave up on; that is fine here.
                }
            }
            assertStillAnswers();
        });
    }

    @Test
    void aTcpClientStuckMidMessageDoesNotHoldUpOthers() throws IOException {
        try (Socket stuck = RawDns.tcp(address)) {
            stuck.getOutputStream().write(new byte[] {0x01, 0x00, 0x12, 0x34}); // promises 256 bytes, sends 2
            assertTimeoutPreemptively(Duration.ofSeconds(5), this::assertStillAnswers);
            try (Socket other = RawDns.tcp(address)) {
                RawDns.writeFramed(other, RawDns.queryBytes(0x3333, WEB));
                assertEquals(0x3333, RawDns.readFramed(other).getHeader().getID());
            }
        }
    }

    @Test
    void aHandlerThatThrowsGetsServfailAndTheServerGoesOn() throws IOException {
        DnsHandler broken = (request, next) -> {
            if (request.question().getName().toString().startsWith("boom")) {
                throw new IllegalStateException("a bug in a handler");
            }
            return next.serve(request);
        };
        DnsConfig config = DnsConfig.of(Fixtures.loopbackAnyPort());
        DnsChain chain = new DnsChain(List.of(broken,
                new ClustersetZoneHandler(config.zone(), config.ttl(), Fixtures::directory), new RefusedHandler()));
        try (DnsServer withBug = DnsServer.start(config, chain)) {
            Message reply = new Message(RawDns.udp(withBug.localAddress(), RawDns.queryBytes(0x4444, "boom.example."),
                    RawDns.WAIT).orElseThrow());
            assertEquals(Rcode.SERVFAIL, reply.getRcode());
            assertEquals("boom.example.", reply.getQuestion().getName().toString());
            Message next = new Message(RawDns.udp(withBug.localAddress(), RawDns.queryBytes(0x4445, WEB),
                    RawDns.WAIT).orElseThrow());
            assertEquals(Rcode.NOERROR, next.getRcode());
        }
    }

    private void assertStillAnswers() throws IOException {
        // Retried as a resolver would: right after a flood the kernel may still drop a datagram for a full buffer.
        Optional<byte[]> reply = Optional.empty();
        for (int attempt = 0; attempt < 5 && reply.isEmpty(); attempt++) {
            reply = RawDns.udp(address, RawDns.queryBytes(0x7777, WEB), Duration.ofMillis(500));
        }
        assertTrue(reply.isPresent(), "the server answers a good query after the bad ones");
        Message m = new Message(reply.get());
        assertEquals(0x7777, m.getHeader().getID());
        assertEquals(Rcode.NOERROR, m.getRcode());
        assertEquals(1, m.getSection(Section.ANSWER).size());
        // And dig agrees, over both transports.
        for (boolean tcp : new boolean[] {false, true}) {
            Reply dig = Dig.ask(address, Ask.of(WEB, "A"), tcp);
            assertEquals("NOERROR", dig.rcode());
            assertEquals(1, dig.answer().size());
        }
    }

    private static void drain(InputStream in) throws IOException {
        byte[] sink = new byte[4096];
        while (in.read(sink) >= 0) {
            // discard
        }
    }
}
