package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.List;

/** Written by the policy engine once it exists (Accepted, with the reason when a rule is refused). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GlobalNetworkPolicyStatus(List<Condition> conditions, Long observedGeneration) {
}
