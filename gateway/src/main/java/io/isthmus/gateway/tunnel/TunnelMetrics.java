package io.isthmus.gateway.tunnel;

import io.isthmus.api.ClusterId;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.tunnel.DataPlaneEvents;
import io.isthmus.tunnel.DropReason;
import io.isthmus.tunnel.PeerStats;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.TunnelStats;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The tunnel in {@code /metrics}: per peer, packets and bytes each way, drops by reason (and the drops no peer can
 * be blamed for, under {@code peer="-"}), handshake age and key messages; the policy stage's unreadable packets and
 * connection tracking (entries, capacity, answers passed, evictions); the data path as an info gauge. Read from
 * the engine's own counters at scrape time; the key messages and blocked routes are the data plane's events.
 */
final class TunnelMetrics implements DataPlaneEvents {
    static final String NO_PEER = "-";

    private final Metrics metrics;
    private final Metrics.Counter keyMessages;
    private final Metrics.Counter keyRejections;
    private final Metrics.Counter routesBlocked;
    private final Metrics.Histogram rekeySeconds;

    /** The counters; the gauges over the data plane come with {@link #watch}, once it runs. */
    TunnelMetrics(Metrics metrics) {
        this.metrics = metrics;
        this.keyMessages = metrics.counter("isthmus_tunnel_key_messages_total",
                "Key exchange messages on the peering stream, by peer cluster, kind and direction.",
                "peer", "kind", "direction");
        this.keyRejections = metrics.counter("isthmus_tunnel_key_messages_rejected_total",
                "Key exchange messages refused or not sent, by peer cluster and reason.", "peer", "reason");
        this.routesBlocked = metrics.counter("isthmus_tunnel_routes_blocked_total",
                "Peer ranges not routed because a route the gateway did not install is there (left alone), "
                        + "by peer cluster; counted when first found.", "peer");
        this.rekeySeconds = metrics.histogram("isthmus_tunnel_rekey_seconds",
                "Time from sending a key offer (first keys or a rekey) to installing the session on its KEY_ACCEPT.",
                Metrics.DEFAULT_SECONDS_BUCKETS);
    }

    @Override
    public void rekeyed(ClusterId peer, java.time.Duration took) {
        rekeySeconds.observe(took);
    }

