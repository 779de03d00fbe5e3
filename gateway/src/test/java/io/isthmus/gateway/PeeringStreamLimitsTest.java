package io.isthmus.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.pki.ClustersetCa;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member cluster with a valid certificate (looper) opens peering streams to a real gateway in a loop: past three
 * open at once, and past five opened in a minute, each new stream is refused with RESOURCE_EXHAUSTED and counted,
 * while another peer (bystander) links as usual.
 */
class PeeringStreamLimitsTest {
    private static final ClusterId LOOPER = ClusterId.of("looper");

    @TempDir
    Path dir;
    private Gateway east;
    private ActorSystem<Void> peerSystem;
    private RoguePeer peers;
    private final List<RoguePeer.Link> open = new ArrayList<>();

    @BeforeEach
    void start() {
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        east = TestGateways.start("east", dir, dir,
                "peering.limits { max-streams-per-peer = 3, stream-opens-per-minute = 5 }");
        peerSystem = ActorSystem.create(Behaviors.empty(), "peer", ConfigFactory.parseString(
                "pekko.actor.provider = local\npekko.loglevel = WARNING"));
        peers = new RoguePeer(ca, dir.resolve("peers"), peerSystem);
    }

    @AfterEach
    void stop() {
        open.forEach(RoguePeer.Link::close);
        peerSystem.terminate();
        east.close();
    }

    @Test
    void streamsPastTheOpenLimitAndPastTheRateAreRefusedAndOtherPeersAreServed() throws Exception {
        for (int i = 0; i < 3; i++) {
            open.add(peers.link(LOOPER, east.peeringAddress().getPort()));
        }
        await("three streams of looper up", () -> up(LOOPER) == 3);
        assertRefused(peers.link(LOOPER, east.peeringAddress().getPort()), "max-streams-per-peer");
        assertEquals(1L, rejected("too-many-streams"));

        RoguePeer.Link bystander = peers.link(ClusterId.of("bystander"), east.peeringAddress().getPort());
        open.add(bystander);
        await("the bystander linked", () -> up(ClusterId.of("bystander")) == 1);

        // A closed stream makes room: the 4th and 5th opens of the minute go, the 6th is over the rate.
        open.removeFirst().close();
        await("two streams of looper left", () -> up(LOOPER) == 2);
        open.add(peers.link(LOOPER, east.peeringAddress().getPort()));
        await("three streams of looper again", () -> up(LOOPER) == 3);
        open.removeFirst().close();
        await("two left again", () -> up(LOOPER) == 2);
        open.add(peers.link(LOOPER, east.peeringAddress().getPort()));
        await("three once more", () -> up(LOOPER) == 3);
        open.removeFirst().close();
        await("two left once more", () -> up(LOOPER) == 2);
        assertRefused(peers.link(LOOPER, east.peeringAddress().getPort()), "stream-opens-per-minute");
        assertEquals(1L, rejected("stream-rate"));
        assertEquals(1, up(ClusterId.of("bystander")), "the bystander was never disturbed");
    }

    private static void assertRefused(RoguePeer.Link link, String setting) throws Exception {
        try {
            link.ended().toCompletableFuture().get(15, TimeUnit.SECONDS);
            throw new AssertionError("the stream was not refused");
        } catch (ExecutionException e) {
            String message = String.valueOf(e.getCause().getMessage());
            assertTrue(message.contains("RESOURCE_EXHAUSTED") && message.contains(setting), message);
        }
    }

    private long up(ClusterId cluster) {
        return east.mesh() == null ? 0 : east.mesh().links().values().stream()
                .filter(l -> l.remote() != null && l.remote().equals(cluster) && l.state() == LinkState.UP).count();
    }

    private long rejected(String reason) {
        String series = "isthmus_peering_links_rejected_total{reason=\"" + reason + "\"} ";
        return east.metricsText().lines().filter(l -> l.startsWith(series))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(series.length()))).sum();
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 30 s: " + what);
            }
            Thread.sleep(50);
        }
    }
}
