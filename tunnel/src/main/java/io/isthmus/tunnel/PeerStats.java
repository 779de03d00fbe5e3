package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * What the data plane did with one peer, at one moment: for {@code /metrics} and {@code isthmus status}.
 *
 * @param sentPackets     inner packets sealed and handed to the socket
 * @param sentBytes       their inner bytes
 * @param receivedPackets inner packets opened and written to the local side (keepalives not counted)
 * @param receivedBytes   their inner bytes
 * @param drops           dropped packets by reason (every reason present, zero included)
 * @param handshakeAge    time since the session in use was made; empty before the first
 * @param epoch           epoch of the session in use, 0 before the first
 * @param wireVersion     the header version of the session in use ({@link WireFormat}); 0 also before the first
 */
public record PeerStats(ClusterId cluster, InetSocketAddress endpoint, long sentPackets, long sentBytes,
                        long receivedPackets, long receivedBytes, Map<DropReason, Long> drops,
                        Optional<Duration> handshakeAge, long epoch, int wireVersion) {
    public long drops(DropReason reason) {
        return drops.getOrDefault(reason, 0L);
    }
}
