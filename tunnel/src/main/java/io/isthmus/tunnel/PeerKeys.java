package io.isthmus.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Optional;

/**
 * Keeps one peer's tunnel keyed: drives its {@link KeyExchange} by the {@link RekeyPolicy} and installs every
 * session it produces in the {@link TunnelEngine}. The gateway feeds it the peer's {@link TunnelMessage}s from the
 * peering stream and sends whatever it returns back on that stream; {@link #tick()} about once a second.
 *
 * <p>No packet is lost across a rekey: the initiator seals with the new session only once the responder has it
 * (the accept says so); the responder seals with it only once a packet sealed with it arrived; and each side
 * still opens packets of the replaced session for the grace period.
 */
public final class PeerKeys {
    private final TunnelEngine engine;
    private final KeyExchange exchange;
    private final RekeyPolicy policy;
    private final InstantSource clock;

    public PeerKeys(TunnelEngine engine, KeyExchange exchange, RekeyPolicy policy, InstantSource clock) {
        this.engine = engine;
        this.exchange = exchange;
        this.policy = policy;
        this.clock = clock;
    }

    /** The offer to send when the peering stream (re)connects. */
    public TunnelMessage start() {
        return TunnelMessage.newBuilder().setKeyOffer(exchange.offer()).build();
    }

    /**
     * Handles a message from the peer; returns the reply to send, if any.
     *
     * @throws InvalidFieldException when the message is malformed or answers nothing (state unchanged)
     */
    public Optional<TunnelMessage> onMessage(TunnelMessage message) {
        return switch (message.getKindCase()) {
            case KEY_OFFER -> exchange.onOffer(message.getKeyOffer()).map(accepted -> {
                engine.install(exchange.peer().cluster(), accepted.session());
                return TunnelMessage.newBuilder().setKeyAccept(accepted.reply()).build();
            });
            case KEY_ACCEPT -> {
                engine.install(exchange.peer().cluster(), exchange.onAccept(message.getKeyAccept()));
                yield Optional.empty();
            }
            case KIND_NOT_SET -> throw new InvalidFieldException("tunnel-message.kind", "unset",
                    "must be a key offer or a key accept");
        };
    }

    /**
     * Retires sessions past their grace and, when the session in use is due (age, packets, bytes) or an offer
     * went unanswered too long, returns a new offer to send.
     */
    public Optional<TunnelMessage> tick() {
        engine.expire();
        Instant now = clock.instant();
        Optional<Instant> pending = exchange.pendingSince();
        if (pending.isPresent()) {
            return pending.get().plus(policy.retryAfter()).isAfter(now) ? Optional.empty() : Optional.of(start());
        }
        Session current = engine.currentSession(exchange.peer().cluster());
        boolean unkeyed = current == null && !engine.keyed(exchange.peer().cluster());
        if (unkeyed || (current != null && policy.due(current, now))) {
            return Optional.of(start());
        }
        return Optional.empty();
    }
}
