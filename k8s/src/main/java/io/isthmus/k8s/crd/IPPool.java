package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * A pool of addresses the gateway's IPAM hands to pods or underlay interfaces (cluster-scoped; its name is the pool's
 * name, as the CNI network config's {@code "pool"} names it). CRD: {@code k8s/deploy/crds/ippools.isthmus.io.yaml}.
 */
@Group(IsthmusResources.GROUP)
@Version(IsthmusResources.VERSION)
@Kind("IPPool")
@Plural("ippools")
@ShortNames("ipp")
public class IPPool extends CustomResource<IPPoolSpec, IPPoolStatus> {
}
