package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.api.ClusterBackends;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.ExportConflict;
import io.isthmus.api.ImportedService;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServicePort;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.peering.MeshView;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.typed.Cluster;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** Renders {@code /api/v1/status} and the export and import listings as JSON. */
final class StatusReport {
    private final ObjectMapper json;

    StatusReport(ObjectMapper json) {
        this.json = json;
    }

    ObjectNode status(Gateway gateway) {
        MeshView.Snapshot mesh = gateway.mesh();
        ObjectNode root = json.createObjectNode();
        root.put("clusterId", gateway.config().clusterId().value());
        List<String> notReady = gateway.notReadyReasons();
        root.put("ready", notReady.isEmpty());
        ArrayNode reasons = root.putArray("notReady");
        notReady.forEach(reasons::add);

        ArrayNode replicas = root.putArray("replicas");
        Cluster cluster = Cluster.get(gateway.system());
        for (Member member : cluster.state().getMembers()) {
            ObjectNode replica = replicas.addObject();
            replica.put("address", member.address().toString());
            replica.put("status", member.status().toString());
            replica.put("self", member.equals(cluster.selfMember()));
        }

        ObjectNode listening = root.putObject("listening");
        listening.put("admin", HostPort.format(gateway.adminAddress()));
        listening.put("peering", HostPort.format(gateway.peeringAddress()));
        listening.put("dns", gateway.dns() == null ? "-" : HostPort.format(gateway.dns().localAddress()));
        listening.put("replicas", gateway.config().replicas().listen().toString());

        var crl = gateway.tls().currentCrl();
        var nextUpdate = gateway.tls().crlNextUpdate();
        root.putObject("revocation").put("crlNumber", crl.number().longValue())
                .put("crlNextUpdate", nextUpdate.map(Object::toString).orElse(null))
                .put("crlStale", nextUpdate.map(java.time.Instant.now()::isAfter).orElse(false));

        ArrayNode peers = root.putArray("peers");
        mesh.links().values().stream().sorted(Comparator.comparing(MeshView.Link::id)).forEach(link -> {
            ObjectNode peer = peers.addObject();
            peer.put("link", link.id());
            peer.put("direction", link.direction().name().toLowerCase());
            peer.put("address", link.address());
            peer.put("cluster", link.remote() == null ? null : link.remote().value());
            peer.put("state", link.state().label());
            peer.put("since", text(link.since()));
            peer.put("lastMessageAt", text(link.lastMessageAt()));
            peer.put("detail", link.detail());
            if (link.rtt() != null) {
                peer.put("rttMillis", link.rtt().toNanos() / 1e6);
            }
            peer.put("sentVersion", link.sentVersion());
            peer.put("ackedVersion", link.ackedVersion());
            MeshView.RemoteExports remote = link.remote() == null ? null : mesh.imports().get(link.remote());
            peer.put("lastSyncAt", remote == null ? null : text(remote.receivedAt()));
            if (remote != null) {
                peer.put("remoteVersion", remote.version());
            }
        });

        ObjectNode exports = root.putObject("exports");
        exports.put("version", mesh.own().version());
        exports.put("count", mesh.own().size());

        ObjectNode imports = root.putObject("imports");
        long importedServices = mesh.directory().services().values().stream()
                .filter(s -> s.clusters().stream().anyMatch(c -> !c.cluster().equals(mesh.self()))).count();
        imports.put("count", importedServices);
        ArrayNode fromClusters = imports.putArray("clusters");
        java.util.SortedSet<ClusterId> origins = new java.util.TreeSet<>(mesh.imports().keySet());
        origins.addAll(mesh.refusals().keySet());
        for (ClusterId origin : origins) {
            MeshView.RemoteExports remote = mesh.imports().get(origin);
            ObjectNode from = fromClusters.addObject();
            from.put("cluster", origin.value());
            from.put("version", remote == null ? 0 : remote.version());
            from.put("exports", remote == null ? 0 : remote.exportSet().size());
            from.put("denied", remote == null ? 0 : remote.denied().size());
            from.put("endpoints", remote == null ? 0 : remote.endpoints());
            from.put("receivedAt", remote == null ? null : text(remote.receivedAt()));
            from.put("unreachableSince", remote == null ? null : text(remote.unreachableSince()));
            from.put("served", remote != null && !remote.withdrawn());
            from.set("conditions", importConditions(remote, mesh.refusals().get(origin),
                    gateway.config().peering().limits().importNamespaces()));
        }
        endpointFilter(imports, gateway.importFilter());
        ArrayNode conflicts = root.putArray("conflicts");
        mesh.directory().services().values().stream().sorted(Comparator.comparing(ImportedService::key))
                .forEach(service -> service.conflicts().forEach(conflict -> conflicts.add(conflict(service, conflict))));
        gateway.kubernetes().ifPresent(k8s -> {
            var sync = k8s.status();
            root.putObject("kubernetes").put("apiServer", sync.apiServer()).put("synced", sync.synced())
                    .put("watching", sync.watching()).put("serviceExports", sync.serviceExports())
                    .put("offered", sync.offered()).put("serviceImports", sync.serviceImports())
                    .put("importedSlices", sync.importedSlices()).put("lastFullResyncAt", text(sync.lastFullResyncAt()))
                    .put("lastError", sync.lastError()).put("lastErrorAt", text(sync.lastErrorAt()));
        });
        ObjectNode dns = root.putObject("dns");
        dns.put("zone", gateway.config().dns().zone());
        dns.put("udpPath", gateway.dns() == null ? "-" : gateway.dns().udpPath());
        dns.put("locality", gateway.config().dns().locality().label());
        dns.put("forwarding", gateway.config().dns().forwarding().enabled()
                ? gateway.config().dns().forwarding().upstreams().toString() : "off");
        root.set("tunnel", io.isthmus.gateway.tunnel.TunnelStatus.json(json, gateway.tunnel()));
        return root;
    }

