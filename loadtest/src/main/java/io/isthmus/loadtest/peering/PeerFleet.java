package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.ActorSystem;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Simulated clusters in this JVM against one gateway: one actor system for their gRPC clients, each peer dialling
 * the gateway's peering port with its own certificate from {@code tlsDir} ({@code sim-NN.crt}, {@code sim-NN.key},
 * {@code ca.crt}: what {@code isthmus mesh issue} writes), and the wait until the gateway holds what they sent.
 * Closing it closes every peer it connected and stops the actor system.
 */
final class PeerFleet implements AutoCloseable {
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(60);

    private final InetSocketAddress peering;
    private final Path tlsDir;
    private final AdminApi admin;
    private final InetSocketAddress dns;
    private final String zone;
    private final ActorSystem system;
    private final List<SimulatedPeer> connected = new ArrayList<>();

    PeerFleet(InetSocketAddress peering, Path tlsDir, AdminApi admin, InetSocketAddress dns, String zone) {
        this.peering = peering;
        this.tlsDir = tlsDir;
        this.admin = admin;
        this.dns = dns;
        this.zone = zone;
        this.system = ActorSystem.create("peering-bench", ConfigFactory.parseString("""
                pekko.loglevel = WARNING
                pekko.stdout-loglevel = WARNING
                pekko.log-dead-letters = off
                pekko.actor.provider = local
                """).withFallback(ConfigFactory.load()));
    }

    /** Connects the peers sim-{@code first}..sim-{@code first + count - 1}, each exporting {@code services}. */
    synchronized List<SimulatedPeer> connect(int first, int count, int services) throws IOException, GeneralSecurityException {
        List<SimulatedPeer> joining = new ArrayList<>();
        for (int i = first; i < first + count; i++) {
            SimulatedPeer peer = new SimulatedPeer(i, services, zone);
            peer.connect(system, peering, PeerTls.clientContext(tlsDir, peer.cluster()));
            connected.add(peer);
            joining.add(peer);
        }
        return joining;
    }

    /**
     * Until every peer of {@code joining} had the gateway's hello and the gateway answers for every service of every
     * peer of {@code all} (status: imports from each cluster; DNS: the last joining peer's last service). Returns the
     * seconds since {@code start} (a {@link System#nanoTime} value).
     */
    double awaitJoined(List<SimulatedPeer> all, List<SimulatedPeer> joining, DnsProbe probe, long start)
            throws InterruptedException, PeeringBench.Failure {
        SimulatedPeer lastPeer = joining.getLast();
        int services = lastPeer.services();
        CompletableFuture<Long> lastAnswer = probe.await(dns, lastPeer.fqdn(services), List.of(lastPeer.ip(services)),
                start, JOIN_TIMEOUT);
        long deadline = start + JOIN_TIMEOUT.toNanos();
        while (true) {
            failIfEnded(all);
            boolean hellos = joining.stream().allMatch(p -> p.hello().isDone());
            JsonNode status = statusOrNull();
            boolean imported = status != null && all.stream().allMatch(p -> AdminApi.importsFrom(status, p.cluster())
                    .map(i -> i.path("exports").asInt() == p.services()).orElse(false));
            if (hellos && imported && lastAnswer.isDone()) {
                if (lastAnswer.join() < 0) {
                    throw new PeeringBench.Failure("the gateway's DNS did not answer " + lastPeer.fqdn(services));
                }
                return (System.nanoTime() - start) / 1e9;
            }
            if (System.nanoTime() > deadline) {
                throw new PeeringBench.Failure(joining.size() + " simulated clusters did not all join within "
                        + JOIN_TIMEOUT.toSeconds() + " s (hellos: " + joining.stream().filter(p -> p.hello().isDone()).count()
                        + "; gateway imports: " + (status == null ? "-" : status.path("imports").path("clusters").size())
                        + " clusters)");
            }
            Thread.sleep(50);
        }
    }

    private JsonNode statusOrNull() throws InterruptedException {
        try {
            return admin.status();
        } catch (IOException e) {
            return null;
        }
    }

    static void failIfEnded(List<SimulatedPeer> peers) throws PeeringBench.Failure {
        for (SimulatedPeer peer : peers) {
            if (peer.failure() != null) {
                throw new PeeringBench.Failure("simulated cluster " + peer.cluster() + "'s stream ended: "
                        + peer.failure());
            }
        }
    }

    /** Closes the given peers' streams (they stay counted as connected until {@link #close}). */
    void disconnect(List<SimulatedPeer> peers) {
        peers.forEach(SimulatedPeer::close);
    }

    @Override
    public synchronized void close() {
        connected.forEach(SimulatedPeer::close);
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().completeOnTimeout(null, 10, TimeUnit.SECONDS).join();
    }
}
