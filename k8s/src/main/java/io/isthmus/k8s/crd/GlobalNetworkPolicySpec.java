package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.LabelSelector;

import java.util.List;

/**
 * The spec of a {@link GlobalNetworkPolicy}, field for field what the gateway's policy reader
 * ({@code io.isthmus.policy.PolicyCodec}) takes and what the CRD's schema declares (DeployManifestsTest checks that
 * the schema and this model have the same fields, so that reading an object into this model drops nothing). The
 * gateway validates the values; a refusal names the field in the object's {@code Accepted} condition.
 *
 * @param order     lower orders are evaluated first (0..10000; absent: 1000)
 * @param appliesTo the workloads the policy protects ({@code {}}: every workload)
 * @param ingress   rules for traffic to them, in order; the first match decides
 * @param egress    rules for traffic from them, in order
 * @param encryption {@code Required}: the workloads never talk with addresses outside the clusterset, whatever the
 *                  rules say; absent or {@code Optional}: the rules decide
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record GlobalNetworkPolicySpec(Integer order, Peers appliesTo, List<Rule> ingress, List<Rule> egress,
                                      String encryption) {

    /** A spec without an encryption stance. */
    public GlobalNetworkPolicySpec(Integer order, Peers appliesTo, List<Rule> ingress, List<Rule> egress) {
        this(order, appliesTo, ingress, egress, null);
    }

    /**
     * Workloads, every field given must match (a field left out matches anything): cluster ids, namespace names,
     * namespace labels, pod labels, exported services ({@code namespace/name}) whose endpoints they are; or address
     * blocks ({@code cidrs}, combinable with {@code clusters} alone).
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Peers(List<String> clusters, List<String> namespaces, LabelSelector namespaceSelector,
                        LabelSelector podSelector, List<String> services, List<String> cidrs) {
    }

    /** {@code action} Allow or Deny; {@code peers} the other side ({@code from} or {@code to}); empty ports mean all. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Rule(String action, List<Peers> peers, List<Port> ports) {
    }

    /** {@code protocol} TCP, UDP or SCTP (absent: TCP); {@code port} .. {@code endPort} inclusive (no port: all). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Port(String protocol, Integer port, Integer endPort) {
    }
}
