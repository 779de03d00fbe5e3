package io.isthmus.gateway.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.isthmus.policy.CrossClusterDefault;
import io.isthmus.policy.PolicyBook;

/** The policy part of {@code /api/v1/status} (JSON) and of {@code isthmus status} (text). */
public final class PolicyStatus {
    private PolicyStatus() {
    }

    /**
     * @param enforced what the data path enforces, in words (the tunnel's policy stage), or why nothing is enforced
     */
    public static ObjectNode json(ObjectMapper json, PolicyStore store, CrossClusterDefault crossClusterDefault,
                                  String enforced) {
        PolicyBook book = store.book();
        ObjectNode node = json.createObjectNode().put("version", book.version())
                .put("policies", book.policies().size()).put("crossClusterDefault", crossClusterDefault.label())
                .put("enforced", enforced);
        ObjectNode peers = node.putObject("peers");
        store.peerVersions().forEach((peer, version) -> peers.put(peer.value(), version));
        return node;
    }

    /** The lines {@code isthmus status} prints: this cluster's version, and the peers that hold another. */
    public static String text(JsonNode policy) {
        if (policy.isMissingNode()) {
            return "";
        }
        String version = policy.path("version").asText();
        StringBuilder out = new StringBuilder("policy     version ").append(version).append("  (")
                .append(policy.path("policies").asInt()).append(" policies, cross-cluster default ")
                .append(policy.path("crossClusterDefault").asText()).append(")  enforced: ")
                .append(policy.path("enforced").asText()).append('\n');
        policy.path("peers").properties().forEach(peer -> {
            if (!peer.getValue().asText().equals(version)) {
                out.append("           peer ").append(peer.getKey()).append(" holds ").append(peer.getValue().asText())
                        .append(" (not yet converged)\n");
            }
        });
        return out.toString();
    }
}
