/** Pods as IPAM owners: {@link io.isthmus.k8s.pods.PodOwners} answers the reclaimer from Pod and StatefulSet informers. */
package io.isthmus.k8s.pods;