    /**
     * A peer cluster's import conditions: QuotaExceeded (its last snapshot or delta was refused for a quota; what
     * was accepted before is still served) and NamespaceDenied (exports into namespaces that take no imports).
     */
    private ArrayNode importConditions(MeshView.RemoteExports remote, MeshView.ImportRefusal refusal,
                                       io.isthmus.gateway.peering.PeeringLimits.ImportNamespaces namespaces) {
        ArrayNode conditions = json.createArrayNode();
        ObjectNode quota = conditions.addObject().put("type", "QuotaExceeded")
                .put("status", refusal == null ? "False" : "True");
        if (refusal != null) {
            quota.put("reason", refusal.quota().label()).put("limit", refusal.limit())
                    .put("requested", refusal.requested()).put("since", text(refusal.at()))
                    .put("message", refusal.message());
        }
        ObjectNode denied = conditions.addObject().put("type", "NamespaceDenied");
        if (remote == null || remote.denied().size() == 0) {
            denied.put("status", "False");
            return conditions;
        }
        java.util.SortedMap<String, Integer> byNamespace = new java.util.TreeMap<>();
        remote.denied().forEach((key, export) -> byNamespace.merge(key.namespace(), 1, Integer::sum));
        ArrayNode names = denied.put("status", "True").put("count", remote.denied().size()).putArray("namespaces");
        byNamespace.keySet().stream().limit(20).forEach(names::add);
        StringBuilder message = new StringBuilder();
        byNamespace.entrySet().stream().limit(5).forEach(entry -> message.append(message.isEmpty() ? "" : "; ")
                .append(entry.getValue()).append(entry.getValue() == 1 ? " export" : " exports").append(" not imported: ")
                .append(namespaces.whyNot(entry.getKey())));
        if (byNamespace.size() > 5) {
            message.append("; and ").append(byNamespace.size() - 5).append(" more namespaces");
        }
        denied.put("message", message.toString());
        return conditions;
    }

