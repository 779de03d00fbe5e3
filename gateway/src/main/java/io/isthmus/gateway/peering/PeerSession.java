package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.api.grpc.peering.ExportDelta;
import io.isthmus.api.grpc.peering.ExportSnapshot;
import io.isthmus.api.grpc.peering.Heartbeat;
import io.isthmus.api.grpc.peering.Hello;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.peering.ResyncRequest;
import io.isthmus.api.grpc.peering.RevocationList;
import io.isthmus.api.grpc.peering.ServiceRef;
import io.isthmus.gateway.exports.ExportSet;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * One peer stream, whichever side dialled: what we send (hello; then a full snapshot of what is offered to the peer,
 * deltas as our exports change, heartbeats, newer CRLs) and how we take what the peer sends. Two stream stages use a
 * session: the inbound one (hello, the peer's exports and heartbeats) and the outbound one; what they share is in
 * atomics, everything else belongs to one of them.
 */
final class PeerSession {
    private static final Logger log = LoggerFactory.getLogger(PeerSession.class);

    private final ClusterId self;
    private final String linkId;
    private final MeshView.Direction direction;
    private final String address;
    private final ExportFeed feed;
    private final ActorRef<MeshView.Command> mesh;
    private final Duration heartbeatInterval;
    /** Full snapshots asked for by the peer are sent at most this often (nanoseconds); one asked sooner waits. */
    private final long resyncMinNanos;
    private final PeeringMetrics metrics;
    private ClusterId remote;
    // Written by the inbound stage, read by the outbound one: what our next heartbeat echoes and acks.
    private final AtomicLong lastPeerHeartbeatSentAt = new AtomicLong();
    private final AtomicLong lastPeerHeartbeatReceivedAt = new AtomicLong();
    private final AtomicLong appliedPeerVersion = new AtomicLong();
    /** The peer's clock skew, from its heartbeats (inbound stage only). */
    private final ClockSkew skew = new ClockSkew();
    /** Its latest estimate, read where a delta is applied (the mesh view's thread) to time the propagation. */
    private final AtomicReference<ClockSkew.Estimate> skewEstimate = new AtomicReference<>();
    private final CompletableFuture<ClusterId> helloReceived = new CompletableFuture<>();
    private final AtomicReference<BoundedSourceQueue<Signal>> control = new AtomicReference<>();
    private final PeeringTls tls;
    private final Supplier<X509Certificate> peerCertificate;
    private final PeerChannels channels;
    /** This stream as a channel for other parts' messages (the address plan); set once the peer said hello. */
    private final AtomicReference<java.util.function.Predicate<PeerMessage>> channel = new AtomicReference<>();

    /**
     * @param peerCertificate the certificate the peer authenticated with (the client's, on the server side; the
     *                        server's, captured during the handshake, on the client side)
     */
    PeerSession(ClusterId self, String linkId, MeshView.Direction direction, String address, ExportFeed feed,
                ActorRef<MeshView.Command> mesh, Duration heartbeatInterval, Duration resyncMinInterval,
                PeeringMetrics metrics, PeeringTls tls, Supplier<X509Certificate> peerCertificate, PeerChannels channels) {
        this.resyncMinNanos = resyncMinInterval == null ? 0 : resyncMinInterval.toNanos();
        this.channels = channels;
        this.tls = tls;
        this.peerCertificate = peerCertificate;
        this.self = self;
        this.linkId = linkId;
        this.direction = direction;
        this.address = address;
        this.feed = feed;
        this.mesh = mesh;
        this.heartbeatInterval = heartbeatInterval;
        this.metrics = metrics;
    }

    /**
     * What we send: hello first; once the peer's hello names its cluster, a snapshot (of what is offered to that
     * cluster) whenever ours is newer than the last one sent, and heartbeats.
     */
    Source<PeerMessage, NotUsed> outbound() {
        PeerMessage hello = PeerMessage.newBuilder().setHello(ProtocolVersions.SPOKEN.announce(Hello.newBuilder()
                .setClusterId(self.value()))).build();
        return Source.single(hello)
                .concat(Source.completionStage(helloReceived).flatMapConcat(this::updatesFor))
                .map(message -> {
                    metrics.messagesSent().inc(message.getKindCase().name().toLowerCase());
                    return message;
                });
    }

    /** What wakes the sending side: our exports changed, the heartbeat, or a resync one way or the other. */
    private enum Signal { CHANGED, TICK, SEND_FULL, ASK_FOR_FULL }

    /** The sending side's memory of this stream, confined to its stage. */
    private static final class SendState {
        ExportSet lastSent;
        long lastFullAtNanos;
        /** The peer asked for a full snapshot within the minimum interval: it is sent once the interval is over. */
        boolean fullOwed;
        long lastCrlNumber = -1;
    }

    private void signal(Signal signal) {
        BoundedSourceQueue<Signal> queue = control.get();
        if (queue != null) {
            queue.offer(signal);
        }
    }

    private Source<PeerMessage, NotUsed> updatesFor(ClusterId peer) {
        Source<Signal, NotUsed> changes = feed.changes().map(version -> Signal.CHANGED);
        Source<Signal, NotUsed> ticks = Source.tick(Duration.ZERO, heartbeatInterval, Signal.TICK)
                .mapMaterializedValue(cancellable -> NotUsed.getInstance());
        Source<Signal, NotUsed> requests = Source.<Signal>queue(16).mapMaterializedValue(queue -> {
            control.set(queue);
            return NotUsed.getInstance();
        });
        // Other parts' messages (the address plan) ride along; a full queue drops them, and their senders retransmit.
        Source<PeerMessage, NotUsed> others = Source.<PeerMessage>queue(256).mapMaterializedValue(queue -> {
            java.util.function.Predicate<PeerMessage> offer =
                    message -> queue.offer(message) == org.apache.pekko.stream.QueueOfferResult.enqueued();
            channel.set(offer);
            channels.attach(peer, peerCertificate.get(), offer);
            return NotUsed.getInstance();
        });
        return changes.merge(ticks).merge(requests)
                .statefulMap(SendState::new, (state, signal) -> {
                    List<PeerMessage> out = new ArrayList<>(3);
                    sendExports(state, signal, peer, out);
                    if (signal == Signal.ASK_FOR_FULL) {
                        out.add(PeerMessage.newBuilder().setResyncRequest(ResyncRequest.newBuilder()
                                .setHaveVersion(appliedPeerVersion.get())).build());
                    }
                    if (signal == Signal.TICK) {
                        // A CRL taken or an expiry passed since the handshake cuts a quiet link at the next heartbeat.
                        requireTrustedStill();
                        out.add(heartbeat(feed.current().version()));
                        relayNewerCrl(state, out);
                    }
                    return org.apache.pekko.japi.Pair.create(state, out);
                }, state -> Optional.empty())
                .mapConcat(messages -> messages)
                .merge(others);
    }

    /**
     * A full snapshot at the start of the stream and when the peer asks for one; otherwise, when our exports
     * moved on, only what changed since the version last sent on this stream (the peer holds that one).
     */
    private void sendExports(SendState state, Signal signal, ClusterId peer, List<PeerMessage> out) {
        ExportFeed.Stamped stamped = feed.stamped();
        ExportSet current = stamped.exports();
        long now = System.nanoTime();
        boolean resyncAllowed = now - state.lastFullAtNanos >= resyncMinNanos;
        if (signal == Signal.SEND_FULL && state.lastSent != null && !resyncAllowed) {
            // A peer asking again and again for everything would make us serialize every export each time.
            if (!state.fullOwed) {
                metrics.resyncsDeferred().inc();
            }
            state.fullOwed = true;
            return;
        }
        if (state.fullOwed && !resyncAllowed) {
            return; // the peer cannot apply deltas until it has the snapshot it asked for
        }
        boolean full = state.lastSent == null || signal == Signal.SEND_FULL || state.fullOwed;
        if (!full && current.version() == state.lastSent.version()) {
            return;
        }
        PeerMessage delta = full ? null : delta(state.lastSent, current, peer, stamped.changedAtMicros());
        if (delta == null) {
            metrics.resyncs().inc();
            out.add(snapshot(current, peer, stamped.changedAtMicros()));
            state.lastFullAtNanos = now;
            state.fullOwed = false;
        } else {
            out.add(delta);
        }
        state.lastSent = current;
        mesh.tell(new MeshView.SnapshotSent(linkId, current.version()));
    }

    private void relayNewerCrl(SendState state, List<PeerMessage> out) {
        var crl = tls.currentCrl();
        if (crl.number().longValueExact() > state.lastCrlNumber) {
            state.lastCrlNumber = crl.number().longValueExact();
            out.add(PeerMessage.newBuilder().setRevocationList(RevocationList.newBuilder()
                    .setDer(com.google.protobuf.ByteString.copyFrom(crl.der()))).build());
        }
    }

    /**
     * The change from {@code before} to {@code after} as {@code peer} sees it; null when a snapshot is smaller.
     * {@code after} is made from {@code before} by changes (the registry's), so the two share all but the changed
     * paths of their trees, and the diff costs O(changes × log n) instead of a scan of every export.
     */
    PeerMessage delta(ExportSet before, ExportSet after, ClusterId peer) {
        return delta(before, after, peer, 0);
    }

    /** @param changedAtMicros when our feed took {@code after} (our wall clock) */
    private PeerMessage delta(ExportSet before, ExportSet after, ClusterId peer, long changedAtMicros) {
        ExportDelta.Builder b = ExportDelta.newBuilder().setOriginCluster(self.value())
                .setFromVersion(before.version()).setToVersion(after.version())
                .setChangedAtUnixMicros(changedAtMicros);
        List<ServiceKey> removed = new ArrayList<>();
        ExportSet.diff(before, after, (key, old, now) -> {
            ServiceExport wasOffered = old != null && old.isOfferedTo(peer) ? old : null;
            ServiceExport offered = now != null && now.isOfferedTo(peer) ? now : null;
            if (offered != null) {
                if (!offered.equals(wasOffered)) {
                    b.addUpserted(PeerMessages.toWire(offered));
                }
            } else if (wasOffered != null) {
                removed.add(key);
            }
        });
        removed.forEach(key -> b.addRemoved(ServiceRef.newBuilder().setNamespace(key.namespace()).setName(key.name())));
        int changes = b.getUpsertedCount() + b.getRemovedCount();
        // At least every export not restricted to some clusters is offered to the peer; count exactly only if needed.
        int offered = after.size() - after.restrictedCount();
        if (changes > offered) {
            int[] exact = {0};
            after.forEach((key, export) -> exact[0] += export.isOfferedTo(peer) ? 1 : 0);
            offered = exact[0];
        }
        return changes > offered ? null : PeerMessage.newBuilder().setExportDelta(b).build();
    }

    private PeerMessage heartbeat(long exportVersion) {
        long now = System.nanoTime();
        long wall = ClockSkew.micros(feed.clock().instant()); // with now: the echo's held time starts here too
        long echo = lastPeerHeartbeatSentAt.get();
        Heartbeat.Builder b = Heartbeat.newBuilder().setSentAt(now).setExportVersion(exportVersion)
                .setAckedVersion(appliedPeerVersion.get()).setWallClockUnixMicros(wall);
        if (echo != 0) {
            b.setEchoSentAt(echo).setEchoHeldNanos(now - lastPeerHeartbeatReceivedAt.get());
        }
        return PeerMessage.newBuilder().setHeartbeat(b).build();
    }

    private PeerMessage snapshot(ExportSet exports, ClusterId peer, long changedAtMicros) {
        if (exports.restrictedCount() == 0) { // offered to every cluster: one message for every stream
            return feed.snapshotOf(exports, () -> snapshotFor(exports, peer, changedAtMicros));
        }
        return snapshotFor(exports, peer, changedAtMicros);
    }

    private PeerMessage snapshotFor(ExportSet exports, ClusterId peer, long changedAtMicros) {
        ExportSnapshot.Builder b = ExportSnapshot.newBuilder().setOriginCluster(self.value()).setVersion(exports.version())
                .setChangedAtUnixMicros(changedAtMicros);
        exports.forEach((key, export) -> {
            if (export.isOfferedTo(peer)) {
                b.addExports(PeerMessages.toWire(export));
            }
        });
        return PeerMessage.newBuilder().setExportSnapshot(b).build();
    }

    /** Takes one message from the peer; throws {@link PeeringProtocolException} to close the link. */
    void handle(PeerMessage message) {
        metrics.messagesReceived().inc(message.getKindCase().name().toLowerCase());
        X509Certificate certificate = peerCertificate.get();
        if (remote != null && certificate != null && tls.distrust(certificate, java.time.Instant.now()).isPresent()) {
            // Revoked or expired since the handshake: nothing it says counts any more; our next heartbeat tick
            // closes the link (failing the stream from the sending side closes both directions at once).
            return;
        }
        switch (message.getKindCase()) {
            case HELLO -> onHello(message.getHello());
            case EXPORT_SNAPSHOT -> onSnapshot(requireHello(message), message.getExportSnapshot());
            case HEARTBEAT -> {
                requireHello(message);
                onHeartbeat(message.getHeartbeat());
            }
            case EXPORT_DELTA -> onDelta(requireHello(message), message.getExportDelta());
            case RESYNC_REQUEST -> {
                requireHello(message);
                signal(Signal.SEND_FULL);
            }
            case REVOCATION_LIST -> {
                requireHello(message);
                try {
                    tls.acceptRelayedCrl(message.getRevocationList().getDer().toByteArray());
                } catch (io.isthmus.gateway.pki.PkiException e) {
                    throw reject("bad-crl", "relayed a revocation list that is not our CA's: " + e.getMessage());
                }
            }
            case PLAN, TUNNEL, POLICY, WORKLOADS -> // ignored where no plan is configured, or no tunnel
                    channels.deliver(requireHello(message), peerCertificate.get(), channel.get(), message);
            case KIND_NOT_SET -> {
                // A newer peer may send kinds we do not know yet; they arrive as unknown fields: ignore them.
            }
        }
    }

    private void onHello(Hello hello) {
        if (remote != null) {
            throw reject("duplicate-hello", "sent hello twice on one stream");
        }
        ProtocolVersions theirs = ProtocolVersions.of(hello);
        if (theirs == null) {
            throw reject("unsupported-version", "sent a hello with protocol versions " + hello.getMinProtocolVersion()
                    + " to " + hello.getProtocolVersion() + ", which is no range");
        }
        int agreed = ProtocolVersions.SPOKEN.agree(theirs).orElseThrow(() -> reject("unsupported-version", "speaks peering protocol "
                + theirs + "; this gateway speaks " + ProtocolVersions.SPOKEN + ": upgrade the older side first, one release at a time"));
        ClusterId claimed;
        try {
            claimed = ClusterId.of(hello.getClusterId());
        } catch (InvalidFieldException e) {
            throw reject("bad-hello", "sent a hello with " + e.getMessage());
        }
        if (claimed.equals(self)) {
            throw reject("own-cluster-id", "claims to be this gateway's own cluster '" + self
                    + "'; check the peers list and the cluster ids");
        }
        ClusterId certified = certifiedCluster();
        if (!claimed.equals(certified)) {
            throw reject("certificate-mismatch", "says hello as cluster '" + claimed
                    + "' but its certificate is for cluster '" + certified + "'");
        }
        remote = claimed;
        metrics.linked(claimed);
        helloReceived.complete(claimed);
        log.info("peer link {} ({} {}) is up with cluster {}, protocol version {}", linkId, direction.name().toLowerCase(),
                address, remote, agreed);
        mesh.tell(new MeshView.LinkChanged(linkId, direction, address, remote, LinkState.UP,
                "hello received, protocol version " + agreed));
    }

    private ClusterId requireHello(PeerMessage message) {
        if (remote == null) {
            throw reject("no-hello", "sent " + message.getKindCase() + " before hello");
        }
        return remote;
    }

    /** TLS checked the certificate at the handshake; a revocation or expiry since then ends the link. */
    private void requireTrustedStill() {
        X509Certificate certificate = peerCertificate.get();
        if (certificate == null) {
            return; // before the hello: certifiedCluster() refuses a stream without one
        }
        tls.distrust(certificate, java.time.Instant.now()).ifPresent(reason -> {
            throw reject(reason, "has a" + (reason.equals("expired") ? "n" : "") + " " + reason + " certificate (serial "
                    + certificate.getSerialNumber().toString(16) + ", not after " + certificate.getNotAfter().toInstant() + ")");
        });
    }

    private ClusterId certifiedCluster() {
        X509Certificate certificate = peerCertificate.get();
        if (certificate == null) {
            throw reject("no-certificate", "presented no certificate");
        }
        try {
            return io.isthmus.gateway.pki.PeerIdentity.of(certificate);
        } catch (io.isthmus.gateway.pki.CertificateRejectedException e) {
            throw reject("certificate-identity", "presented a certificate without a cluster identity: " + e.getMessage());
        }
    }

    private void onHeartbeat(Heartbeat heartbeat) {
        long now = System.nanoTime();
        java.time.Instant wallNow = feed.clock().instant();
        lastPeerHeartbeatSentAt.set(heartbeat.getSentAt());
        lastPeerHeartbeatReceivedAt.set(now);
        Duration rtt = null;
        if (heartbeat.getEchoSentAt() != 0) {
            long nanos = now - heartbeat.getEchoSentAt() - heartbeat.getEchoHeldNanos();
            if (nanos >= 0 && nanos < Duration.ofMinutes(1).toNanos()) { // an echo from another stream is nonsense
                rtt = Duration.ofNanos(nanos);
            }
        }
        ClockSkew.Estimate estimate = skew.sample(heartbeat.getWallClockUnixMicros(), wallNow, rtt).orElse(null);
        skewEstimate.set(estimate);
        mesh.tell(new MeshView.HeartbeatReceived(linkId, rtt, heartbeat.getAckedVersion(), heartbeat.getExportVersion(),
                estimate));
    }

    private void onSnapshot(ClusterId from, ExportSnapshot snapshot) {
        if (!snapshot.getOriginCluster().equals(from.value())) {
            throw reject("foreign-origin", "cluster " + from + " sent exports of cluster '"
                    + snapshot.getOriginCluster() + "'; a gateway may only send its own");
        }
        List<ServiceExport> exports = new ArrayList<>(snapshot.getExportsCount());
        try {
            for (var wire : snapshot.getExportsList()) {
                exports.add(PeerMessages.fromWire(wire));
            }
        } catch (InvalidFieldException e) {
            throw reject("invalid-export", "sent an export snapshot with " + e.getMessage());
        }
        mesh.tell(new MeshView.ImportsReceived(linkId, from, snapshot.getVersion(), exports));
        appliedPeerVersion.accumulateAndGet(snapshot.getVersion(), Math::max);
    }

    private void onDelta(ClusterId from, ExportDelta delta) {
        if (!delta.getOriginCluster().equals(from.value())) {
            throw reject("foreign-origin", "cluster " + from + " sent changes to the exports of cluster '"
                    + delta.getOriginCluster() + "'; a gateway may only send its own");
        }
        List<ServiceExport> upserted = new ArrayList<>(delta.getUpsertedCount());
        List<io.isthmus.api.ServiceKey> removed = new ArrayList<>(delta.getRemovedCount());
        try {
            for (var wire : delta.getUpsertedList()) {
                upserted.add(PeerMessages.fromWire(wire));
            }
            for (ServiceRef ref : delta.getRemovedList()) {
                removed.add(new io.isthmus.api.ServiceKey(ref.getNamespace(), ref.getName()));
            }
        } catch (InvalidFieldException e) {
            throw reject("invalid-export", "sent export changes with " + e.getMessage());
        }
        long changedAt = delta.getChangedAtUnixMicros();
        // The origin is this link's peer (checked above), so this link's skew estimate is the origin's.
        Runnable applied = () -> metrics.recordPropagation(from, changedAt, feed.clock().instant(), skewEstimate.get());
        mesh.tell(new MeshView.DeltaReceived(linkId, from, delta.getFromVersion(), delta.getToVersion(), upserted,
                removed, () -> signal(Signal.ASK_FOR_FULL), applied));
        appliedPeerVersion.accumulateAndGet(delta.getToVersion(), Math::max);
    }

    private PeeringProtocolException reject(String reason, String what) {
        metrics.linksRejected().inc(reason);
        String message = "peer link " + linkId + " (" + address + (remote == null ? "" : ", cluster " + remote)
                + ") closed: the peer " + what;
        log.warn(message);
        return new PeeringProtocolException(reason, message);
    }

    /** Called once when the stream ends, for whatever reason. */
    void closed(Optional<Throwable> failure) {
        String detail = failure.map(t -> t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage())
                .orElse("stream ended");
        if (remote != null) {
            log.info("peer link {} to cluster {} is down: {}", linkId, remote, detail);
        }
        java.util.function.Predicate<PeerMessage> offer = channel.get();
        if (offer != null) {
            channels.detach(remote, offer);
        }
        mesh.tell(new MeshView.LinkChanged(linkId, direction, address, remote, LinkState.DOWN, detail));
    }
}
