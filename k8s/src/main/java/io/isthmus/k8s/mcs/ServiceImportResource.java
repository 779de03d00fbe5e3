package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/** MCS {@code ServiceImport} ({@code multicluster.x-k8s.io/v1alpha1}): a service as the clusterset offers it. */
@Group(Mcs.GROUP)
@Version(Mcs.VERSION)
@Kind("ServiceImport")
@Plural("serviceimports")
@Singular("serviceimport")
public class ServiceImportResource extends CustomResource<ServiceImportSpec, ServiceImportStatus> implements Namespaced {
}
