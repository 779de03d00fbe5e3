package io.isthmus.gateway.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.peering.ImportFilter;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeeringLimits;
import io.isthmus.gateway.pki.Revocations;

import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What {@code /api/v1/status} reads, each part as narrow as the report needs; the gateway builds it from its parts.
 *
 * @param listening  what the other listeners are bound to ({@code admin} is added by the admin server itself)
 * @param sections   further top-level objects in this order (kubernetes, dns, tunnel): each part reports itself;
 *                   an empty section is left out
 */
public record StatusSources(ClusterId self, Supplier<MeshView.Snapshot> mesh, Supplier<List<String>> notReady,
                            Supplier<List<ReplicaMember>> replicas, Listening listening, Revocations revocations,
                            PeeringLimits.ImportNamespaces importNamespaces, Supplier<ImportFilter> importFilter,
                            List<Section> sections) {

    /** A replica of this cluster as its Pekko cluster sees it. */
    public record ReplicaMember(String address, String status, boolean self) {
    }

    public record Listening(String peering, String dns, String replicas) {
    }

    public record Section(String name, Supplier<Optional<JsonNode>> render) {
    }
}
