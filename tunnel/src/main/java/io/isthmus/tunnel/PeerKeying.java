package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The key exchange with every peer cluster, over the control plane's links: a {@link KeyExchange} and its
 * {@link PeerKeys} per peer, bound to the certificate this gateway presents and the one the link's peer authenticated
 * with (mutual TLS), so the keys are good for this pair of gateways only; a rotated certificate on either side starts
 * a new exchange. Offers and accepts are answered on the link they came on, and every message sent carries this
 * gateway's advertised endpoint (how the peer learns where to send).
 *
 * <p>Not thread-safe: owned by the data plane's event loop.
 */
final class PeerKeying {
    private static final TunnelLog log = new TunnelLog(PeerKeying.class);
    /** How long a responder waits for the packet that confirms its answer before it offers keys itself. */
    static final Duration CONFIRMATION_PATIENCE = Duration.ofSeconds(3);

    /** One peer's keying state; {@code keys} is null until a link with a certificate binds it. */
    private static final class Peer {
        ControlLinks.Link link;
        TunnelIdentity local;
        TunnelIdentity remote;
        KeyExchange exchange;
        PeerKeys keys;
        Instant unconfirmedSince;
    }

    private final ClusterId self;
    private final Supplier<X509Certificate> ownCertificate;
    private final Suite suite;
    private final int wireVersion;
    private final RekeyPolicy rekeyPolicy;
    private final TunnelEngine engine;
    private final String advertised;
    private final DataPlaneEvents events;
    private final InstantSource clock;
    private final SecureRandom random = new SecureRandom();
    private final ReceiverIndexes indexes = new ReceiverIndexes(random);
    private final Map<ClusterId, Peer> peers = new HashMap<>();

    PeerKeying(ClusterId self, Supplier<X509Certificate> ownCertificate, Suite suite, int wireVersion,
               RekeyPolicy rekeyPolicy, TunnelEngine engine, InetSocketAddress advertised, DataPlaneEvents events,
               InstantSource clock) {
        this.self = self;
        this.ownCertificate = ownCertificate;
        this.suite = suite;
        this.wireVersion = wireVersion;
        this.rekeyPolicy = rekeyPolicy;
        this.engine = engine;
        this.advertised = PeerEndpoints.format(advertised);
        this.events = events;
        this.clock = clock;
    }

    /**
     * Remembers {@code link} as the one to answer on and binds the exchange to the certificates in use now.
     *
     * @throws InvalidFieldException when the link's peer presented no certificate
     */
    void bind(ControlLinks.Link link) {
        Peer peer = peers.computeIfAbsent(link.remote(), c -> new Peer());
        peer.link = link;
        if (link.peerCertificate() == null) {
            throw new InvalidFieldException("peer certificate", link.remote(), "the link's peer presented none");
        }
        TunnelIdentity local = TunnelIdentity.of(self, ownCertificate.get());
        TunnelIdentity remote = TunnelIdentity.of(link.remote(), link.peerCertificate());
        if (peer.keys == null || !local.equals(peer.local) || !remote.equals(peer.remote)) {
            peer.local = local;
            peer.remote = remote;
            peer.exchange = new KeyExchange(local, remote, suite, wireVersion, indexes, random, clock);
            peer.keys = new PeerKeys(engine, peer.exchange, rekeyPolicy, clock);
        }
    }

    /**
     * A new link: offer keys on it (the peer may have restarted and lost its sessions), unless an offer is out
     * already. Both streams of a pair come up together; two offers racing over two links could be answered in the
     * other order, and the responder would then wait for a confirmation of the answer we dropped.
     */
    void linkUp(ControlLinks.Link link) {
        try {
            bind(link);
        } catch (RuntimeException e) {
            events.keyMessageRefused(link.remote(), "bad-certificate");
            log.warn("cannot key %s: %s", link.remote(), e.getMessage());
            return;
        }
        Peer peer = peers.get(link.remote());
        if (peer.exchange.pendingSince().isEmpty()) {
            send(link.remote(), peer, peer.keys.start());
        }
    }

    /**
     * A key message on a link {@link #bind bound} before; the reply goes back on that link.
     *
     * @throws InvalidFieldException when the message is malformed or answers nothing
     */
    void onMessage(ClusterId from, TunnelMessage message) {
        Peer peer = peers.get(from);
        Optional<Instant> offered = message.getKindCase() == TunnelMessage.KindCase.KEY_ACCEPT
                ? peer.exchange.pendingSince() : Optional.empty();
        peer.keys.onMessage(message).ifPresent(reply -> send(from, peer, reply));
        // onMessage threw if the accept answered nothing of ours; here its session is installed
        offered.ifPresent(sent -> events.rekeyed(from, Duration.between(sent, clock.instant())));
    }

    /**
     * Once a second, for every peer with a link: retires old sessions, rekeys when due, retries an unanswered offer,
     * and offers anew where an answer of ours went unconfirmed past {@link #CONFIRMATION_PATIENCE}.
     *
     * @param inEngine whether a peer is in the engine (only such a peer can have confirmed an answer)
     */
    void tick(Instant now, Predicate<ClusterId> inEngine) {
        peers.forEach((cluster, peer) -> {
            if (peer.keys == null || peer.link == null) {
                return;
            }
            Optional<TunnelMessage> offer = peer.keys.tick();
            if (offer.isEmpty() && unconfirmedTooLong(cluster, peer, inEngine.test(cluster), now)) {
                offer = Optional.of(peer.keys.start());
            }
            offer.ifPresent(o -> send(cluster, peer, o));
        });
    }

    /**
     * A responder that answered an offer seals with the new session only once a packet sealed with it arrived (the
     * initiator's keepalive, sent at once). If that keepalive is lost, or confirms an answer this side already
     * replaced (two offers answered out of order), and the initiator has nothing to send, the responder would stay
     * without a session it may seal with; after the patience it offers keys itself, and so becomes the initiator of
     * a fresh session.
     */
    private boolean unconfirmedTooLong(ClusterId cluster, Peer peer, boolean inEngine, Instant now) {
        boolean waiting = inEngine && engine.currentSession(cluster) == null && engine.keyed(cluster);
        if (!waiting) {
            peer.unconfirmedSince = null;
            return false;
        }
        if (peer.unconfirmedSince == null) {
            peer.unconfirmedSince = now;
            return false;
        }
        if (peer.unconfirmedSince.plus(CONFIRMATION_PATIENCE).isAfter(now)) {
            return false;
        }
        log.info("no packet of %s confirmed our answer within %d s: offering keys ourselves", cluster,
                CONFIRMATION_PATIENCE.toSeconds());
        events.keyMessageRefused(cluster, "unconfirmed");
        peer.unconfirmedSince = now;
        return true;
    }

    private void send(ClusterId to, Peer peer, TunnelMessage message) {
        TunnelMessage withEndpoint = message.toBuilder().setEndpoint(advertised).build();
        if (peer.link != null && peer.link.send(withEndpoint)) {
            events.keyMessageSent(to, message.getKindCase());
        } else {
            events.keyMessageRefused(to, "not-sent"); // no open link took it: the offer is made again later
        }
    }

    /** Drops a peer's keying state (its sessions leave the engine with it). */
    void forget(ClusterId cluster) {
        peers.remove(cluster);
    }

    /** The peers this side knows through a link, keyed or not. */
    Set<ClusterId> known() {
        return Set.copyOf(peers.keySet());
    }
}
