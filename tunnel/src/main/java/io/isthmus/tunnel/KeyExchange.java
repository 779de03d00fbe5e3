package io.isthmus.tunnel;

import com.google.protobuf.ByteString;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.KeyAccept;
import io.isthmus.api.grpc.tunnel.KeyOffer;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;
import org.bouncycastle.crypto.agreement.X25519Agreement;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;

/**
 * The key exchange with one peer, as a state machine over the messages of {@code tunnel.proto}: an ephemeral X25519
 * agreement (Bouncy Castle) whose secret {@link KeySchedule} turns into a {@link Session}, bound to both ends'
 * {@link TunnelIdentity}. The messages travel on the authenticated peering stream, so an offer or accept is as
 * trustworthy as that stream's mutual TLS.
 *
 * <pre>
 *   initiator                          responder
 *   offer()        ── KeyOffer ──▶     onOffer()  → Accepted(KeyAccept, Session as responder)
 *   onAccept()     ◀── KeyAccept ──    (the responder opens with it now, sends with it once it is confirmed)
 *     → Session as initiator (sends with it at once)
 * </pre>
 *
 * <p>Both sides may offer at once; then the offer of the lower cluster id wins: the higher side drops its own offer
 * and answers, the lower side ignores the other offer and waits for its answer. Each ephemeral private key is used
 * for one agreement and dropped. Not thread-safe on its own: its methods are synchronized.
 */
public final class KeyExchange {
    /** What {@link #onOffer} produces: the reply for the peering stream, and our new session. */
    public record Accepted(KeyAccept reply, Session session) {
    }

    private record Pending(KeyOffer offer, X25519PrivateKeyParameters privateKey, Instant sent) {
    }

    private final TunnelIdentity local;
    private final TunnelIdentity peer;
    private final Suite suite;
    private final int wireVersion;
    private final ReceiverIndexes indexes;
    private final SecureRandom random;
    private final InstantSource clock;
    private Pending pending;
    private long lastEpoch;

    /** Speaking this build's newest wire version. */
    public KeyExchange(TunnelIdentity local, TunnelIdentity peer, Suite suite, ReceiverIndexes indexes,
                       SecureRandom random, InstantSource clock) {
        this(local, peer, suite, WireFormat.VERSION, indexes, random, clock);
    }

    /**
     * @param wireVersion the newest header version to agree on ({@link WireFormat#VERSION_UNVERSIONED} ..
     *                    {@link WireFormat#VERSION}); lower pins this side to an older wire, as during an upgrade
     */
    public KeyExchange(TunnelIdentity local, TunnelIdentity peer, Suite suite, int wireVersion,
                       ReceiverIndexes indexes, SecureRandom random, InstantSource clock) {
        if (wireVersion < WireFormat.VERSION_UNVERSIONED || wireVersion > WireFormat.VERSION) {
            throw new InvalidFieldException("wire-version", wireVersion, "this build speaks "
                    + WireFormat.VERSION_UNVERSIONED + ".." + WireFormat.VERSION);
        }
        if (local.cluster().equals(peer.cluster())) {
            throw new IllegalArgumentException("a tunnel joins two clusters, not " + local.cluster() + " to itself");
        }
        this.local = local;
        this.peer = peer;
        this.suite = suite;
        this.wireVersion = wireVersion;
        this.indexes = indexes;
        this.random = random;
        this.clock = clock;
    }

    public TunnelIdentity peer() {
        return peer;
    }

    /** Starts an exchange: a fresh ephemeral key and receiver index; replaces an offer still unanswered. */
    public synchronized KeyOffer offer() {
        abandonPending();
        X25519PrivateKeyParameters privateKey = new X25519PrivateKeyParameters(random);
        KeyOffer offer = KeyOffer.newBuilder()
                .setEpoch(++lastEpoch)
                .setPublicKey(ByteString.copyFrom(privateKey.generatePublicKey().getEncoded()))
                .setReceiverIndex(indexes.allocate())
                .setSuite(suite.toWire())
                .setWireVersion(wireVersion)
                .build();
        pending = new Pending(offer, privateKey, clock.instant());
        return offer;
    }

    /** When our unanswered offer was sent, if there is one. */
    public synchronized Optional<Instant> pendingSince() {
        return Optional.ofNullable(pending).map(Pending::sent);
    }

