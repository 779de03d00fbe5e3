package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.peering.PeerMessage;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Predicate;

/**
 * The peer streams as a message channel for the parts that ride on peering besides exports (the address plan now;
 * tunnel keys; policy later): send one message to a cluster over any of its open links, and hand each message of
 * such a kind that arrives to the one part that handles it. Best effort, like the links: a part that needs a
 * message to arrive retransmits it. A part that must answer on the very link a message came on, or must know the
 * certificate that link's peer authenticated with (the tunnel's key exchange), registers with
 * {@link #handleOnLink} and {@link #whenLinkUp}.
 */
public final class PeerChannels {
    /**
     * One open link to {@code remote}: the certificate its peer authenticated with (mutual TLS) and a way to queue
     * a message on it ({@link #send} is false when the link did not take it: full, or closed).
     */
    public record Link(ClusterId remote, X509Certificate peerCertificate, Predicate<PeerMessage> offer) {
        public boolean send(PeerMessage message) {
            return offer.test(message);
        }
    }

    private final ConcurrentHashMap<ClusterId, CopyOnWriteArrayList<Predicate<PeerMessage>>> links = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<PeerMessage.KindCase, BiConsumer<Link, PeerMessage>> handlers = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<java.util.function.Consumer<ClusterId>> connectionListeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<java.util.function.Consumer<Link>> linkListeners = new CopyOnWriteArrayList<>();

    /** A link to {@code remote} is up; {@code offer} queues a message on it and says whether it took it. */
    void attach(ClusterId remote, X509Certificate peerCertificate, Predicate<PeerMessage> offer) {
        links.computeIfAbsent(remote, r -> new CopyOnWriteArrayList<>()).add(offer);
        connectionListeners.forEach(listener -> listener.accept(remote));
        Link link = new Link(remote, peerCertificate, offer);
        linkListeners.forEach(listener -> listener.accept(link));
    }

    /** Told every link that comes up, with its peer's certificate and a way to send on that link alone. */
    public void whenLinkUp(java.util.function.Consumer<Link> listener) {
        linkListeners.add(listener);
    }

    /** Told the cluster every time a link to it comes up (a part may want to bring the peer up to date). */
    public void whenConnected(java.util.function.Consumer<ClusterId> listener) {
        connectionListeners.add(listener);
    }

    void detach(ClusterId remote, Predicate<PeerMessage> offer) {
        links.computeIfPresent(remote, (r, offers) -> {
            offers.remove(offer);
            return offers.isEmpty() ? null : offers;
        });
    }

    /**
     * Hands a received message to the part registered for its kind; false when nobody handles that kind.
     * {@code link} is the offer of the link it came on, or null while that link is not yet attached (an answer
     * then goes over any link to {@code from}).
     */
    boolean deliver(ClusterId from, X509Certificate peerCertificate, Predicate<PeerMessage> link, PeerMessage message) {
        BiConsumer<Link, PeerMessage> handler = handlers.get(message.getKindCase());
        if (handler == null) {
            return false;
        }
        handler.accept(new Link(from, peerCertificate, link != null ? link : m -> send(from, m)), message);
        return true;
    }

    /** Registers the one handler of a message kind. */
    public void handle(PeerMessage.KindCase kind, BiConsumer<ClusterId, PeerMessage> handler) {
        handleOnLink(kind, (link, message) -> handler.accept(link.remote(), message));
    }

    /** Registers the one handler of a message kind, told the link each message came on. */
    public void handleOnLink(PeerMessage.KindCase kind, BiConsumer<Link, PeerMessage> handler) {
        if (handlers.putIfAbsent(kind, handler) != null) {
            throw new IllegalStateException("a handler for peer messages of kind " + kind + " is already registered");
        }
    }

    /** Sends over the first open link to {@code to} that takes it; false when none did (no link, or all full). */
    public boolean send(ClusterId to, PeerMessage message) {
        List<Predicate<PeerMessage>> offers = links.get(to);
        if (offers == null) {
            return false;
        }
        for (Predicate<PeerMessage> offer : offers) {
            if (offer.test(message)) {
                return true;
            }
        }
        return false;
    }

    /** Clusters with at least one open link. */
    public Set<ClusterId> connected() {
        return Set.copyOf(links.keySet());
    }
}
