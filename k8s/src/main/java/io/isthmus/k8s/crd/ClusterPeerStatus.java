package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.List;

/**
 * @param linkState  {@code Connecting}, {@code Up} or {@code Down}
 * @param rttMillis  the last heartbeat round trip
 * @param lastSeen   RFC 3339 time of the last message from the peer
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterPeerStatus(List<Condition> conditions, Long observedGeneration, String linkState, Long rttMillis,
                                String lastSeen) {
}
