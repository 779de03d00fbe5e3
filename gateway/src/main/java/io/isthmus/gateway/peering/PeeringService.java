package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.Peering;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/** The server side of peering: each peer that dials in gets a {@link PeerSession} of its own. */
public final class PeeringService implements Peering {
    private final ClusterId self;
    private final ExportFeed feed;
    private final ActorRef<MeshView.Command> mesh;
    private final Duration heartbeatInterval;
    private final PeeringMetrics metrics;
    private final AtomicLong inboundCount = new AtomicLong();

    public PeeringService(ClusterId self, ExportFeed feed, ActorRef<MeshView.Command> mesh, Duration heartbeatInterval,
                          PeeringMetrics metrics) {
        this.self = self;
        this.feed = feed;
        this.mesh = mesh;
        this.heartbeatInterval = heartbeatInterval;
        this.metrics = metrics;
    }

    @Override
    public Source<PeerMessage, NotUsed> link(Source<PeerMessage, NotUsed> in) {
        String linkId = "inbound-" + inboundCount.incrementAndGet();
        PeerSession session = new PeerSession(self, linkId, MeshView.Direction.INBOUND, "inbound", feed, mesh,
                heartbeatInterval, metrics);
        Sink<PeerMessage, NotUsed> inbound = Flow.of(PeerMessage.class)
                .map(message -> {
                    session.handle(message);
                    return message;
                })
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((ok, failure) -> session.closed(Optional.ofNullable(failure)));
                    return NotUsed.getInstance();
                })
                .to(Sink.ignore());
        // Coupled: when the peer's side ends or breaks the protocol, our side ends too, and the other way round.
        return in.viaMat(Flow.fromSinkAndSourceCoupled(inbound, session.outbound()), Keep.left());
    }
}
