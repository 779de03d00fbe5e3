package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * Another cluster of the clusterset this cluster peers with (cluster-scoped; CRD
 * {@code k8s/deploy/crds/clusterpeers.isthmus.io.yaml}). With {@code isthmus.kubernetes.peers = on} the gateway dials
 * its addresses and writes its status ({@link ClusterPeerReconciler}).
 */
@Group(IsthmusResources.GROUP)
@Version(IsthmusResources.VERSION)
@Kind("ClusterPeer")
@Plural("clusterpeers")
@ShortNames("cpeer")
public class ClusterPeer extends CustomResource<ClusterPeerSpec, ClusterPeerStatus> {
}
