package io.isthmus.gateway.peering;

import io.grpc.Status;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.Peering;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
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
        // What the peer sends is consumed here and yields nothing; merged with what we send so that a protocol
        // error fails the whole call (the peer sees why) and the peer ending its side ends ours (eager complete).
        return in.<PeerMessage>mapConcat(message -> {
                    session.handle(message);
                    return List.of();
                })
                .merge(session.outbound(), true)
                .mapError(new PFBuilder<Throwable, Throwable>()
                        .match(PeeringProtocolException.class, e -> new GrpcServiceException(
                                Status.FAILED_PRECONDITION.withDescription(e.getMessage())))
                        .build())
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((ok, failure) -> session.closed(Optional.ofNullable(failure)));
                    return notUsed;
                });
    }
}
