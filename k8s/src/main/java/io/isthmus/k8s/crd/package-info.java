/**
 * Isthmus's own custom resources ({@code isthmus.io/v1alpha1}): {@link io.isthmus.k8s.crd.IPPool} (reconciled into
 * the gateway's IPAM by {@link io.isthmus.k8s.crd.IpPoolReconciler}), {@link io.isthmus.k8s.crd.ClusterPeer} and
 * {@link io.isthmus.k8s.crd.GlobalNetworkPolicy} (schemas only for now). Their CRDs, with the validation the API
 * server applies, are the YAML files under {@code k8s/deploy/crds}.
 */
package io.isthmus.k8s.crd;
