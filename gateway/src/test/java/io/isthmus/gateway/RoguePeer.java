package io.isthmus.gateway;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.PeeringClient;
import io.isthmus.gateway.pki.ClustersetCa;
import io.isthmus.gateway.pki.KeyFiles;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.MeshTrust;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.SourceQueueWithComplete;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Member clusters a hostile test plays: each with a real certificate from the clusterset CA, holding a peering link
 * to a real gateway over mutual TLS, saying whatever the test makes it say.
 */
public final class RoguePeer {
    private final ClustersetCa ca;
    private final Path dir;
    private final ActorSystem<?> system;
    private final Map<ClusterId, KeyMaterial> keys = new HashMap<>();

    public RoguePeer(ClustersetCa ca, Path dir, ActorSystem<?> system) {
        this.ca = ca;
        this.dir = dir;
        this.system = system;
    }

    /**
     * An open link: messages offered in order as the test goes; {@link #close} ends it; {@code ended} completes when
     * the call does (exceptionally with the gateway's status when it refused or failed the call).
     */
    public record Link(SourceQueueWithComplete<PeerMessage> queue, java.util.concurrent.CompletionStage<?> ended) {
        public void send(PeerMessage message) {
            queue.offer(message);
        }

        public void close() {
            queue.complete();
        }
    }

    /** {@code cluster}'s clusterset key material (issued once). */
    public KeyMaterial keys(ClusterId cluster) {
        return keys.computeIfAbsent(cluster, c -> {
            Path tls = dir.resolve(c.value());
            ca.issue(c, Duration.ofDays(1)).writeTo(tls);
            return KeyMaterial.load(KeyFiles.in(tls, c));
        });
    }

    /** A link to the gateway at {@code port} with {@code cluster}'s certificate; hello sent. */
    public Link link(ClusterId cluster, int port) {
        var context = MeshTrust.of(ca.certificate(), ca.currentCrl().crl()).clientContext(keys(cluster));
        PeeringClient client = PeeringClient.create(GrpcClientSettings.connectToServiceAt("127.0.0.1", port, system)
                .withSslContext(context), system);
        Pair<SourceQueueWithComplete<PeerMessage>, Source<PeerMessage, org.apache.pekko.NotUsed>> source =
                Source.<PeerMessage>queue(64, OverflowStrategy.fail()).preMaterialize(system);
        var ended = client.link(source.second()).runWith(Sink.ignore(), system)
                .whenComplete((done, failure) -> client.close());
        Link link = new Link(source.first(), ended);
        link.send(PeerMessage.newBuilder().setHello(Hello.newBuilder().setClusterId(cluster.value())
                .setProtocolVersion(1)).build());
        return link;
    }
}
