package io.isthmus.k8s.mcs;

/** Names the MCS API and its conventions fix (KEP-1645), and the labels we mark what we write with. */
public final class Mcs {
    public static final String GROUP = "multicluster.x-k8s.io";
    public static final String VERSION = "v1alpha1";

    /** On an imported EndpointSlice: the ServiceImport it belongs to. */
    public static final String SERVICE_NAME_LABEL = "multicluster.kubernetes.io/service-name";
    /** On an imported EndpointSlice: the cluster whose endpoints it holds. */
    public static final String SOURCE_CLUSTER_LABEL = "multicluster.kubernetes.io/source-cluster";
    /** On a cluster's own EndpointSlices: the Service they belong to. */
    public static final String KUBERNETES_SERVICE_NAME_LABEL = "kubernetes.io/service-name";
    public static final String ENDPOINT_SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
    /** Marks every object we write, so that we list (and delete) only our own. */
    public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY = "isthmus";
    public static final String ENDPOINT_SLICE_MANAGER = "isthmus.io";

    public static final String CONDITION_VALID = "Valid";
    public static final String CONDITION_CONFLICT = "Conflict";
    public static final String CONDITION_READY = "Ready";

    private Mcs() {
    }
}
