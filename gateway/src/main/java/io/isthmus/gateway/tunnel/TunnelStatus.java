package io.isthmus.gateway.tunnel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.Cidr;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.tunnel.DropReason;
import io.isthmus.tunnel.PeerStats;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.TunnelStats;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The tunnel's part of {@code /api/v1/status} (JSON) and of {@code isthmus status} (text). */
public final class TunnelStatus {
    private TunnelStatus() {
    }

    /** {@code enabled: false} when this replica runs no tunnel. */
    public static ObjectNode json(ObjectMapper json, Optional<TunnelDataPlane> tunnel) {
        ObjectNode node = json.createObjectNode();
        node.put("enabled", tunnel.isPresent());
        if (tunnel.isEmpty()) {
            return node;
        }
        TunnelDataPlane plane = tunnel.get();
        node.put("device", plane.device());
        node.put("namespace", plane.namespace());
        node.put("dataPath", plane.dataPath());
        node.put("policy", plane.policy());
        ObjectNode xdp = node.putObject("xdp");
        xdp.put("active", plane.underlayFilter().active());
        xdp.put("path", plane.underlayFilter().describe());
        ObjectNode xdpCounts = xdp.putObject("packets");
        plane.underlayFilter().counts().forEach(count ->
                xdpCounts.put(count.verdict() + "_" + count.reason(), count.packets()));
        node.put("listen", HostPort.format(plane.localAddress()));
        node.put("advertised", HostPort.format(plane.advertised()));
        node.put("mtu", plane.mtu());
        node.put("overheadBytes", io.isthmus.tunnel.WireFormat.OVERHEAD);
        ArrayNode routes = node.putArray("routes");
        plane.installedRoutes().stream().map(Cidr::toString).forEach(routes::add);
        ArrayNode translation = node.putArray("translation");
        plane.routes().translation().mappings().forEach(m ->
                translation.addObject().put("real", m.real().toString()).put("global", m.global().toString()));
        ArrayNode problems = node.putArray("problems");
        plane.routes().problems().forEach(problems::add);
        plane.routeErrors().forEach(problems::add);
        plane.blockedRoutes().forEach(problems::add);
        plane.unanswered().forEach(problems::add);
        TunnelStats stats = plane.stats();
        ArrayNode peers = node.putArray("peers");
        for (PeerStats peer : stats.peers()) {
            ObjectNode p = peers.addObject();
            p.put("cluster", peer.cluster().value());
            p.put("endpoint", HostPort.format(peer.endpoint()));
            ArrayNode ranges = p.putArray("ranges");
            plane.routes().ranges().getOrDefault(peer.cluster(), List.of()).forEach(r -> ranges.add(r.toString()));
            p.put("sentPackets", peer.sentPackets());
            p.put("sentBytes", peer.sentBytes());
            p.put("receivedPackets", peer.receivedPackets());
            p.put("receivedBytes", peer.receivedBytes());
            peer.handshakeAge().ifPresent(age -> p.put("handshakeAgeSeconds", age.toMillis() / 1000.0));
            p.put("epoch", peer.epoch());
            p.put("wireVersion", peer.wireVersion());
            ObjectNode drops = p.putObject("drops");
            for (DropReason reason : DropReason.values()) {
                drops.put(TunnelMetrics.label(reason), peer.drops(reason));
            }
        }
        ObjectNode unattributed = node.putObject("unattributedDrops");
        for (DropReason reason : DropReason.values()) {
            unattributed.put(TunnelMetrics.label(reason), stats.unattributed(reason));
        }
        return node;
    }

