package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A snapshot of the whole data plane: each peer's {@link PeerStats}, and the drops no peer can be blamed for
 * (datagrams with an unknown receiver index or too short to carry one, outbound packets with no route).
 */
public record TunnelStats(List<PeerStats> peers, Map<DropReason, Long> unattributedDrops) {
    public Optional<PeerStats> peer(ClusterId cluster) {
        return peers.stream().filter(p -> p.cluster().equals(cluster)).findFirst();
    }

    public long unattributed(DropReason reason) {
        return unattributedDrops.getOrDefault(reason, 0L);
    }
}
