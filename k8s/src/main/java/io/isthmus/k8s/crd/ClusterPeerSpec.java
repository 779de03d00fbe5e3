package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;

/**
 * @param clusterId the peer's cluster id (a DNS label; its certificate must name it)
 * @param addresses the peer gateways' peering endpoints, {@code host:port}
 * @param caBundle  where the clusterset CA certificate (PEM) is: a key of a Secret or of a ConfigMap
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record ClusterPeerSpec(String clusterId, List<String> addresses, CaBundleRef caBundle) {

    /** Exactly one of {@code secretRef} and {@code configMapRef}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record CaBundleRef(KeyRef secretRef, KeyRef configMapRef) {
    }

    /** A key of a namespaced object; {@code key} defaults to {@code ca.crt}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record KeyRef(String namespace, String name, String key) {
    }
}
