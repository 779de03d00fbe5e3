package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.gateway.config.HostPort;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.Logging;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The client side of peering: one long-lived stream to each peer (the configured ones, and those added while running
 * with {@link #connect}, e.g. from ClusterPeer objects), dialled again with exponential
 * backoff (and jitter) whenever it ends. Each attempt is a fresh gRPC client, so a peer that was away for a long
 * time is found again as soon as it listens.
 *
 * <p>Before dialling again after a failure, an attempt waits until the peer's port takes a plain TCP connection,
 * trying every {@code minBackoff}: a peer that is restarting (not listening) is dialled within that interval of
 * listening again, instead of after a backoff that grew to its maximum while it was away. A peer that listens but
 * fails the link (a bad certificate, say) still meets the growing backoff, since its port answers at once.
 */
public final class PeerLinks implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerLinks.class);
    /** One running link per peer address; guarded by {@code this}. */
    private final Map<HostPort, UniqueKillSwitch> switches = new LinkedHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final ExecutorService probes = Executors.newVirtualThreadPerTaskExecutor();
    private final ActorSystem<?> system;
    private final ClusterId self;
    private final ExportFeed feed;
    private final ActorRef<MeshView.Command> mesh;
    private final Duration heartbeatInterval;
    private final Duration minBackoff;
    private final RestartSettings backoff;
    private final PeeringMetrics metrics;
    private final PeeringTls tls;
    private final PeerChannels channels;
    private final PeeringLimits limits;

    private PeerLinks(ActorSystem<?> system, ClusterId self, ExportFeed feed, ActorRef<MeshView.Command> mesh,
                      Duration heartbeatInterval, Duration minBackoff, Duration maxBackoff, PeeringMetrics metrics,
                      PeeringTls tls, PeerChannels channels, PeeringLimits limits) {
        this.limits = limits;
        this.system = system;
        this.self = self;
        this.feed = feed;
        this.mesh = mesh;
        this.heartbeatInterval = heartbeatInterval;
        this.minBackoff = minBackoff;
        // Link ups and downs are logged once by the session; the restart itself only at debug.
        this.backoff = RestartSettings.create(minBackoff, maxBackoff, 0.2)
                .withLogSettings(RestartSettings.createLogSettings(Logging.DebugLevel()));
        this.metrics = metrics;
        this.tls = tls;
        this.channels = channels;
    }

    /** Starts a link to each of {@code peers} (the configured ones); more come and go with connect/disconnect. */
    public static PeerLinks start(ActorSystem<?> system, ClusterId self, List<HostPort> peers, ExportFeed feed,
                                  ActorRef<MeshView.Command> mesh, Duration heartbeatInterval, Duration minBackoff,
                                  Duration maxBackoff, PeeringMetrics metrics, PeeringTls tls, PeerChannels channels,
                                  PeeringLimits limits) {
        PeerLinks links = new PeerLinks(system, self, feed, mesh, heartbeatInterval, minBackoff, maxBackoff, metrics,
                tls, channels, limits);
        peers.forEach(links::connect);
        return links;
    }

    /** Starts a link to {@code peer} unless one runs already; false when it did (or the links are closed). */
    public synchronized boolean connect(HostPort peer) {
        if (closed.get() || switches.containsKey(peer)) {
            return false;
        }
        String linkId = "peer " + peer;
        AtomicBoolean dialledBefore = new AtomicBoolean();
        Source<Done, NotUsed> attempts = RestartSource.withBackoff(backoff, () -> {
            CompletionStage<Done> listening = dialledBefore.getAndSet(true)
                    ? listening(peer, minBackoff, heartbeatInterval)
                    : CompletableFuture.completedFuture(Done.getInstance());
            return Source.completionStage(listening).flatMapConcat(ready -> dial(system, self, peer,
                    linkId, feed, mesh, heartbeatInterval, metrics, tls, channels));
        });
        switches.put(peer, attempts.viaMat(KillSwitches.single(), Keep.right())
                .to(Sink.ignore())
                .run(system));
        return true;
    }

    /**
     * Stops the link to {@code peer} (its stream is killed, which ends the session and tells the mesh view the link
     * is down); false when there was none.
     */
    public synchronized boolean disconnect(HostPort peer) {
        UniqueKillSwitch killSwitch = switches.remove(peer);
        if (killSwitch == null) {
            return false;
        }
        killSwitch.shutdown();
        return true;
    }

    /** The peers linked to now (configured and connected ones). */
    public synchronized Set<HostPort> peers() {
        return Set.copyOf(switches.keySet());
    }

    /** One attempt: a fresh gRPC client, its stream, and the session that speaks on it. */
    private Source<Done, NotUsed> dial(ActorSystem<?> system, ClusterId self, HostPort peer, String linkId,
                                       ExportFeed feed, ActorRef<MeshView.Command> mesh, Duration heartbeatInterval,
                                       PeeringMetrics metrics, PeeringTls tls, PeerChannels channels) {
        metrics.linkAttempts().inc(peer.toString());
        mesh.tell(new MeshView.LinkChanged(linkId, MeshView.Direction.OUTBOUND, peer.toString(), null,
                LinkState.CONNECTING, "dialling"));
        // Each attempt has its own TLS context, which hands over the server certificate it accepted: the
        // session checks that the cluster it names is the one the peer's hello claims.
        AtomicReference<X509Certificate> serverCertificate = new AtomicReference<>();
        PeerSession session = new PeerSession(self, linkId, MeshView.Direction.OUTBOUND, peer.toString(),
                feed, mesh, heartbeatInterval, limits.resyncMinInterval(), metrics, tls, serverCertificate::get, channels);
        // grpc-java holds each message to this limit after decompression (its default is 4 MiB).
        int maxInbound = (int) Math.min(Integer.MAX_VALUE, limits.maxMessageBytes());
        PeeringClient client = PeeringClient.create(
                GrpcClientSettings.connectToServiceAt(peer.host(), peer.port(), system)
                        .withSslContext(tls.clientContext(serverCertificate::set))
                        .withChannelBuilderOverrides(builder -> builder.maxInboundMessageSize(maxInbound)),
                system);
        return client.link(session.outbound())
                .map(message -> {
                    session.handle(message);
                    return Done.getInstance();
                })
                .filter(done -> false)
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((ok, failure) -> {
                        countOversized(peer, failure);
                        session.closed(Optional.ofNullable(failure));
                        client.close();
                    });
                    return NotUsed.getInstance();
                });
    }

    /** A message from the peer over the limit fails the call in grpc-java, before it is parsed: count it. */
    private void countOversized(HostPort peer, Throwable failure) {
        if (failure instanceof io.grpc.StatusRuntimeException e
                && e.getStatus().getCode() == io.grpc.Status.Code.RESOURCE_EXHAUSTED
                && String.valueOf(e.getStatus().getDescription()).contains("exceeds maximum")) {
            boolean inflated = String.valueOf(e.getStatus().getDescription()).startsWith("Decompressed");
            String reason = inflated ? GrpcFrameLimit.DECOMPRESSED_OVERSIZED : GrpcFrameLimit.OVERSIZED;
            metrics.linksRejected().inc(reason);
            log.warn("peer link to {} closed: the peer sent a {} over the limit of {} bytes "
                    + "(isthmus.peering.limits.max-message-size): {}", peer,
                    inflated ? "compressed message that inflates" : "message", limits.maxMessageBytes(),
                    e.getStatus().getDescription());
        }
    }

    private CompletionStage<Done> listening(HostPort peer, Duration interval, Duration connectTimeout) {
        // A disconnected peer's probe stops too: its kill switch is gone from the map.
        return whenListening(peer, interval, connectTimeout, () -> closed.get() || !linked(peer), probes);
    }

    private synchronized boolean linked(HostPort peer) {
        return switches.containsKey(peer);
    }

    /**
     * Completes once {@code peer} takes a TCP connection (closed at once, before any TLS), trying every
     * {@code interval} on {@code executor}; fails with a {@link CancellationException} once {@code stop} is true.
     */
    static CompletionStage<Done> whenListening(HostPort peer, Duration interval, Duration connectTimeout,
                                               BooleanSupplier stop, Executor executor) {
        return CompletableFuture.supplyAsync(() -> {
            long sleep = Math.max(1, interval.toMillis());
            int timeout = (int) Math.max(1, Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
            while (!stop.getAsBoolean()) {
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress(peer.host(), peer.port()), timeout);
                    return Done.getInstance();
                } catch (IOException notListening) {
                    log.debug("peer {} does not listen yet: {}", peer, notListening.getMessage());
                }
                try {
                    Thread.sleep(sleep);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            throw new CancellationException("peer links to " + peer + " closed");
        }, executor);
    }

    @Override
    public synchronized void close() {
        closed.set(true);
        switches.values().forEach(UniqueKillSwitch::shutdown);
        switches.clear();
        probes.shutdownNow();
    }
}
