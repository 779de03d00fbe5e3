package io.isthmus.loadtest.peering;

import io.isthmus.api.grpc.peering.Endpoint;
import io.isthmus.api.grpc.peering.Export;
import io.isthmus.api.grpc.peering.ExportDelta;
import io.isthmus.api.grpc.peering.ExportSnapshot;
import io.isthmus.api.grpc.peering.Heartbeat;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.api.grpc.peering.Port;
import io.isthmus.api.grpc.peering.Protocol;
import io.isthmus.api.grpc.peering.ServiceType;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import javax.net.ssl.SSLContext;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One simulated cluster: a peering client that dials the gateway under test with its own certificate, says
 * hello, sends a full snapshot of its {@code services} exports, then (driven from outside) heartbeats that echo
 * the gateway's and deltas that change one service's address. It answers a ResyncRequest with a snapshot and
 * otherwise ignores what the gateway sends (the gateway's own exports), apart from what a heartbeat needs.
 *
 * <p>Cluster {@code sim-NN} exports {@code svc-1..svc-S} in namespace {@code sim-NN}; service j has the address
 * 10.(128 + generation % 64).NN.j, and every change of it moves to the next generation, so each change is a new
 * answer in DNS. Versions start at the wall clock in milliseconds and grow by one per change.
 */
final class SimulatedPeer {
    static final int MAX_SERVICES = 250;
    static final int MAX_PEERS = 250;

    /**
     * A change sent: the DNS name that must now answer {@code ip}, when it was handed to the stream, and whether the
     * stream's queue took it (false: it was full or closed, and the gateway will never see this change).
     */
    record Change(int service, String fqdn, String ip, long sentNanos, boolean queued) {
    }

    /** A heartbeat round trip the peer measured from the gateway's echo, and when. */
    record Rtt(long atNanos, long nanos) {
    }

    private final int index;
    private final String cluster;
    private final int services;
    private final String zone;
    private final long exportedAtMillis = System.currentTimeMillis();
    private final int[] generation;
    private long version = System.currentTimeMillis();
    private int changes;

    private final CompletableFuture<Void> hello = new CompletableFuture<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<Rtt> rtts = new ArrayList<>();
    private final AtomicInteger resyncRequests = new AtomicInteger();
    private final AtomicInteger dropped = new AtomicInteger();
    private volatile long gatewayHeartbeatSentAt;
    private volatile long gatewayHeartbeatReceivedAt;
    private volatile long gatewayVersion;
    private volatile boolean closing;
    private BoundedSourceQueue<PeerMessage> out;
    private PeeringClient client;
    private CompletionStage<Done> ended;

    SimulatedPeer(int index, int services, String zone) {
        if (index < 1 || index > MAX_PEERS || services < 1 || services > MAX_SERVICES) {
            throw new IllegalArgumentException("simulated peers 1.." + MAX_PEERS + " with 1.." + MAX_SERVICES
                    + " services each");
        }
        this.index = index;
        this.cluster = clusterId(index);
        this.services = services;
        this.zone = zone;
        this.generation = new int[services];
    }

    static String clusterId(int index) {
        return String.format("sim-%02d", index);
    }

    String cluster() {
        return cluster;
    }

    /** The DNS name of service {@code j} (1-based). */
    String fqdn(int j) {
        return "svc-" + j + "." + cluster + ".svc." + zone;
    }

    synchronized String ip(int j) {
        return "10." + (128 + generation[j - 1] % 64) + "." + index + "." + j;
    }

    /** Dials the gateway and queues hello and the snapshot; the stream runs until {@link #close}. */
    void connect(ActorSystem system, InetSocketAddress gateway, SSLContext tls) {
        Pair<BoundedSourceQueue<PeerMessage>, Source<PeerMessage, NotUsed>> queue =
                Source.<PeerMessage>queue(1024).preMaterialize(system);
        out = queue.first();
        client = PeeringClient.create(GrpcClientSettings.connectToServiceAt(gateway.getHostString(), gateway.getPort(),
                system).withSslContext(tls), system);
        synchronized (this) {
            offer(PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId(cluster).setProtocolVersion(1))
                    .build());
            offer(snapshot());
        }
        ended = client.link(queue.second()).runWith(Sink.foreach(this::onMessage), system);
        ended.whenComplete((done, error) -> {
            if (!closing) {
                failure.compareAndSet(null, error != null ? error : new IllegalStateException("the gateway ended the stream"));
            }
        });
    }

    /** Completes when the gateway's hello arrived. */
    CompletableFuture<Void> hello() {
        return hello;
    }

    /** Why the stream ended, if it ended before {@link #close}. */
    Throwable failure() {
        return failure.get();
    }

    int resyncRequests() {
        return resyncRequests.get();
    }

    int dropped() {
        return dropped.get();
    }

    synchronized List<Rtt> rtts() {
        return List.copyOf(rtts);
    }

    /** Sends a heartbeat: our version, the gateway's version we hold, the echo of the gateway's last heartbeat. */
    synchronized void heartbeat() {
        long now = System.nanoTime();
        Heartbeat.Builder b = Heartbeat.newBuilder().setSentAt(now).setExportVersion(version)
                .setAckedVersion(gatewayVersion);
        long echo = gatewayHeartbeatSentAt;
        if (echo != 0) {
            b.setEchoSentAt(echo).setEchoHeldNanos(now - gatewayHeartbeatReceivedAt);
        }
        offer(PeerMessage.newBuilder().setHeartbeat(b).build());
    }

    int services() {
        return services;
    }

    /** Moves the next service (round robin) to a new address and sends the delta; returns what DNS must answer. */
    synchronized Change change() {
        return change(changes % services + 1);
    }

    /** Moves service {@code j} (1-based) to a new address and sends the delta; returns what DNS must answer. */
    synchronized Change change(int j) {
        if (j < 1 || j > services) {
            throw new IllegalArgumentException("service " + j + " of " + cluster + " (it has 1.." + services + ")");
        }
        changes++;
        generation[j - 1]++;
        long from = version;
        version = Math.max(version + 1, System.currentTimeMillis());
        PeerMessage delta = PeerMessage.newBuilder().setExportDelta(ExportDelta.newBuilder()
                .setOriginCluster(cluster).setFromVersion(from).setToVersion(version).addUpserted(export(j))).build();
        long sent = System.nanoTime();
        boolean queued = offer(delta);
        return new Change(j, fqdn(j), ip(j), sent, queued);
    }

    private PeerMessage snapshot() {
        ExportSnapshot.Builder b = ExportSnapshot.newBuilder().setOriginCluster(cluster).setVersion(version);
        for (int j = 1; j <= services; j++) {
            b.addExports(export(j));
        }
        return PeerMessage.newBuilder().setExportSnapshot(b).build();
    }

    private Export export(int j) {
        return Export.newBuilder().setNamespace(cluster).setName("svc-" + j).setType(ServiceType.CLUSTER_SET_IP)
                .addPorts(Port.newBuilder().setName("http").setPort(80).setProtocol(Protocol.TCP))
                .addEndpoints(Endpoint.newBuilder().setIp(ip(j)))
                .setExportedAtMillis(exportedAtMillis).build();
    }

    private boolean offer(PeerMessage message) {
        QueueOfferResult result = out == null ? QueueOfferResult.dropped() : out.offer(message);
        if (result != QueueOfferResult.enqueued()) {
            dropped.incrementAndGet();
            return false;
        }
        return true;
    }

    private void onMessage(PeerMessage message) {
        switch (message.getKindCase()) {
            case HELLO -> hello.complete(null);
            case HEARTBEAT -> {
                long now = System.nanoTime();
                Heartbeat h = message.getHeartbeat();
                gatewayHeartbeatSentAt = h.getSentAt();
                gatewayHeartbeatReceivedAt = now;
                if (h.getEchoSentAt() != 0) {
                    long rtt = now - h.getEchoSentAt() - h.getEchoHeldNanos();
                    if (rtt >= 0 && rtt < 60_000_000_000L) {
                        synchronized (this) {
                            rtts.add(new Rtt(now, rtt));
                        }
                    }
                }
            }
            case EXPORT_SNAPSHOT -> gatewayVersion = Math.max(gatewayVersion, message.getExportSnapshot().getVersion());
            case EXPORT_DELTA -> gatewayVersion = Math.max(gatewayVersion, message.getExportDelta().getToVersion());
            case RESYNC_REQUEST -> {
                resyncRequests.incrementAndGet();
                synchronized (this) {
                    offer(snapshot());
                }
            }
            default -> {
                // revocation lists and kinds this driver does not know: nothing to do
            }
        }
    }

    /** Ends the stream; a second call does nothing. */
    synchronized void close() {
        if (closing) {
            return;
        }
        closing = true;
        if (out != null) {
            out.complete();
        }
        if (client != null) {
            client.close();
        }
    }
}
