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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The client side of peering: one long-lived stream to each configured peer, dialled again with exponential
 * backoff (and jitter) whenever it ends. Each attempt is a fresh gRPC client, so a peer that was away for a long
 * time is found again as soon as it listens.
 */
public final class PeerLinks implements AutoCloseable {
    private final List<UniqueKillSwitch> switches = new ArrayList<>();

    private PeerLinks() {
    }

    public static PeerLinks start(ActorSystem<?> system, ClusterId self, List<HostPort> peers, ExportFeed feed,
                                  ActorRef<MeshView.Command> mesh, Duration heartbeatInterval, Duration minBackoff,
                                  Duration maxBackoff, PeeringMetrics metrics, PeeringTls tls) {
        PeerLinks links = new PeerLinks();
        // Link ups and downs are logged once by the session; the restart itself only at debug.
        RestartSettings backoff = RestartSettings.create(minBackoff, maxBackoff, 0.2)
                .withLogSettings(RestartSettings.createLogSettings(Logging.DebugLevel()));
        for (HostPort peer : peers) {
            String linkId = "peer " + peer;
            Source<Done, NotUsed> attempts = RestartSource.withBackoff(backoff, () -> {
                metrics.linkAttempts().inc(peer.toString());
                mesh.tell(new MeshView.LinkChanged(linkId, MeshView.Direction.OUTBOUND, peer.toString(), null,
                        LinkState.CONNECTING, "dialling"));
                // Each attempt has its own TLS context, which hands over the server certificate it accepted: the
                // session checks that the cluster it names is the one the peer's hello claims.
                AtomicReference<X509Certificate> serverCertificate = new AtomicReference<>();
                PeerSession session = new PeerSession(self, linkId, MeshView.Direction.OUTBOUND, peer.toString(),
                        feed, mesh, heartbeatInterval, metrics, tls, serverCertificate::get);
                PeeringClient client = PeeringClient.create(
                        GrpcClientSettings.connectToServiceAt(peer.host(), peer.port(), system)
                                .withSslContext(tls.clientContext(serverCertificate::set)),
                        system);
                return client.link(session.outbound())
                        .map(message -> {
                            session.handle(message);
                            return Done.getInstance();
                        })
                        .filter(done -> false)
                        .watchTermination((notUsed, done) -> {
                            done.whenComplete((ok, failure) -> {
                                session.closed(Optional.ofNullable(failure));
                                client.close();
                            });
                            return NotUsed.getInstance();
                        });
            });
            UniqueKillSwitch killSwitch = attempts.viaMat(KillSwitches.single(), Keep.right())
                    .to(Sink.ignore())
                    .run(system);
            links.switches.add(killSwitch);
        }
        return links;
    }

    @Override
    public void close() {
        switches.forEach(UniqueKillSwitch::shutdown);
    }
}
