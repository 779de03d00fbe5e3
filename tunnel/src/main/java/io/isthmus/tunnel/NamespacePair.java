package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.fastpath.NetNamespace;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Two tunnel endpoints, each in its own gateway namespace, keyed by the real {@link KeyExchange} performed in this
 * process (the messages go from one {@link PeerKeys} to the other directly, where the gateway would carry them on
 * the peering stream), rekeyed by a ticker once a second. For the namespace test and the benchmark.
 *
 * <pre>
 * java -cp ... io.isthmus.tunnel.NamespacePair GW_A_NS UNDERLAY_A RANGE_A GW_B_NS UNDERLAY_B RANGE_B [QUEUES] [SUITE]
 *      [offload|no-offload] [udp-offload|no-udp-offload]
 * </pre>
 * starts both, prints {@code ready}, runs until standard input closes (or SIGTERM), prints the stats of both.
 */
public final class NamespacePair implements AutoCloseable {
    /** One side: its namespace, its underlay address, the inner ranges behind it (its pods). */
    public record Side(ClusterId cluster, NetNamespace namespace, InetAddress underlay, List<Cidr> ranges) {
    }

    public static final int PORT = 51_820;

    private final NamespaceEndpoint a;
    private final NamespaceEndpoint b;
    private final PeerKeys keysA;
    private final PeerKeys keysB;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("tunnel-rekey").daemon().factory());

    private NamespacePair(NamespaceEndpoint a, NamespaceEndpoint b, PeerKeys keysA, PeerKeys keysB) {
        this.a = a;
        this.b = b;
        this.keysA = keysA;
        this.keysB = keysB;
    }

    public static NamespacePair start(Side sideA, Side sideB, int queues, boolean offload, Suite suite,
                                      RekeyPolicy policy) throws Exception {
        return start(sideA, sideB, queues, offload, suite, policy, true);
    }

    /** As above; {@code udpOffload} false sends one datagram per packet (to compare with UDP GSO/GRO). */
    public static NamespacePair start(Side sideA, Side sideB, int queues, boolean offload, Suite suite,
                                      RekeyPolicy policy, boolean udpOffload) throws Exception {
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        NamespaceEndpoint a = NamespaceEndpoint.start(sideA.namespace(), "isth0", queues, offload,
                TunnelEngine.Config.defaults(new InetSocketAddress(sideA.underlay(), PORT)).withUdpOffload(udpOffload),
                sideB.ranges(), clock);
        NamespaceEndpoint b;
        try {
            b = NamespaceEndpoint.start(sideB.namespace(), "isth0", queues, offload,
                    TunnelEngine.Config.defaults(new InetSocketAddress(sideB.underlay(), PORT))
                            .withUdpOffload(udpOffload), sideA.ranges(), clock);
        } catch (Exception | Error e) {
            a.close();
            throw e;
        }
        // In the gateway each identity's certificate is the one its peering TLS session presented.
        TunnelIdentity idA = TunnelIdentity.ofDer(sideA.cluster(), ("certificate of " + sideA.cluster())
                .getBytes(StandardCharsets.UTF_8));
        TunnelIdentity idB = TunnelIdentity.ofDer(sideB.cluster(), ("certificate of " + sideB.cluster())
                .getBytes(StandardCharsets.UTF_8));
        a.engine().addPeer(sideB.cluster(), b.engine().localAddress(), sideB.ranges());
        b.engine().addPeer(sideA.cluster(), a.engine().localAddress(), sideA.ranges());
        a.engine().deliverTo(LocalDestinations.of(sideA.ranges())); // each side's own ranges are its destinations
        b.engine().deliverTo(LocalDestinations.of(sideB.ranges()));
        PeerKeys keysA = new PeerKeys(a.engine(), new KeyExchange(idA, idB, suite,
                new ReceiverIndexes(random), random, clock), policy, clock);
        PeerKeys keysB = new PeerKeys(b.engine(), new KeyExchange(idB, idA, suite,
                new ReceiverIndexes(random), random, clock), policy, clock);
        NamespacePair pair = new NamespacePair(a, b, keysA, keysB);
        pair.carry(keysA, keysB, keysA.start());
        pair.awaitKeyed(sideA.cluster(), sideB.cluster());
        pair.ticker.scheduleAtFixedRate(pair::tick, 1, 1, TimeUnit.SECONDS);
        return pair;
    }

    public TunnelEngine engineA() {
        return a.engine();
    }

    public TunnelEngine engineB() {
        return b.engine();
    }

    private synchronized void tick() {
        try {
            keysA.tick().ifPresent(m -> carry(keysA, keysB, m));
            keysB.tick().ifPresent(m -> carry(keysB, keysA, m));
        } catch (RuntimeException e) {
            System.getLogger(NamespacePair.class.getName()).log(System.Logger.Level.ERROR, "rekey failed", e);
        }
    }

    /** What the peering stream does: deliver a message, and the replies back, in order. */
    private synchronized void carry(PeerKeys from, PeerKeys to, TunnelMessage message) {
        Optional<TunnelMessage> reply = to.onMessage(message);
        reply.ifPresent(m -> carry(to, from, m));
    }

    private void awaitKeyed(ClusterId clusterA, ClusterId clusterB) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (a.engine().currentSession(clusterB) == null || b.engine().currentSession(clusterA) == null) {
            if (System.nanoTime() > deadline) {
                throw new IOException("the tunnel did not key within 10 s: the keepalive from " + clusterA
                        + " did not reach " + clusterB + "; " + b.engine().stats());
            }
            Thread.sleep(10);
        }
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        a.close();
        b.close();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 6) {
            System.err.println("usage: NamespacePair GW_A_NS UNDERLAY_A RANGE_A GW_B_NS UNDERLAY_B RANGE_B"
                    + " [QUEUES] [aes-256-gcm|chacha20-poly1305] [offload|no-offload] [udp-offload|no-udp-offload]");
            System.exit(2);
        }
        Side sideA = side("east", args[0], args[1], args[2]);
        Side sideB = side("west", args[3], args[4], args[5]);
        int queues = args.length > 6 ? Integer.parseInt(args[6]) : 2;
        Suite suite = args.length > 7 ? Suite.parse("suite", args[7]) : Suite.AES_256_GCM;
        boolean offload = args.length <= 8 || !args[8].equals("no-offload");
        boolean udpOffload = args.length <= 9 || !args[9].equals("no-udp-offload");
        try (NamespacePair pair = start(sideA, sideB, queues, offload, suite, RekeyPolicy.defaults(), udpOffload)) {
            System.out.println("ready: " + sideA.namespace().name() + " <-> " + sideB.namespace().name() + ", "
                    + queues + " queue(s) each, " + suite + (offload ? ", TUN offloads (TSO, GRO)" : ", plain TUN")
                    + ", " + pair.engineA().udpPath());
            System.out.flush();
            while (System.in.read() >= 0) {
                // runs until the benchmark closes our standard input
            }
            System.out.println("stats " + sideA.cluster() + ": " + pair.engineA().stats());
            System.out.println("stats " + sideB.cluster() + ": " + pair.engineB().stats());
        }
    }

    private static Side side(String cluster, String namespace, String underlay, String ranges) {
        List<Cidr> cidrs = new ArrayList<>();
        for (String range : ranges.split(",")) {
            cidrs.add(Cidr.parse("range", range));
        }
        return new Side(ClusterId.of(cluster), NetNamespace.named(namespace),
                io.isthmus.api.IpLiteral.parse("underlay", underlay), List.copyOf(cidrs));
    }
}
