package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Kind;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.Singular;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * MCS {@code ServiceExport} ({@code multicluster.x-k8s.io/v1alpha1}): its name and namespace name the Service to
 * export; it has no spec. fabric8 ships no model for the MCS API, hence this small class.
 */
@Group(Mcs.GROUP)
@Version(Mcs.VERSION)
@Kind("ServiceExport")
@Plural("serviceexports")
@Singular("serviceexport")
public class ServiceExportResource extends CustomResource<Void, ServiceExportStatus> implements Namespaced {
}
