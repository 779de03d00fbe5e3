package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Endpoint learning, and with it the engine's table of peers: every key message carries the UDP endpoint its sender's
 * gateway receives on, so a peer is added to the {@link TunnelEngine} at the endpoint of its first message and
 * follows it when it moves (a restart on another node). Each peer in the engine carries the ranges it was last given.
 *
 * <p>Not thread-safe: owned by the data plane's event loop.
 */
final class PeerEndpoints {
    private static final TunnelLog log = new TunnelLog(PeerEndpoints.class);
    static final String FIELD = "tunnel-message.endpoint";

    private record InEngine(InetSocketAddress endpoint, List<Cidr> ranges) {
    }

    private final TunnelEngine engine;
    private final Map<ClusterId, InEngine> peers = new HashMap<>();

    PeerEndpoints(TunnelEngine engine) {
        this.engine = engine;
    }

    /** {@code IP:PORT} or {@code [IPv6]:PORT}, a unicast IP literal (no name is ever looked up). */
    static InetSocketAddress parse(String text) {
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            throw new InvalidFieldException(FIELD, text, "must be IP:PORT or [IPv6]:PORT");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new InvalidFieldException(FIELD, text, "an IPv6 address must be in brackets: [IPv6]:PORT");
        }
        InetAddress ip = IpLiteral.parse(FIELD, host);
        if (ip.isAnyLocalAddress() || ip.isMulticastAddress()) {
            throw new InvalidFieldException(FIELD, text, "must be a unicast address");
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 1 || port > 65535) {
            throw new InvalidFieldException(FIELD, text, "the port must be 1..65535");
        }
        return new InetSocketAddress(ip, port);
    }

    /** {@code IP:PORT} or {@code [IPv6]:PORT}; "-" for none. */
    static String format(InetSocketAddress endpoint) {
        if (endpoint == null) {
            return "-";
        }
        String ip = IpLiteral.format(endpoint.getAddress());
        return (ip.contains(":") ? "[" + ip + "]" : ip) + ":" + endpoint.getPort();
    }

    /**
     * The peer's gateway says it receives at {@code endpoint}: a new peer enters the engine there with
     * {@code ranges} (with none, when they clash with another peer's: the next reconcile says what clashes).
     *
     * @return true when the peer is new in the engine (its routes are due)
     */
    boolean learn(ClusterId cluster, InetSocketAddress endpoint, List<Cidr> ranges) {
        InEngine known = peers.get(cluster);
        if (known != null) {
            if (!known.endpoint().equals(endpoint)) {
                engine.updatePeer(cluster, endpoint, known.ranges());
                peers.put(cluster, new InEngine(endpoint, known.ranges()));
                log.info("peer %s moved to %s", cluster, format(endpoint));
            }
            return false;
        }
        List<Cidr> given = ranges;
        try {
            engine.addPeer(cluster, endpoint, given);
        } catch (InvalidFieldException e) {
            given = List.of();
            engine.addPeer(cluster, endpoint, given);
        }
        peers.put(cluster, new InEngine(endpoint, given));
        log.info("peer %s at %s, ranges %s", cluster, format(endpoint), given);
        return true;
    }

    /**
     * Gives a peer in the engine new ranges.
     *
     * @throws InvalidFieldException when another peer still holds an overlapping range (nothing changed)
     */
    void route(ClusterId cluster, List<Cidr> ranges) {
        InEngine known = peers.get(cluster);
        if (known == null || known.ranges().equals(ranges)) {
            return;
        }
        engine.updatePeer(cluster, known.endpoint(), ranges);
        peers.put(cluster, new InEngine(known.endpoint(), List.copyOf(ranges)));
        log.info("ranges of %s now %s", cluster, ranges);
    }

    /** Takes a peer out of the engine (its sessions end); false when it was not in it. */
    boolean remove(ClusterId cluster) {
        if (peers.remove(cluster) == null) {
            return false;
        }
        engine.removePeer(cluster);
        return true;
    }

    boolean inEngine(ClusterId cluster) {
        return peers.containsKey(cluster);
    }

    Set<ClusterId> clusters() {
        return Set.copyOf(peers.keySet());
    }

    /** Every range given to a peer in the engine → that peer: what the kernel routes into the device. */
    Map<Cidr, ClusterId> routed() {
        Map<Cidr, ClusterId> routed = new LinkedHashMap<>();
        peers.forEach((cluster, peer) -> peer.ranges().forEach(range -> routed.put(range, cluster)));
        return routed;
    }
}
