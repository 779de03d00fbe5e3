package io.isthmus.k8s.crd;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;

import java.util.List;

/**
 * What this cluster's gateway did with a {@link GlobalNetworkPolicy}, written by {@link GlobalNetworkPolicyReconciler}.
 *
 * @param conditions         {@code Accepted} (the spec of {@code observedGeneration} was taken into the clusterset's
 *                           policy book, or refused: reason {@code Invalid} naming the field and value) and
 *                           {@code InForce} (the book's entry of this name is this object's spec, or why not:
 *                           {@code Superseded} by another edit, {@code Deleted}, {@code NotInBook})
 * @param observedGeneration the last generation applied from this object (or refused as invalid): a generation is
 *                           applied once, so status writes, resyncs and restarts make no new revision
 * @param revision           the revision of the book's entry of this name
 * @param origin             the cluster that wrote that entry
 * @param version            the book version this cluster enforces ({@code 3:9f2c04ab11e0})
 * @param clusters           per cluster of the clusterset (this one included) the book version it reported
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GlobalNetworkPolicyStatus(List<Condition> conditions, Long observedGeneration, Long revision,
                                        String origin, String version, List<ClusterVersion> clusters) {

    /** The book version {@code cluster} reported (for this cluster: the one it enforces). */
    public record ClusterVersion(String cluster, String version) {
    }
}