    /** Packets, bytes, drops, handshake age, routes and the data path, read from {@code plane} at scrape time. */
    void watch(TunnelDataPlane plane) {
        perPeer(metrics, plane, "isthmus_tunnel_sent_packets_total",
                "Inner packets sealed and sent to each peer cluster.", PeerStats::sentPackets);
        perPeer(metrics, plane, "isthmus_tunnel_sent_bytes_total",
                "Inner bytes sealed and sent to each peer cluster.", PeerStats::sentBytes);
        perPeer(metrics, plane, "isthmus_tunnel_received_packets_total",
                "Inner packets from each peer cluster opened and delivered.", PeerStats::receivedPackets);
        perPeer(metrics, plane, "isthmus_tunnel_received_bytes_total",
                "Inner bytes from each peer cluster opened and delivered.", PeerStats::receivedBytes);
        metrics.counterFunction("isthmus_tunnel_drops_total", "Packets the tunnel dropped, by peer cluster and "
                        + "reason (peer \"-\": none can be blamed, e.g. an unknown receiver index or no route).",
                List.of("peer", "reason"), () -> drops(plane.stats()));
        metrics.gauge("isthmus_tunnel_handshake_age_seconds", "Age of the session each peer's packets are sealed "
                + "with (rekeyed every rekey-after-time); absent before the first handshake.", List.of("peer"), () -> {
            Map<List<String>, Double> out = new HashMap<>();
            for (PeerStats peer : plane.stats().peers()) {
                peer.handshakeAge().ifPresent(age -> out.put(List.of(peer.cluster().value()), age.toNanos() / 1e9));
            }
            return out;
        });
        metrics.gauge("isthmus_tunnel_routes", "Ranges routed into the tunnel device, per peer cluster.",
                List.of("peer"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    plane.routes().ranges().forEach((cluster, ranges) ->
                            out.put(List.of(cluster.value()), (double) ranges.size()));
                    return out;
                });
        metrics.counterFunction("isthmus_tunnel_policy_unreadable_total", "Inner packets the policy stage denied "
                        + "because their headers could not be read to the port.", List.of(),
                () -> Map.of(List.of(), (double) plane.policyCounters().unreadable()));
        metrics.gauge("isthmus_tunnel_conntrack_entries", "Flows the policy stage tracks now (allowed either way, "
                + "not expired), whose answers may pass.", List.of(),
                () -> Map.of(List.of(), (double) plane.policyCounters().trackedFlows()));
        metrics.gauge("isthmus_tunnel_conntrack_capacity", "Flows the policy stage's connection tracker holds at most "
                + "(tunnel.connection-tracking.capacity).", List.of(),
                () -> Map.of(List.of(), (double) plane.policyCounters().trackingCapacity()));
        metrics.counterFunction("isthmus_tunnel_conntrack_replies_total", "Packets the policy denied as flows of "
                        + "their own that passed as answers of tracked flows.", List.of(),
                () -> Map.of(List.of(), (double) plane.policyCounters().trackedReplies()));
        metrics.counterFunction("isthmus_tunnel_conntrack_evictions_total", "Tracked flows pushed out, still live, "
                        + "by new ones where the tracker was full (raise tunnel.connection-tracking.capacity).", List.of(),
                () -> Map.of(List.of(), (double) plane.policyCounters().evictions()));
        metrics.counterFunction("isthmus_tunnel_xdp_packets_total", "Datagrams the XDP pre-filter on the underlay "
                        + "interface passed or dropped, by verdict and reason (absent when tunnel.xdp is off or XDP is "
                        + "unavailable; see isthmus_tunnel_xdp_info).", List.of("verdict", "reason"), () -> {
                    Map<List<String>, Double> out = new HashMap<>();
                    plane.underlayFilter().counts().forEach(count ->
                            out.put(List.of(count.verdict(), count.reason()), (double) count.packets()));
                    return out;
                });
        metrics.gauge("isthmus_tunnel_xdp_info", "The XDP pre-filter (always 1): running says whether it runs, path "
                + "how (mode, interface) or why not.", List.of("path", "running"), () -> Map.of(
                List.of(plane.underlayFilter().describe(), String.valueOf(plane.underlayFilter().active())), 1.0));
        metrics.gauge("isthmus_tunnel_info", "The tunnel's data path: device, TUN queues, offloads or plain, suite.",
                List.of("device", "data_path"), () -> Map.of(List.of(plane.device(), plane.dataPath()), 1.0));
    }

    @Override
    public void routeBlocked(ClusterId peer) {
        routesBlocked.inc(peer.value());
    }

    private static void perPeer(Metrics metrics, TunnelDataPlane plane, String name, String help,
                                ToLongFunction<PeerStats> value) {
        metrics.counterFunction(name, help, List.of("peer"), () -> {
            Map<List<String>, Double> out = new HashMap<>();
            for (PeerStats peer : plane.stats().peers()) {
                out.put(List.of(peer.cluster().value()), (double) value.applyAsLong(peer));
            }
            return out;
        });
    }

    private static Map<List<String>, Double> drops(TunnelStats stats) {
        Map<List<String>, Double> out = new HashMap<>();
        for (PeerStats peer : stats.peers()) {
            for (DropReason reason : DropReason.values()) {
                out.put(List.of(peer.cluster().value(), label(reason)), (double) peer.drops(reason));
            }
        }
        for (DropReason reason : DropReason.values()) {
            out.put(List.of(NO_PEER, label(reason)), (double) stats.unattributed(reason));
        }
        return out;
    }

    static String label(DropReason reason) {
        return reason.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void keyMessageSent(ClusterId peer, TunnelMessage.KindCase kind) {
        keyMessages.inc(peer.value(), kind.name().toLowerCase(Locale.ROOT), "sent");
    }

    @Override
    public void keyMessageReceived(ClusterId peer, TunnelMessage.KindCase kind) {
        keyMessages.inc(peer.value(), kind.name().toLowerCase(Locale.ROOT), "received");
    }

    @Override
    public void keyMessageRefused(ClusterId peer, String reason) {
        keyRejections.inc(peer.value(), reason);
    }
}
