package io.isthmus.k8s.crd;

import io.isthmus.api.ClusterId;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The gateway's peering as the {@link ClusterPeerReconciler} sees it (the gateway implements it over its peer
 * links and mesh view).
 */
public interface PeerDirectory {
    /** This cluster: a ClusterPeer naming it is refused. */
    ClusterId self();

    /**
     * The peers the ClusterPeers want now, each with its addresses ({@code host:port}, already checked): links to
     * addresses not wanted any more are closed, new ones dialled. Idempotent; the configured peers are not touched.
     */
    void peersWanted(Map<ClusterId, List<String>> addresses);

    /** How the links to {@code peer} are now; empty when there is none yet. */
    Optional<LinkReport> linkOf(ClusterId peer, List<String> addresses);

    /** The clusterset CA certificate (PEM) peering trusts, to tell a ClusterPeer whose CA bundle differs. */
    Optional<String> clustersetCa();

    /**
     * @param state    {@code Up}, {@code Connecting} or {@code Down} (the best of the peer's links)
     * @param detail   what the mesh view says about it (the last error of a link that is down)
     * @param rtt      the last heartbeat round trip, when one came back
     * @param lastSeen the last message from the peer, when any
     */
    record LinkReport(String state, String detail, Optional<Duration> rtt, Optional<Instant> lastSeen) {
    }
}
