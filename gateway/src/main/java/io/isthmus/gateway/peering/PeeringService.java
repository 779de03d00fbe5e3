package io.isthmus.gateway.peering;

import io.grpc.Status;
import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.Peering;
import io.isthmus.api.grpc.peering.PeeringHandlerFactory;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/** The server side of peering: each peer that dials in gets a {@link PeerSession} of its own. */
public final class PeeringService implements Peering {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(PeeringService.class);

    private final ClusterId self;
    private final ExportFeed feed;
    private final ActorRef<MeshView.Command> mesh;
    private final Duration heartbeatInterval;
    private final Duration resyncMinInterval;
    private final PeeringMetrics metrics;
    private final AtomicLong inboundCount;
    private final PeeringTls tls;
    private final PeeringTls.PeerCertificate peer;
    private final PeerChannels channels;
    private final StreamAdmission admission;
    /** Completed when the frame limit refused a message of this call: the call then fails with it. */
    private final CompletionStage<PeeringProtocolException> refused;

    private PeeringService(ClusterId self, ExportFeed feed, ActorRef<MeshView.Command> mesh, Duration heartbeatInterval,
                           Duration resyncMinInterval, PeeringMetrics metrics, PeeringTls tls, PeeringTls.PeerCertificate peer, AtomicLong inboundCount,
                           PeerChannels channels, StreamAdmission admission,
                           CompletionStage<PeeringProtocolException> refused) {
        this.channels = channels;
        this.admission = admission;
        this.refused = refused;
        this.tls = tls;
        this.peer = peer;
        this.inboundCount = inboundCount;
        this.self = self;
        this.feed = feed;
        this.mesh = mesh;
        this.heartbeatInterval = heartbeatInterval;
        this.resyncMinInterval = resyncMinInterval;
        this.metrics = metrics;
    }

    /**
     * The peering server's request handler: each request is served for the peer its client certificate names,
     * and one without a verified certificate is refused before any gRPC is read.
     */
    public static Function<HttpRequest, CompletionStage<HttpResponse>> handler(
            ClusterId self, ExportFeed feed, ActorRef<MeshView.Command> mesh, Duration heartbeatInterval,
            PeeringMetrics metrics, PeeringTls tls, PeerChannels channels, PeeringLimits limits,
            ClassicActorSystemProvider system) {
        AtomicLong inboundCount = new AtomicLong();
        long max = limits.maxMessageBytes();
        StreamAdmission admission = new StreamAdmission(limits.maxStreamsPerPeer(), limits.streamOpensPerMinute(),
                System::nanoTime);
        return request -> {
            var peer = tls.authenticate(request);
            if (peer.isEmpty()) {
                request.discardEntityBytes(system);
                return CompletableFuture.completedFuture(HttpResponse.create()
                        .withStatus(StatusCodes.UNAUTHORIZED)
                        .withEntity("peering needs a client certificate from the clusterset CA\n"));
            }
            String from = peer.get().cluster().toString();
            CompletableFuture<PeeringProtocolException> refused = new CompletableFuture<>();
            // Every message is held to the limit after decompression: see GrpcFrameLimit.
            boolean gzip = request.getHeader("grpc-encoding").map(h -> h.value().trim().equalsIgnoreCase("gzip"))
                    .orElse(false);
            HttpRequest limited = request.withEntity(org.apache.pekko.http.javadsl.model.HttpEntities.createChunked(
                    request.entity().getContentType(), request.entity().getDataBytes().via(GrpcFrameLimit.flow(
                    max, gzip, (reason, length) -> {
                        metrics.linksRejected().inc(reason);
                        String message = "peer link from cluster " + from + " closed: " + switch (reason) {
                            case GrpcFrameLimit.DECOMPRESSED_OVERSIZED -> "the peer sent a compressed message that "
                                    + "inflates to more than " + max + " bytes (isthmus.peering.limits.max-message-size)";
                            case GrpcFrameLimit.BAD_COMPRESSION -> "the peer sent a compressed message of " + length
                                    + " bytes that is not valid gzip";
                            default -> "the peer sent a message of " + length + " bytes, over the limit of " + max
                                    + " bytes (isthmus.peering.limits.max-message-size)";
                        };
                        log.warn(message);
                        return new PeeringProtocolException(reason, message);
                    }, refused::complete))));
            return PeeringHandlerFactory.create(new PeeringService(self, feed, mesh, heartbeatInterval,
                    limits.resyncMinInterval(), metrics, tls,
                    peer.get(), inboundCount, channels, admission, refused), system).apply(limited);
        };
    }

    @Override
    public Source<PeerMessage, NotUsed> link(Source<PeerMessage, NotUsed> in) {
        Optional<StreamAdmission.Refusal> refusedStream = admission.open(peer.cluster());
        if (refusedStream.isPresent()) {
            metrics.linksRejected().inc(refusedStream.get().reason());
            log.warn("peering: refused a stream: {}", refusedStream.get().message());
            return in.take(0).concat(Source.failed(new GrpcServiceException(
                    Status.RESOURCE_EXHAUSTED.withDescription(refusedStream.get().message()))));
        }
        String linkId = "inbound-" + inboundCount.incrementAndGet() + " from " + peer.cluster();
        PeerSession session = new PeerSession(self, linkId, MeshView.Direction.INBOUND, "inbound", feed, mesh,
                heartbeatInterval, resyncMinInterval, metrics, tls, peer::certificate, channels);
        // What the peer sends is consumed here and yields nothing; merged with what we send so that a protocol
        // error fails the whole call (the peer sees why) and the peer ending its side ends ours (eager complete).
        // A message refused by the frame limit fails the call from here, so the peer gets the status (see GrpcFrameLimit).
        Source<PeerMessage, NotUsed> guarded = in.merge(Source.completionStage(refused)
                .flatMapConcat(e -> Source.<PeerMessage>failed(e)), true);
        return guarded.<PeerMessage>mapConcat(message -> {
                    session.handle(message);
                    return List.of();
                })
                .merge(session.outbound(), true)
                .mapError(new PFBuilder<Throwable, Throwable>()
                        .match(PeeringProtocolException.class, e -> new GrpcServiceException(
                                (e.reason().equals(GrpcFrameLimit.OVERSIZED)
                                        || e.reason().equals(GrpcFrameLimit.DECOMPRESSED_OVERSIZED)
                                        ? Status.RESOURCE_EXHAUSTED : Status.FAILED_PRECONDITION)
                                        .withDescription(e.getMessage())))
                        .build())
                .watchTermination((notUsed, done) -> {
                    done.whenComplete((ok, failure) -> {
                        admission.closed(peer.cluster());
                        session.closed(Optional.ofNullable(failure));
                    });
                    return notUsed;
                });
    }
}
