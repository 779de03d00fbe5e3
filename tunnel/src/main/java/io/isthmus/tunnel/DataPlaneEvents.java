package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.tunnel.TunnelMessage;

/**
 * What the data plane tells whoever counts (the gateway's metrics), called on its event loop: key messages each
 * way, key messages refused or not sent, ranges kept out by a route this gateway did not install. Packet counters
 * are not events: they are read from {@link TunnelDataPlane#stats()}.
 */
public interface DataPlaneEvents {
    void keyMessageSent(ClusterId peer, TunnelMessage.KindCase kind);

    void keyMessageReceived(ClusterId peer, TunnelMessage.KindCase kind);

    /** @param reason the field that was wrong, or a word: {@code bad-certificate}, {@code not-sent}, ... */
    void keyMessageRefused(ClusterId peer, String reason);

    /** Counted once per range when it is first found blocked. */
    void routeBlocked(ClusterId peer);

    /**
     * A key exchange this side started (first keys or a rekey) was answered and its session installed;
     * {@code took} runs from sending the offer that was answered to installing on its KEY_ACCEPT.
     */
    default void rekeyed(ClusterId peer, java.time.Duration took) {
    }
}
