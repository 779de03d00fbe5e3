package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.LabelSelector;

import java.util.List;

/**
 * @param order     lower orders are evaluated first (0..10000)
 * @param appliesTo the workloads the policy protects
 * @param ingress   rules for traffic to them, in order; the first match decides
 * @param egress    rules for traffic from them, in order
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record GlobalNetworkPolicySpec(Integer order, Peers appliesTo, List<Rule> ingress, List<Rule> egress) {

    /** Workloads: by cluster ids, namespace labels, pod labels; or address blocks. Empty lists mean "any". */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Peers(List<String> clusters, LabelSelector namespaceSelector, LabelSelector podSelector,
                        List<String> cidrs) {
    }

    /** {@code action} Allow or Deny; {@code peers} the other side ({@code from} or {@code to}); empty ports mean all. */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Rule(String action, List<Peers> peers, List<Port> ports) {
    }

    /** {@code protocol} TCP, UDP or SCTP; {@code port} .. {@code endPort} inclusive. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Port(String protocol, Integer port, Integer endPort) {
    }
}
