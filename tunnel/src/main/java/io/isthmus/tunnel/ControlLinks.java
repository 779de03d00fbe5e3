package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import java.security.cert.X509Certificate;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * The control plane as the data plane sees it: authenticated links to peer clusters that carry the key exchange's
 * {@link TunnelMessage}s (in the gateway: the peering streams). Its callbacks may come on any thread; the data plane
 * turns them into events on its own loop.
 */
public interface ControlLinks {
    /** One open link to a peer cluster. */
    interface Link {
        ClusterId remote();

        /** The certificate the peer authenticated this link with (mutual TLS); null when it presented none. */
        X509Certificate peerCertificate();

        /** Sends on this link; false when it is closed or would not take the message (then it is dropped). */
        boolean send(TunnelMessage message);
    }

    /** Every tunnel message that arrives, with the link it came on. */
    void onMessage(BiConsumer<Link, TunnelMessage> handler);

    /** Every link that comes up, also a second link to a peer already linked. */
    void onLinkUp(Consumer<Link> handler);

    /** The peer clusters with at least one open link now. */
    Set<ClusterId> connected();
}
