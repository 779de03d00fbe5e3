package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.tunnel.KeyOffer;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.testing.Echo;
import io.isthmus.testing.Netns;
import io.isthmus.testing.TwoClusterTopology;
import io.isthmus.testing.TwoClusterTopology.Network;
import java.io.FileInputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The data plane on its own: two {@link TunnelDataPlane}s, each in a gateway namespace of the two-cluster topology,
 * whose key messages travel over an in-process pair of {@link ControlLinks} (in the gateway, the peering streams).
 * Pod traffic crosses for real (UDP from pod A to an echo in pod B). Needs root.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TunnelDataPlaneTest {
    private static final ClusterId A = ClusterId.of("east");
    private static final ClusterId B = ClusterId.of("west");
    private static final Cidr PODS_A = Cidr.parse("r", "10.1.0.0/24");
    private static final Cidr PODS_B = Cidr.parse("r", "10.2.0.0/24");
    private static final Cidr MORE_B = Cidr.parse("r", "10.2.9.0/24");
    private static final int ECHO_PORT = 7009;

    private X509Certificate certificateA;
    private X509Certificate certificateB;
    private TwoClusterTopology topology;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    void certificates(@TempDir Path dir) throws Exception {
        certificateA = selfSigned(dir, "east");
        certificateB = selfSigned(dir, "west");
    }

    @BeforeEach
    void topology() {
        topology = TwoClusterTopology.create("itd", Network.of("10.1.0"), Network.of("192.168.76"), Network.of("10.2.0"));
        open.add(topology);
    }

    @AfterEach
    void close() {
        for (AutoCloseable closeable : open.reversed()) {
            try {
                closeable.close();
            } catch (Exception e) {
                System.err.println("closing " + closeable + ": " + e);
            }
        }
        open.clear();
    }

    @Test
    void twoPlanesKeyEachOtherOverTheLinksRouteEachOthersPodsAndCarryTraffic() throws Exception {
        LinkPair links = startLinked(Duration.ofMinutes(1));
        Side a = links.a;
        Side b = links.b;
        echo(topology.podB(), "10.2.0.2");

        assertEchoed(topology.podA(), "10.2.0.2", Duration.ofSeconds(20), a, b);
        assertTrue(routesOfOurs(topology.gatewayA()).contains("10.2.0.0/24 dev isth0"), routesOfOurs(topology.gatewayA()));
        assertTrue(routesOfOurs(topology.gatewayB()).contains("10.1.0.0/24 dev isth0"), routesOfOurs(topology.gatewayB()));
        assertEquals(List.of(PODS_B), a.plane.installedRoutes());
        // every message names its sender's endpoint: that is how each learnt where the other receives
        assertTrue(links.sentBy(A).stream().allMatch(m -> m.getEndpoint().equals("192.168.76.1:51820")), links.sentBy(A).toString());
        assertEquals(new InetSocketAddress("192.168.76.2", 51820), a.plane.stats().peer(B).orElseThrow().endpoint());
        assertTrue(a.events.sent.get() > 0 && a.events.received.get() > 0, a.events.toString());
        assertEquals(List.of(), a.plane.unanswered());
        // whoever's offer was answered timed it, from its offer to the accept: within the echo's patience
        List<Duration> rekeys = new java.util.ArrayList<>(a.events.rekeys);
        rekeys.addAll(b.events.rekeys);
        assertFalse(rekeys.isEmpty(), "an answered offer was timed: " + a.events + " / " + b.events);
        assertTrue(rekeys.stream().allMatch(d -> !d.isNegative() && d.compareTo(Duration.ofSeconds(20)) < 0),
                rekeys.toString());
    }

    @Test
    void aPeerCutOffLosesItsSessionsAndRoutesAtOnceAndAGoodLinkKeysItAgain() throws Exception {
        LinkPair links = startLinked(Duration.ofMinutes(1));
        Side a = links.a;
        Side b = links.b;
        echo(topology.podB(), "10.2.0.2");
        assertEchoed(topology.podA(), "10.2.0.2", Duration.ofSeconds(20), a, b);

        long started = System.nanoTime();
        a.plane.cutOff(B, "revoked");
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        assertTrue(a.plane.stats().peer(B).isEmpty(), "B is still in A's engine: " + a.plane.stats());
        assertNull(a.plane.engine().currentSession(B));
        assertFalse(routesOfOurs(topology.gatewayA()).contains("10.2.0.0/24"), routesOfOurs(topology.gatewayA()));
        assertEquals(List.of(), a.plane.installedRoutes());
        assertTrue(took.compareTo(Duration.ofSeconds(5)) < 0, "cutting off took " + took);
        assertEquals(1, a.events.refusals(B, "revoked"));
        assertNull(udp(topology.podA(), "10.2.0.2", "after the cut".getBytes(StandardCharsets.UTF_8)),
                "pod A still reaches pod B after B was cut off");

        links.reconnect(); // a new link, with a certificate that is good again
        assertEchoed(topology.podA(), "10.2.0.2", Duration.ofSeconds(20), a, b);
    }

    @Test
    void aKeyMessageBeforeTheEndpointIsRefusedNamingTheFieldAndThePeerIsReportedUnanswered() throws Exception {
        Side a = start(A, topology.gatewayA(), "192.168.76.1", certificateA, routes(B, PODS_B, PODS_A), Duration.ofMinutes(1));
        RecordingLink fromB = new RecordingLink(B, certificateB);
        a.links.linkUp(fromB);
        awaitTrue("A offers keys on the new link", Duration.ofSeconds(5), () -> !fromB.sent.isEmpty());
        assertTrue(fromB.sent.getFirst().hasKeyOffer());

        TunnelMessage noEndpoint = TunnelMessage.newBuilder().setKeyOffer(KeyOffer.newBuilder().setEpoch(1)).build();
        a.links.deliver(fromB, noEndpoint);
        awaitTrue("the message is refused", Duration.ofSeconds(5), () -> a.events.refusals(B, "tunnel-message.endpoint") == 1);
        assertTrue(a.plane.stats().peer(B).isEmpty(), "a peer that never said where it receives is not in the engine");
        awaitTrue("B is reported as not answering", Duration.ofSeconds(5), () -> a.plane.unanswered().size() == 1);
        assertTrue(a.plane.unanswered().getFirst().startsWith("west has not answered our key offers"), a.plane.unanswered().toString());

        a.links.deliver(fromB, noEndpoint.toBuilder().setEndpoint("0.0.0.0:51820").build());
        awaitTrue("a wildcard endpoint is refused", Duration.ofSeconds(5), () -> a.events.refusals(B, "tunnel-message.endpoint") == 2);
        assertTrue(a.plane.stats().peer(B).isEmpty());
    }

    @Test
    void aPeerWithoutAnyLinkForForgetAfterIsRemovedWithItsRoutes() throws Exception {
        LinkPair links = startLinked(Duration.ofSeconds(2));
        Side a = links.a;
        awaitTrue("A routes B's pods", Duration.ofSeconds(20), () -> a.plane.installedRoutes().equals(List.of(PODS_B)));

        links.disconnect();

        awaitTrue("B is forgotten", Duration.ofSeconds(10), () -> a.plane.stats().peer(B).isEmpty());
        awaitTrue("its route goes", Duration.ofSeconds(5), () -> !routesOfOurs(topology.gatewayA()).contains("10.2.0.0/24"));
    }

    @Test
    void theRoutesFollowWhatIsWantedIntoTheEngineAndTheKernel() throws Exception {
        AtomicReference<TunnelRoutes> wanted = new AtomicReference<>(routes(B, PODS_B, PODS_A));
        Side a = start(A, topology.gatewayA(), "192.168.76.1", certificateA, wanted, Duration.ofMinutes(1));
        Side b = start(B, topology.gatewayB(), "192.168.76.2", certificateB, routes(A, PODS_A, PODS_B), Duration.ofMinutes(1));
        LinkPair.connect(a, b);
        awaitTrue("A routes B's pods", Duration.ofSeconds(20), () -> a.plane.installedRoutes().equals(List.of(PODS_B)));

        wanted.set(new TunnelRoutes(new TreeMap<>(Map.of(B, List.of(PODS_B, MORE_B))), Translation.none(), List.of(),
                List.of(PODS_A)));
        awaitTrue("the new range is routed", Duration.ofSeconds(5), () -> routesOfOurs(topology.gatewayA()).contains("10.2.9.0/24 dev isth0"));
        assertEquals(List.of(PODS_B, MORE_B), a.plane.routes().rangesOf(B));

        wanted.set(new TunnelRoutes(new TreeMap<>(Map.of(B, List.of(MORE_B))), Translation.none(), List.of(), List.of(PODS_A)));
        awaitTrue("the range no longer wanted is unrouted", Duration.ofSeconds(5),
                () -> !routesOfOurs(topology.gatewayA()).contains("10.2.0.0/24"));
        assertEquals(List.of(MORE_B), a.plane.installedRoutes());
    }

    // --- the two sides ---

    private record Side(ClusterId cluster, X509Certificate certificate, TunnelDataPlane plane, Links links,
                        CountingEvents events) {
    }

    /** A and B, each routing the other's pods, linked. */
    private LinkPair startLinked(Duration forgetAfter) {
        Side a = start(A, topology.gatewayA(), "192.168.76.1", certificateA, routes(B, PODS_B, PODS_A), forgetAfter);
        Side b = start(B, topology.gatewayB(), "192.168.76.2", certificateB, routes(A, PODS_A, PODS_B), forgetAfter);
        return LinkPair.connect(a, b);
    }

    private static TunnelRoutes routes(ClusterId peer, Cidr theirs, Cidr ours) {
        return new TunnelRoutes(new TreeMap<>(Map.of(peer, List.of(theirs))), Translation.none(), List.of(), List.of(ours));
    }

    private Side start(ClusterId cluster, String namespace, String underlay, X509Certificate certificate,
                       TunnelRoutes routes, Duration forgetAfter) {
        return start(cluster, namespace, underlay, certificate, new AtomicReference<>(routes), forgetAfter);
    }

    private Side start(ClusterId cluster, String namespace, String underlay, X509Certificate certificate,
                       AtomicReference<TunnelRoutes> routes, Duration forgetAfter) {
        RekeyPolicy rekey = RekeyPolicy.defaults();
        InetSocketAddress listen = new InetSocketAddress(underlay, 51820);
        TunnelDevice.Spec device = new TunnelDevice.Spec("isth0", Optional.empty(), 1420, 1, TunnelDevice.Offloads.AUTO,
                namespace, listen, rekey.grace(), Suite.AES_256_GCM);
        Links links = new Links();
        CountingEvents events = new CountingEvents();
        TunnelDataPlane plane = TunnelDataPlane.start(new TunnelDataPlane.Settings(device, listen, rekey, forgetAfter),
                cluster, () -> certificate, links, () -> CompletableFuture.completedFuture(routes.get()), events,
                Clock.systemUTC());
        open.add(plane);
        return new Side(cluster, certificate, plane, links, events);
    }

    // --- the control plane's links, in process ---

    /** One side's {@link ControlLinks}: the handlers the data plane registered, and which peers are linked. */
    private static final class Links implements ControlLinks {
        private final List<BiConsumer<Link, TunnelMessage>> messageHandlers = new CopyOnWriteArrayList<>();
        private final List<Consumer<Link>> linkHandlers = new CopyOnWriteArrayList<>();
        private final Set<ClusterId> connected = ConcurrentHashMap.newKeySet();

        @Override
        public void onMessage(BiConsumer<Link, TunnelMessage> handler) {
            messageHandlers.add(handler);
        }

        @Override
        public void onLinkUp(Consumer<Link> handler) {
            linkHandlers.add(handler);
        }

        @Override
        public Set<ClusterId> connected() {
            return Set.copyOf(connected);
        }

        void linkUp(Link link) {
            connected.add(link.remote());
            linkHandlers.forEach(handler -> handler.accept(link));
        }

        void linkDown(ClusterId remote) {
            connected.remove(remote);
        }

        void deliver(Link link, TunnelMessage message) {
            messageHandlers.forEach(handler -> handler.accept(link, message));
        }
    }

    /** A link whose far end records what is sent and answers nothing. */
    private record RecordingLink(ClusterId remote, X509Certificate peerCertificate, List<TunnelMessage> sent)
            implements ControlLinks.Link {
        RecordingLink(ClusterId remote, X509Certificate peerCertificate) {
            this(remote, peerCertificate, new CopyOnWriteArrayList<>());
        }

        @Override
        public boolean send(TunnelMessage message) {
            return sent.add(message);
        }
    }

    /** A and B linked both ways: what one side sends arrives at the other, on the link from the sender. */
    private static final class LinkPair {
        private final Side a;
        private final Side b;
        private final Map<ClusterId, List<TunnelMessage>> sent = new ConcurrentHashMap<>();
        private volatile boolean up;

        private LinkPair(Side a, Side b) {
            this.a = a;
            this.b = b;
        }

        static LinkPair connect(Side a, Side b) {
            LinkPair pair = new LinkPair(a, b);
            pair.reconnect();
            return pair;
        }

        void reconnect() {
            up = true;
            ControlLinks.Link aToB = linkFrom(b, a);
            a.links.linkUp(aToB);
            b.links.linkUp(((End) aToB).otherEnd);
        }

        void disconnect() {
            up = false;
            a.links.linkDown(b.cluster);
            b.links.linkDown(a.cluster);
        }

        List<TunnelMessage> sentBy(ClusterId cluster) {
            return sent.getOrDefault(cluster, List.of());
        }

        /** The link {@code to} holds to {@code from}, and its other end, the link {@code from} holds to {@code to}. */
        private ControlLinks.Link linkFrom(Side from, Side to) {
            End held = new End(to, from);
            held.otherEnd = new End(from, to);
            held.otherEnd.otherEnd = held;
            return held;
        }

        /** One end of a link: held by {@code owner}, naming {@code peer}; what it sends arrives on the other end. */
        private final class End implements ControlLinks.Link {
            private final Side owner;
            private final Side peer;
            private End otherEnd;

            End(Side owner, Side peer) {
                this.owner = owner;
                this.peer = peer;
            }

            @Override
            public ClusterId remote() {
                return peer.cluster;
            }

            @Override
            public X509Certificate peerCertificate() {
                return peer.certificate;
            }

            @Override
            public boolean send(TunnelMessage message) {
                return carry(owner, peer, otherEnd, message);
            }
        }

        /** {@code sender} sends to {@code receiver}; it arrives on the receiver's link {@code arrivesOn}. */
        private boolean carry(Side sender, Side receiver, ControlLinks.Link arrivesOn, TunnelMessage message) {
            if (!up) {
                return false;
            }
            sent.computeIfAbsent(sender.cluster, c -> new CopyOnWriteArrayList<>()).add(message);
            receiver.links.deliver(arrivesOn, message);
            return true;
        }
    }

    /** The data plane's events, counted. */
    private static final class CountingEvents implements DataPlaneEvents {
        final java.util.concurrent.atomic.AtomicLong sent = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong received = new java.util.concurrent.atomic.AtomicLong();
        final Map<String, Integer> refused = new ConcurrentHashMap<>();
        final List<Duration> rekeys = new CopyOnWriteArrayList<>();

        @Override
        public void rekeyed(ClusterId peer, Duration took) {
            rekeys.add(took);
        }

        @Override
        public void keyMessageSent(ClusterId peer, TunnelMessage.KindCase kind) {
            sent.incrementAndGet();
        }

        @Override
        public void keyMessageReceived(ClusterId peer, TunnelMessage.KindCase kind) {
            received.incrementAndGet();
        }

        @Override
        public void keyMessageRefused(ClusterId peer, String reason) {
            refused.merge(peer + " " + reason, 1, Integer::sum);
        }

        @Override
        public void routeBlocked(ClusterId peer) {
            refused.merge(peer + " route-blocked", 1, Integer::sum);
        }

        int refusals(ClusterId peer, String reason) {
            return refused.getOrDefault(peer + " " + reason, 0);
        }

        @Override
        public String toString() {
            return "sent " + sent + ", received " + received + ", refused " + refused;
        }
    }

    // --- traffic and the kernel ---

    private void echo(String namespace, String ip) throws Exception {
        DatagramSocket socket = NetNamespace.named(namespace).call(() -> new DatagramSocket(new InetSocketAddress(ip, ECHO_PORT)));
        open.add(socket);
        Echo.serveUdp(socket);
    }

    /** One UDP round trip; null when no answer came within a second. */
    private static byte[] udp(String namespace, String to, byte[] message) throws Exception {
        return NetNamespace.named(namespace).call(() -> Echo.udpRoundTrip(new InetSocketAddress(to, ECHO_PORT), message,
                Duration.ofSeconds(1)));
    }

    private static void assertEchoed(String from, String to, Duration patience, Side a, Side b) throws Exception {
        byte[] message = ("from " + from + " to " + to).getBytes(StandardCharsets.UTF_8);
        long deadline = System.nanoTime() + patience.toNanos();
        while (System.nanoTime() < deadline) {
            byte[] reply = udp(from, to, message);
            if (reply != null) {
                assertEquals(new String(message, StandardCharsets.UTF_8), new String(reply, StandardCharsets.UTF_8));
                return;
            }
        }
        throw new AssertionError("no echo from " + to + " within " + patience.toSeconds() + " s; A: "
                + a.plane.stats() + " routes " + a.plane.installedRoutes() + " events " + a.events + "; B: "
                + b.plane.stats() + " routes " + b.plane.installedRoutes() + " events " + b.events);
    }

    /** The routes this data plane installs are marked with protocol 73. */
    private static String routesOfOurs(String namespace) {
        return Netns.ip("-n", namespace, "route", "show", "proto", String.valueOf(KernelRoutes.ROUTE_PROTOCOL));
    }

    private static void awaitTrue(String what, Duration patience, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + patience.toSeconds() + " s: " + what);
            }
            Thread.sleep(50);
        }
    }

    /** A self-signed certificate made by the JDK's keytool: what a peer's TLS session would have presented. */
    private static X509Certificate selfSigned(Path dir, String name) throws Exception {
        Path store = dir.resolve(name + ".p12");
        Netns.run(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(), "-genkeypair",
                "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + name, "-validity", "1",
                "-keystore", store.toString(), "-storetype", "PKCS12", "-storepass", "test-only"));
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (FileInputStream in = new FileInputStream(store.toFile())) {
            keys.load(in, "test-only".toCharArray());
        }
        X509Certificate certificate = (X509Certificate) keys.getCertificate(name);
        assertNotNull(certificate);
        Files.delete(store);
        return certificate;
    }
}