    /**
     * Answers the peer's offer: empty when our own offer wins a simultaneous exchange (the peer will answer ours).
     *
     * @throws InvalidFieldException when the offer is malformed (nothing changes then)
     */
    public synchronized Optional<Accepted> onOffer(KeyOffer offer) {
        Suite offered = Suite.fromWire("key-offer.suite", offer.getSuite());
        X25519PublicKeyParameters theirs = publicKey("key-offer.public-key", offer.getPublicKey());
        requireIndex("key-offer.receiver-index", offer.getReceiverIndex());
        // A newer peer offers its newest; an older one offers less (or nothing: 0). Both ends then use the lower.
        int agreedVersion = Math.min(wireVersion, offer.getWireVersion());
        if (pending != null && local.cluster().compareTo(peer.cluster()) < 0) {
            return Optional.empty();
        }
        X25519PrivateKeyParameters ours = new X25519PrivateKeyParameters(random);
        byte[] shared = agree(ours, theirs, "key-offer.public-key");
        abandonPending();
        lastEpoch = Math.max(lastEpoch, offer.getEpoch());
        byte[] ourPublic = ours.generatePublicKey().getEncoded();
        int ourIndex = indexes.allocate();
        KeySchedule.DirectionKeys keys = KeySchedule.derive(shared, new KeySchedule.Transcript(offered,
                offer.getEpoch(), peer, local, offer.getPublicKey().toByteArray(), ourPublic,
                offer.getReceiverIndex(), ourIndex));
        try {
            Session session = new Session(offered, agreedVersion, offer.getEpoch(), false, ourIndex,
                    offer.getReceiverIndex(), keys.responderToInitiator(), keys.initiatorToResponder(), clock.instant(), indexes);
            KeyAccept reply = KeyAccept.newBuilder()
                    .setEpoch(offer.getEpoch())
                    .setPublicKey(ByteString.copyFrom(ourPublic))
                    .setReceiverIndex(ourIndex)
                    .setSuite(offered.toWire())
                    .setWireVersion(agreedVersion)
                    .build();
            return Optional.of(new Accepted(reply, session));
        } finally {
            keys.wipe();
        }
    }

    /**
     * Completes our offer with the peer's answer.
     *
     * @throws InvalidFieldException when it answers no offer of ours, or is malformed; the pending offer stays
     */
    public synchronized Session onAccept(KeyAccept accept) {
        if (pending == null || pending.offer().getEpoch() != accept.getEpoch()) {
            throw new InvalidFieldException("key-accept.epoch", Long.toUnsignedString(accept.getEpoch()),
                    pending == null ? "no key offer is waiting for an answer"
                            : "the offer waiting for an answer is epoch " + pending.offer().getEpoch());
        }
        Suite accepted = Suite.fromWire("key-accept.suite", accept.getSuite());
        if (accepted != Suite.fromWire("key-offer.suite", pending.offer().getSuite())) {
            throw new InvalidFieldException("key-accept.suite", accept.getSuite(), "must be the suite offered, "
                    + pending.offer().getSuite());
        }
        if (accept.getWireVersion() > pending.offer().getWireVersion()) {
            throw new InvalidFieldException("key-accept.wire-version", accept.getWireVersion(),
                    "must be at most the version offered, " + pending.offer().getWireVersion());
        }
        X25519PublicKeyParameters theirs = publicKey("key-accept.public-key", accept.getPublicKey());
        requireIndex("key-accept.receiver-index", accept.getReceiverIndex());
        byte[] shared = agree(pending.privateKey(), theirs, "key-accept.public-key");
        KeyOffer offer = pending.offer();
        pending = null;
        KeySchedule.DirectionKeys keys = KeySchedule.derive(shared, new KeySchedule.Transcript(accepted,
                offer.getEpoch(), local, peer, offer.getPublicKey().toByteArray(),
                accept.getPublicKey().toByteArray(), offer.getReceiverIndex(), accept.getReceiverIndex()));
        try {
            return new Session(accepted, accept.getWireVersion(), offer.getEpoch(), true, offer.getReceiverIndex(),
                    accept.getReceiverIndex(), keys.initiatorToResponder(), keys.responderToInitiator(), clock.instant(), indexes);
        } finally {
            keys.wipe();
        }
    }

    private void abandonPending() {
        if (pending != null) {
            indexes.release(pending.offer().getReceiverIndex());
            pending = null;
        }
    }

    private static X25519PublicKeyParameters publicKey(String field, ByteString bytes) {
        if (bytes.size() != X25519PublicKeyParameters.KEY_SIZE) {
            throw new InvalidFieldException(field, bytes.size() + " bytes", "must be a 32-byte X25519 public key");
        }
        return new X25519PublicKeyParameters(bytes.toByteArray(), 0);
    }

    private static void requireIndex(String field, int index) {
        if (index == 0) {
            throw new InvalidFieldException(field, 0, "must not be 0");
        }
    }

    private static byte[] agree(X25519PrivateKeyParameters ours, X25519PublicKeyParameters theirs, String field) {
        X25519Agreement agreement = new X25519Agreement();
        agreement.init(ours);
        byte[] shared = new byte[agreement.getAgreementSize()];
        try {
            agreement.calculateAgreement(theirs, shared, 0);
        } catch (IllegalStateException e) {
            // A low-order point gives the all-zero secret; BC refuses it, and so do we.
            throw new InvalidFieldException(field, "a low-order point", "is not a usable X25519 public key");
        }
        return shared;
    }
}