    /** The lines {@code isthmus status} prints for the tunnel. */
    public static String text(JsonNode tunnel) {
        StringBuilder out = new StringBuilder();
        if (tunnel.isMissingNode() || !tunnel.path("enabled").asBoolean()) {
            return "tunnel     off (isthmus.tunnel.enabled = false)\n";
        }
        out.append("tunnel     ").append(tunnel.path("device").asText());
        if (!tunnel.path("namespace").asText().isEmpty()) {
            out.append(" (netns ").append(tunnel.path("namespace").asText()).append(')');
        }
        out.append("  listen ").append(tunnel.path("listen").asText())
                .append("  advertised ").append(tunnel.path("advertised").asText())
                .append("  mtu ").append(tunnel.path("mtu").asInt()).append('\n');
        out.append("           data path: ").append(tunnel.path("dataPath").asText()).append('\n');
        out.append("           policy: ").append(tunnel.path("policy").asText("none (allow all)")).append('\n');
        if (!tunnel.path("xdp").isMissingNode()) {
            JsonNode xdp = tunnel.path("xdp");
            out.append("           underlay pre-filter: ").append(xdp.path("path").asText()).append('\n');
            if (xdp.path("active").asBoolean()) {
                JsonNode packets = xdp.path("packets");
                out.append("             passed ").append(packets.path("passed_tunnel").asLong()).append(" tunnel, ")
                        .append(packets.path("passed_unannounced_source").asLong())
                        .append(" from unannounced sources on a live session (NAT or roaming); dropped ")
                        .append(drops(dropped(packets))).append('\n');
            }
        }
        out.append("           ").append(tunnel.path("routes").size()).append(" routes into the device");
        if (!tunnel.path("translation").isEmpty()) {
            out.append("; translating");
            tunnel.path("translation").forEach(m -> out.append(' ').append(m.path("real").asText()).append("->")
                    .append(m.path("global").asText()));
        }
        out.append('\n');
        tunnel.path("problems").forEach(p -> out.append("           ! ").append(p.asText()).append('\n'));
        for (JsonNode peer : tunnel.path("peers")) {
            out.append("  peer ").append(peer.path("cluster").asText()).append(" at ")
                    .append(peer.path("endpoint").asText()).append("  handshake ")
                    .append(peer.has("handshakeAgeSeconds")
                            ? String.format(Locale.ROOT, "%.0fs ago (epoch %d, wire version %d)",
                            peer.path("handshakeAgeSeconds").asDouble(), peer.path("epoch").asLong(),
                            peer.path("wireVersion").asInt()) : "none yet").append('\n');
            out.append("       sent ").append(peer.path("sentPackets").asLong()).append(" pkts / ")
                    .append(peer.path("sentBytes").asLong()).append(" B  received ")
                    .append(peer.path("receivedPackets").asLong()).append(" pkts / ")
                    .append(peer.path("receivedBytes").asLong()).append(" B  ranges ");
            List<String> ranges = new java.util.ArrayList<>();
            peer.path("ranges").forEach(r -> ranges.add(r.asText()));
            out.append(ranges.isEmpty() ? "none" : String.join(" ", ranges)).append('\n');
            out.append("       drops ").append(drops(peer.path("drops"))).append('\n');
        }
        out.append("  drops without a peer ").append(drops(tunnel.path("unattributedDrops"))).append('\n');
        return out.toString();
    }

    /** The {@code dropped_*} entries of the XDP counts, without the prefix. */
    private static JsonNode dropped(JsonNode packets) {
        ObjectNode out = new ObjectMapper().createObjectNode();
        packets.properties().forEach(e -> {
            if (e.getKey().startsWith("dropped_")) {
                out.put(e.getKey().substring("dropped_".length()), e.getValue().asLong());
            }
        });
        return out;
    }

    /** "none", or "replay 3, auth_failure 1". */
    private static String drops(JsonNode drops) {
        StringBuilder out = new StringBuilder();
        drops.properties().forEach(e -> {
            if (e.getValue().asLong() > 0) {
                out.append(out.isEmpty() ? "" : ", ").append(e.getKey()).append(' ').append(e.getValue().asLong());
            }
        });
        return out.isEmpty() ? "none" : out.toString();
    }
}
