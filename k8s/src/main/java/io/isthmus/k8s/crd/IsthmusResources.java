package io.isthmus.k8s.crd;

/** The API group and version of Isthmus's custom resources, and the CRD names the manifests declare. */
public final class IsthmusResources {
    public static final String GROUP = "isthmus.io";
    public static final String VERSION = "v1alpha1";
    public static final String API_VERSION = GROUP + "/" + VERSION;

    /** Every CRD this module has a model class for, by {@code metadata.name}. */
    public static final java.util.List<String> CRD_NAMES = java.util.List.of(
            "ippools." + GROUP, "clusterpeers." + GROUP, "globalnetworkpolicies." + GROUP);

    private IsthmusResources() {
    }
}
