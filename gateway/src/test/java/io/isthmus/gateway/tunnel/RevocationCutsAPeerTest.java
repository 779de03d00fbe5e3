package io.isthmus.gateway.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.ServicePort;
import io.isthmus.api.ServiceType;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.SignedCrl;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A CRL that revokes west, given to east: within 5 s east has closed its links to west, stopped serving west's
 * imports, removed west's tunnel sessions and routes, and a pod of east no longer reaches a pod of west, all
 * measured from the moment east took the CRL (namespaces: see {@link TwoGatewayTunnel}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RevocationCutsAPeerTest {
    private static final String WEST_POD = "10.151.2.2";
    private static final Cidr WEST_RANGE = Cidr.parse("test", "10.151.2.0/24");
    private static final int PORT = 7008;
    private static final Duration GOAL = Duration.ofSeconds(5);
    private TwoGatewayTunnel clusters;
    private Path dir;

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        clusters = new TwoGatewayTunnel(dir, "10.151.1", "10.151.2", """
                plan {
                  members = [east, west]
                  supernets.pod = [{cidr = "10.151.0.0/16", segment-prefix = 24}]
                  retransmit-interval = 300ms
                  gossip-interval = 1s
                }
                """);
        clusters.east.addressPlan().claim("pod", "10.151.1.0/24").toCompletableFuture().get(30, TimeUnit.SECONDS);
        clusters.west.addressPlan().claim("pod", WEST_RANGE.toString()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        ServiceExport db = ServiceExport.of(new ServiceKey("data", "db"), ServiceType.CLUSTER_SET_IP,
                List.of(new ServicePort("pg", 5432, io.isthmus.api.Protocol.TCP)),
                List.of(InetAddress.ofLiteral("10.151.2.10")), Instant.now()); // inside west's segment: admitted
        clusters.west.exports().<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(db, replyTo),
                Duration.ofSeconds(10)).toCompletableFuture().get(15, TimeUnit.SECONDS);
        clusters.echo(clusters.podWest, WEST_POD, PORT, false);
    }

    @AfterAll
    void stop() {
        if (clusters != null) {
            clusters.close();
        }
    }

    @Test
    void aRevokedClustersLinksImportsSessionsRoutesAndTrafficAreGoneWithinFiveSeconds() throws Exception {
        byte[] hello = "before".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        assertArrayEquals(hello, TwoGatewayTunnel.udpOnceReady(clusters.podEast, WEST_POD, PORT, hello,
                Duration.ofSeconds(40), clusters::state));
        TwoGatewayTunnel.awaitTrue("east imports west's db", Duration.ofSeconds(20), this::eastImportsWest);
        assertTrue(TwoGatewayTunnel.tunnel(clusters.east).installedRoutes().contains(WEST_RANGE));

        // A pod of east keeps talking to a pod of west, 20 round trips a second, noting the last answer.
        AtomicLong lastAnswerNanos = new AtomicLong(System.nanoTime());
        long stopAt = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
        // On a thread of its own: the common pool has one thread on two cores, and the gateways' streams need it.
        CompletableFuture<Integer> traffic = new CompletableFuture<>();
        Thread.ofPlatform().name("pod-east-ping").start(() -> {
            try {
                traffic.complete(clusters.podEast.call(() -> ping(lastAnswerNanos, stopAt)));
            } catch (Exception e) {
                traffic.completeExceptionally(e);
            }
        });
        Thread.sleep(1000);
        long answeredBefore = lastAnswerNanos.get();
        assertTrue(System.nanoTime() - answeredBefore < TimeUnit.MILLISECONDS.toNanos(500), "traffic flows before");

        SignedCrl crl = ClustersetCa.load(dir.resolve("ca")).revoke(TwoGatewayTunnel.WEST);
        long revokedAt = System.nanoTime();
        clusters.east.tls().acceptCrl(crl.der());

        // All watched together, so that each time is its own, not the sum of those polled before it.
        double[] gone = secondsUntilEach(revokedAt, List.of(
                () -> clusters.east.mesh().links().values().stream()
                        .noneMatch(l -> TwoGatewayTunnel.WEST.equals(l.remote()) && l.state() == LinkState.UP),
                // The mesh view marks them down at once; the streams themselves fail at the next heartbeat, and
                // their end replaces the "cut off" detail with how they ended.
                () -> clusters.east.mesh().links().values().stream()
                        .filter(l -> TwoGatewayTunnel.WEST.equals(l.remote()))
                        .noneMatch(l -> l.state() == LinkState.UP || (l.detail() != null && l.detail().startsWith("cut off"))),
                () -> !eastImportsWest(),
                () -> TwoGatewayTunnel.tunnel(clusters.east).stats().peer(TwoGatewayTunnel.WEST).isEmpty(),
                () -> !TwoGatewayTunnel.tunnel(clusters.east).installedRoutes().contains(WEST_RANGE)));
        double links = gone[0];
        double streams = gone[1];
        double imports = gone[2];
        double sessions = gone[3];
        double routes = gone[4];
        int answered = traffic.get(30, TimeUnit.SECONDS);
        double lastAnswer = (lastAnswerNanos.get() - revokedAt) / 1e9;
        System.out.printf("revocation of west, from east taking the CRL: links down %.2f s, streams ended %.2f s, "
                        + "imports gone %.2f s, tunnel sessions gone %.2f s, routes gone %.2f s, last pod answer %.2f s "
                        + "(%d answered)%n", links, streams, imports, sessions, routes, lastAnswer, answered);
        for (double seconds : new double[] {links, streams, imports, sessions, routes, lastAnswer}) {
            assertTrue(seconds < GOAL.toSeconds(), "cut within " + GOAL.toSeconds() + " s, took " + seconds + " s; "
                    + clusters.state());
        }
        assertTrue(clusters.east.metricsText().contains("isthmus_peering_clusters_cut_off_total{reason=\"revoked\"} 1"),
                clusters.east.metricsText());
    }

    private boolean eastImportsWest() {
        var remote = clusters.east.mesh().imports().get(TwoGatewayTunnel.WEST);
        return remote != null && !remote.withdrawn() && !remote.exports().isEmpty();
    }

    /** Seconds from {@code since} until each condition first held, polled every 10 ms, at most 10 s (then 10). */
    private static double[] secondsUntilEach(long since, List<java.util.function.BooleanSupplier> conditions)
            throws InterruptedException {
        double[] seconds = new double[conditions.size()];
        java.util.Arrays.fill(seconds, -1);
        long deadline = since + TimeUnit.SECONDS.toNanos(10);
        int pending = conditions.size();
        while (pending > 0 && System.nanoTime() < deadline) {
            for (int i = 0; i < conditions.size(); i++) {
                if (seconds[i] < 0 && conditions.get(i).getAsBoolean()) {
                    seconds[i] = (System.nanoTime() - since) / 1e9;
                    pending--;
                }
            }
            Thread.sleep(10);
        }
        for (int i = 0; i < seconds.length; i++) {
            seconds[i] = seconds[i] < 0 ? 10 : seconds[i];
        }
        return seconds;
    }

    private static int ping(AtomicLong lastAnswerNanos, long stopAt) throws Exception {
        int answered = 0;
        try (DatagramSocket socket = new DatagramSocket()) {
            socket.setSoTimeout(50);
            byte[] buffer = new byte[64];
            for (int seq = 0; System.nanoTime() < stopAt; seq++) {
                byte[] message = ("seq " + seq).getBytes(java.nio.charset.StandardCharsets.UTF_8);
                socket.send(new DatagramPacket(message, message.length, new InetSocketAddress(WEST_POD, PORT)));
                try {
                    DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
                    socket.receive(reply);
                    lastAnswerNanos.set(System.nanoTime());
                    answered++;
                } catch (SocketTimeoutException e) {
                    // no answer to this one; the next goes out now
                }
            }
        }
        return answered;
    }
}
