package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One network policy for every cluster of the clusterset (cluster-scoped; CRD
 * {@code k8s/deploy/crds/globalnetworkpolicies.isthmus.io.yaml}). Creating or editing one in a cluster is that
 * cluster's edit of the clusterset's policy book, which peering carries to every cluster and each gateway enforces
 * ({@link GlobalNetworkPolicyReconciler}, k8s/README.md "GlobalNetworkPolicy").
 */
@Group(IsthmusResources.GROUP)
@Version(IsthmusResources.VERSION)
@Kind("GlobalNetworkPolicy")
@Plural("globalnetworkpolicies")
@ShortNames("gnp")
public class GlobalNetworkPolicy extends CustomResource<GlobalNetworkPolicySpec, GlobalNetworkPolicyStatus> {
}