    /**
     * The endpoint filter as a condition: {@code EndpointsAdmitted} is False while endpoints are refused (or all are,
     * the plan being unknown), with what and why; the first 100 refused endpoints are listed.
     */
    private void endpointFilter(ObjectNode imports, io.isthmus.gateway.peering.ImportFilter filter) {
        if (filter == null) {
            return;
        }
        ObjectNode node = imports.putObject("endpointFilter");
        node.put("state", filter.scope().state().label());
        node.put("rule", filter.scope().describe());
        int count = filter.refusedCount();
        node.put("refusedCount", count);
        ArrayNode refused = node.putArray("refused");
        filter.refused().forEach((cluster, list) -> list.stream().limit(Math.max(0, 100 - refused.size()))
                .forEach(r -> refused.addObject().put("cluster", cluster.value()).put("service", r.service().toString())
                        .put("ip", r.ip().getHostAddress()).put("reason", r.reason().label())));
        boolean unknown = filter.scope().state() == io.isthmus.gateway.peering.EndpointScope.State.PLAN_UNKNOWN
                || filter.scope().state() == io.isthmus.gateway.peering.EndpointScope.State.NO_PLAN_REFUSE;
        String message = count == 0 ? (unknown ? filter.scope().describe() : "")
                : count + " endpoint(s) of peers refused: " + filter.refused().entrySet().stream()
                        .map(e -> e.getKey() + ": " + e.getValue().stream().limit(5).map(Object::toString)
                                .reduce((a, b) -> a + ", " + b).orElse("") + (e.getValue().size() > 5 ? ", ..." : ""))
                        .reduce((a, b) -> a + "; " + b).orElse("") + (unknown ? " (" + filter.scope().describe() + ")" : "");
        node.putObject("condition").put("type", "EndpointsAdmitted").put("status", count == 0 && !unknown ? "True" : "False")
                .put("reason", count > 0 ? "EndpointsRefused" : unknown ? "PlanUnknown" : "AllAdmitted")
                .put("message", message);
    }

    ArrayNode exports(MeshView.Snapshot mesh) {
        ArrayNode out = json.createArrayNode();
        for (ServiceExport export : mesh.own().exports()) {
            ObjectNode node = export(export, mesh.self());
            // MCS conditions: Conflict on every export involved in a conflict, Valid otherwise.
            ArrayNode conditions = node.putArray("conditions");
            ImportedService merged = mesh.directory().find(export.key()).orElse(null);
            List<ExportConflict> mine = merged == null ? List.of()
                    : merged.conflicts().stream().filter(c -> c.involves(mesh.self())).toList();
            conditions.addObject().put("type", "Valid").put("status", "True");
            conditions.addObject().put("type", "Conflict").put("status", mine.isEmpty() ? "False" : "True")
                    .put("message", mine.stream().map(ExportConflict::message).reduce((a, b) -> a + "; " + b).orElse(""));
            out.add(node);
        }
        return out;
    }

    private ObjectNode conflict(ImportedService service, ExportConflict conflict) {
        return json.createObjectNode()
                .put("service", service.key().toString())
                .put("field", conflict.field())
                .put("winner", conflict.winner().value())
                .put("loser", conflict.loser().value())
                .put("message", conflict.message());
    }

    ObjectNode export(ServiceExport export, ClusterId cluster) {
        ObjectNode node = json.createObjectNode();
        node.put("cluster", cluster.value());
        node.put("namespace", export.key().namespace());
        node.put("name", export.key().name());
        node.put("type", export.type().label());
        ArrayNode ports = node.putArray("ports");
        export.ports().stream().map(ServicePort::toString).forEach(ports::add);
        ArrayNode ips = node.putArray("ips");
        export.endpoints().stream().map(Endpoint::toString).forEach(ips::add);
        node.put("exportedAt", text(export.exportedAt()));
        ArrayNode to = node.putArray("offeredTo");
        export.offeredTo().forEach(target -> to.add(target.value()));
        return node;
    }

    ArrayNode imports(MeshView.Snapshot mesh) {
        ArrayNode out = json.createArrayNode();
        for (ImportedService service : mesh.directory().services().values().stream()
                .sorted(Comparator.comparing(ImportedService::key)).toList()) {
            ObjectNode node = out.addObject();
            node.put("namespace", service.key().namespace());
            node.put("name", service.key().name());
            node.put("type", service.type().label());
            ArrayNode ports = node.putArray("ports");
            service.ports().stream().map(ServicePort::toString).forEach(ports::add);
            ArrayNode conflicts = node.putArray("conflicts");
            service.conflicts().forEach(conflict -> conflicts.add(conflict(service, conflict)));
            ArrayNode clusters = node.putArray("clusters");
            for (ClusterBackends backends : service.clusters()) {
                ObjectNode c = clusters.addObject();
                c.put("cluster", backends.cluster().value());
                ArrayNode ips = c.putArray("ips");
                backends.endpoints().stream().map(Endpoint::toString).forEach(ips::add);
            }
        }
        return out;
    }

    private static String text(Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
