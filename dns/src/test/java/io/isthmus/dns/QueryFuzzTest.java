package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.CookieOption;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.GenericEDNSOption;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * A seeded mutation fuzzer over valid queries: bit flips, inserted and deleted bytes, lying counts and lengths,
 * compression pointers (loops among them), label length bytes, truncation, splices and EDNS options. Each input goes
 * to {@link QueryProcessor} directly, over both transports; a few thousand go over a real UDP socket too.
 *
 * <p>Checked for every input: nothing escapes and no bug is counted; a reply, when there is one, parses, carries
 * the query's id, and is no bigger than the transport allows; a query the wire path takes gets the same answer as
 * on the chain path. Afterwards the server still answers.
 *
 * <p>200,000 inputs by default (a few seconds); more with {@code -Disthmus.fuzz.iterations=5000000}. The seed is
 * printed; {@code -Disthmus.fuzz.seed=N} replays a run.
 */
class QueryFuzzTest {
    private static final int DEFAULT_ITERATIONS = 200_000;
    private static final int UDP_INPUTS = 3_000;
    private static final InetSocketAddress CLIENT = new InetSocketAddress("127.0.0.1", 40000);
    private static final String[] NAMES = {
            "web.shop.svc.clusterset.local.", "db.shop.svc.clusterset.local.", "big.shop.svc.clusterset.local.",
            "_pg._tcp.db.shop.svc.clusterset.local.", "db-0.east.db.shop.svc.clusterset.local.",
            "10.0.0.10.in-addr.arpa.", "clusterset.local.", "nope.shop.svc.clusterset.local.", "example.com.",
            "Shop.SVC.clusterset.local."};
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.SRV, Type.PTR, Type.ANY, Type.SOA, Type.TXT, Type.NS,
            Type.AXFR, 65280};

    @Test
    void mutatedQueriesNeverBreakTheProcessor() throws IOException {
        long seed = Long.getLong("isthmus.fuzz.seed", System.nanoTime());
        int iterations = Integer.getInteger("isthmus.fuzz.iterations", DEFAULT_ITERATIONS);
        System.out.printf("fuzz: %,d inputs, seed %d (-Disthmus.fuzz.seed=%d replays)%n", iterations, seed, seed);
        Random random = new Random(seed);
        List<byte[]> seeds = seeds();
        ClustersetZoneHandler zone = new ClustersetZoneHandler(
                DnsConfig.of(new InetSocketAddress("127.0.0.1", 53)), Fixtures::directory);
        DnsChain chain = new DnsChain(List.of(zone, new RefusedHandler()));
        DnsCounters counters = new DnsCounters();
        QueryProcessor onWire = new QueryProcessor(chain, counters, true);
        QueryProcessor onChain = new QueryProcessor(chain, new DnsCounters(), false);
        int answered = 0;
        int onWirePath = 0;
        long started = System.nanoTime();
        for (int i = 0; i < iterations; i++) {
            byte[] input = mutate(seeds.get(random.nextInt(seeds.size())), seeds, random);
            Transport transport = random.nextInt(4) == 0 ? Transport.TCP : Transport.UDP;
            Optional<byte[]> reply = onWire.process(input, transport, CLIENT);
            if (counters.internalErrorCount() != 0) {
                fail("a bug on input " + HexFormat.of().formatHex(input) + " over " + transport + " (seed " + seed + ")");
            }
            if (reply.isPresent()) {
                answered++;
                check(input, reply.get(), transport, seed);
            }
            WireQuery parsed = WireQuery.parse(input);
            if (parsed != null && zone.answer(input, parsed, 65_535) != null) {
                onWirePath++;
                assertEquals(onChain.process(input, transport, CLIENT).map(QueryFuzzTest::describe),
                        reply.map(QueryFuzzTest::describe),
                        "wire and chain paths differ on " + HexFormat.of().formatHex(input) + " (seed " + seed + ")");
            }
        }
        System.out.printf("fuzz: %,d inputs in %d ms: %,d answered, %,d of them on the wire path%n", iterations,
                (System.nanoTime() - started) / 1_000_000, answered, onWirePath);
        assertTrue(answered > iterations / 10, "most mutations still get an answer (FORMERR at least)");
        assertTrue(onWirePath > iterations / 100, "some mutations stay valid queries for the wire path");
        Message good = new Message(onWire.process(RawDns.queryBytes(7, NAMES[0]), Transport.UDP, CLIENT).orElseThrow());
        assertEquals(Rcode.NOERROR, good.getRcode(), "still answers");
        assertEquals(1, good.getSection(Section.ANSWER).size());
    }

    @Test
    void mutatedQueriesOverRealUdpNeverBreakTheServer() throws IOException, InterruptedException {
        long seed = Long.getLong("isthmus.fuzz.seed", System.nanoTime());
        Random random = new Random(seed);
        List<byte[]> seeds = seeds();
        try (DnsServer server = DnsServer.start(DnsConfig.of(Fixtures.loopbackAnyPort()), Fixtures::directory);
             DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout(500);
            AtomicInteger replies = new AtomicInteger();
            AtomicReference<String> bad = new AtomicReference<>();
            Thread receiver = Thread.ofVirtual().start(() -> receive(socket, replies, bad));
            for (int i = 0; i < UDP_INPUTS; i++) {
                byte[] input = mutate(seeds.get(random.nextInt(seeds.size())), seeds, random);
                socket.send(new DatagramPacket(input, input.length, server.localAddress()));
                if (i % 50 == 49) {
                    Thread.sleep(1); // pace the flood, so what the kernel drops is not what we test
                }
            }
            receiver.join(Duration.ofSeconds(10));
            assertEquals(null, bad.get(), "seed " + seed);
            assertTrue(replies.get() > UDP_INPUTS / 10, "replies came back: " + replies.get());
            assertEquals(0, server.counters().snapshot().internalErrors(), "no bug counted (seed " + seed + ")");
            Reply after = Dig.ask(server.localAddress(), Ask.of(NAMES[0], "A"), false);
            assertEquals("NOERROR", after.rcode(), "still answers");
        }
    }

    private static void receive(DatagramSocket socket, AtomicInteger replies, AtomicReference<String> bad) {
        byte[] buffer = new byte[65_535];
        while (true) {
            DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
            try {
                socket.receive(packet);
            } catch (SocketTimeoutException e) {
                return; // quiet for half a second: everything that will come has come
            } catch (IOException e) {
                bad.set(e.toString());
                return;
            }
            replies.incrementAndGet();
            byte[] reply = Arrays.copyOf(buffer, packet.getLength());
            try {
                Message m = new Message(reply);
                if (reply.length > QueryProcessor.MAX_UDP_PAYLOAD || !m.getHeader().getFlag(org.xbill.DNS.Flags.QR)) {
                    bad.set("reply of " + reply.length + " bytes, or without QR: " + HexFormat.of().formatHex(reply));
                }
            } catch (IOException e) {
                bad.set("a reply that does not parse: " + HexFormat.of().formatHex(reply));
            }
        }
    }

    private static void check(byte[] input, byte[] reply, Transport transport, long seed) {
        Message m;
        try {
            m = new Message(reply);
        } catch (IOException e) {
            throw new AssertionError("a reply that does not parse, to " + HexFormat.of().formatHex(input)
                    + " (seed " + seed + ")", e);
        }
        assertEquals(((input[0] & 0xFF) << 8) | (input[1] & 0xFF), m.getHeader().getID(), "id");
        if (reply.length <= QueryProcessor.MIN_UDP_PAYLOAD) {
            return; // within what any transport allows
        }
        int limit = transport == Transport.TCP ? QueryProcessor.MAX_TCP_MESSAGE : udpLimit(input);
        if (reply.length > limit) {
            fail(reply.length + " bytes over " + transport + ", limit " + limit + ", to "
                    + HexFormat.of().formatHex(input) + " (seed " + seed + ")");
        }
    }

    /** 512, or the query's EDNS size when dnsjava can read one (the size we then answer to). */
    private static int udpLimit(byte[] input) {
        try {
            OPTRecord opt = new Message(input).getOPT();
            return opt == null ? QueryProcessor.MIN_UDP_PAYLOAD
                    : Math.clamp(opt.getPayloadSize(), QueryProcessor.MIN_UDP_PAYLOAD, QueryProcessor.MAX_UDP_PAYLOAD);
        } catch (IOException | RuntimeException e) {
            return QueryProcessor.MIN_UDP_PAYLOAD;
        }
    }

    private static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        int id = 1;
        for (String name : NAMES) {
            for (int type : TYPES) {
                Message plain = RawDns.query(id++, name, type);
                seeds.add(plain.toWire());
                Message edns = RawDns.query(id++, name, type);
                edns.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
                seeds.add(edns.toWire());
                Message cookie = RawDns.query(id++, name, type);
                cookie.addRecord(new OPTRecord(4096, 0, 0, 0, List.of(
                        new CookieOption(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}),
                        new GenericEDNSOption(EDNSOption.Code.PADDING, new byte[8]))), Section.ADDITIONAL);
                seeds.add(cookie.toWire());
            }
        }
        return seeds;
    }

    /** One to three mutations of {@code seed}. */
    static byte[] mutate(byte[] seed, List<byte[]> seeds, Random random) {
        byte[] m = seed.clone();
        int rounds = 1 + random.nextInt(3);
        for (int round = 0; round < rounds; round++) {
            m = switch (random.nextInt(11)) {
                case 0 -> flipBits(m, random);
                case 1 -> insertByte(m, random);
                case 2 -> deleteByte(m, random);
                case 3 -> lieInCount(m, random);
                case 4 -> lieInLabelLength(m, random);
                case 5 -> pointer(m, random);
                case 6 -> Arrays.copyOf(m, random.nextInt(m.length + 1));
                case 7 -> appendGarbage(m, random);
                case 8 -> splice(m, seeds.get(random.nextInt(seeds.size())), random);
                case 9 -> lieInOptLength(m, random);
                default -> setFlags(m, random);
            };
        }
        return m;
    }

    private static byte[] flipBits(byte[] m, Random random) {
        if (m.length == 0) {
            return m;
        }
        for (int i = 1 + random.nextInt(4); i > 0; i--) {
            m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
        }
        return m;
    }

    private static byte[] insertByte(byte[] m, Random random) {
        int at = random.nextInt(m.length + 1);
        byte[] out = new byte[m.length + 1];
        System.arraycopy(m, 0, out, 0, at);
        out[at] = (byte) random.nextInt(256);
        System.arraycopy(m, at, out, at + 1, m.length - at);
        return out;
    }

    private static byte[] deleteByte(byte[] m, Random random) {
        if (m.length == 0) {
            return m;
        }
        int at = random.nextInt(m.length);
        byte[] out = new byte[m.length - 1];
        System.arraycopy(m, 0, out, 0, at);
        System.arraycopy(m, at + 1, out, at, m.length - at - 1);
        return out;
    }

    /** QDCOUNT, ANCOUNT, NSCOUNT or ARCOUNT set to a lie. */
    private static byte[] lieInCount(byte[] m, Random random) {
        if (m.length < 12) {
            return m;
        }
        int field = 4 + 2 * random.nextInt(4);
        int[] lies = {0, 1, 2, 3, 255, 0x7FFF, 0xFFFF};
        int value = lies[random.nextInt(lies.length)];
        m[field] = (byte) (value >>> 8);
        m[field + 1] = (byte) value;
        return m;
    }

    /** One of the question's label length bytes set to anything, including 64-255 (pointer and extended types). */
    private static byte[] lieInLabelLength(byte[] m, Random random) {
        List<Integer> lengths = labelLengthOffsets(m);
        if (lengths.isEmpty()) {
            return m;
        }
        m[lengths.get(random.nextInt(lengths.size()))] = (byte) random.nextInt(256);
        return m;
    }

    /** A compression pointer in place of a label: to itself, backwards, forwards or past the end. */
    private static byte[] pointer(byte[] m, Random random) {
        List<Integer> lengths = labelLengthOffsets(m);
        if (lengths.isEmpty() || m.length < 2) {
            return m;
        }
        int at = lengths.get(random.nextInt(lengths.size()));
        if (at + 1 >= m.length) {
            return m;
        }
        int target = switch (random.nextInt(4)) {
            case 0 -> at; // a loop
            case 1 -> random.nextInt(at + 1);
            case 2 -> random.nextInt(m.length);
            default -> random.nextInt(0x4000);
        };
        m[at] = (byte) (0xC0 | target >>> 8);
        m[at + 1] = (byte) target;
        return m;
    }

    private static byte[] appendGarbage(byte[] m, Random random) {
        byte[] extra = new byte[1 + random.nextInt(40)];
        random.nextBytes(extra);
        byte[] out = Arrays.copyOf(m, m.length + extra.length);
        System.arraycopy(extra, 0, out, m.length, extra.length);
        return out;
    }

    private static byte[] splice(byte[] m, byte[] other, Random random) {
        int cut = random.nextInt(m.length + 1);
        int from = random.nextInt(other.length + 1);
        byte[] out = Arrays.copyOf(m, cut + other.length - from);
        System.arraycopy(other, from, out, cut, other.length - from);
        return out;
    }

    /** The last two bytes (the OPT's RDLENGTH, or an option's length, when there is one) set to a lie. */
    private static byte[] lieInOptLength(byte[] m, Random random) {
        if (m.length < 14) {
            return m;
        }
        int at = m.length - 2 - 2 * random.nextInt(Math.min(6, (m.length - 12) / 2));
        int value = random.nextInt(4) == 0 ? 0xFFFF : random.nextInt(64);
        m[at] = (byte) (value >>> 8);
        m[at + 1] = (byte) value;
        return m;
    }

    private static byte[] setFlags(byte[] m, Random random) {
        if (m.length >= 4) {
            m[2] = (byte) random.nextInt(256);
            m[3] = (byte) random.nextInt(256);
        }
        return m;
    }

    /** Where the question's label length bytes are, as far as the name reads as plain labels. */
    private static List<Integer> labelLengthOffsets(byte[] m) {
        List<Integer> out = new ArrayList<>();
        int at = 12;
        while (at < m.length) {
            out.add(at);
            int length = m[at] & 0xFF;
            if (length == 0 || length > 63) {
                break;
            }
            at += 1 + length;
        }
        return out;
    }

    private static String describe(byte[] wire) {
        try {
            return new Message(wire).toString().replaceAll(";; Message size: \\d+ bytes", "");
        } catch (IOException e) {
            return "unparseable " + HexFormat.of().formatHex(wire);
        }
    }
}
