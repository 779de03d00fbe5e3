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
import io.isthmus.gateway.peering.MeshView;

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

    ObjectNode status(StatusSources sources, String adminAddress) {
        MeshView.Snapshot mesh = sources.mesh().get();
        ObjectNode root = json.createObjectNode();
        root.put("clusterId", sources.self().value());
        List<String> notReady = sources.notReady().get();
        root.put("ready", notReady.isEmpty());
        ArrayNode reasons = root.putArray("notReady");
        notReady.forEach(reasons::add);

        ArrayNode replicas = root.putArray("replicas");
        for (StatusSources.ReplicaMember member : sources.replicas().get()) {
            replicas.addObject().put("address", member.address()).put("status", member.status())
                    .put("self", member.self());
        }

        root.putObject("listening").put("admin", adminAddress).put("peering", sources.listening().peering())
                .put("dns", sources.listening().dns()).put("replicas", sources.listening().replicas());

        var crl = sources.revocations().currentCrl();
        var nextUpdate = sources.revocations().crlNextUpdate();
        boolean stale = nextUpdate.map(java.time.Instant.now()::isAfter).orElse(false);
        boolean refusing = stale && sources.revocations().staleCrlPolicy() == io.isthmus.gateway.pki.StaleCrl.REFUSE;
        root.putObject("revocation").put("crlNumber", crl.number().longValue())
                .put("crlNextUpdate", nextUpdate.map(Object::toString).orElse(null))
                .put("crlStale", stale)
                .put("staleCrl", sources.revocations().staleCrlPolicy().label())
                .put("refusingNewPeers", refusing)
                .put("detail", refusing ? "new peering handshakes are refused: CRL number " + crl.number()
                        + " was due to be replaced at its nextUpdate " + nextUpdate.orElseThrow()
                        + " (peering.revocation.stale-crl = refuse); give the gateway a newer CRL" : null);

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
            if (link.clockSkew() != null) { // the peer's clock minus ours, give or take the bound
                peer.put("clockSkewMillis", link.clockSkew().offset().toNanos() / 1e6);
                peer.put("clockSkewBoundMillis", link.clockSkew().bound().toNanos() / 1e6);
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
            from.set("conditions", importConditions(remote, mesh.refusals().get(origin), sources.importNamespaces()));
        }
        endpointFilter(imports, sources.importFilter().get());
        ArrayNode conflicts = root.putArray("conflicts");
        mesh.directory().services().values().stream().sorted(Comparator.comparing(ImportedService::key))
                .forEach(service -> service.conflicts().forEach(conflict -> conflicts.add(conflict(service, conflict))));
        for (StatusSources.Section section : sources.sections()) {
            section.render().get().ifPresent(node -> root.set(section.name(), node));
        }
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
