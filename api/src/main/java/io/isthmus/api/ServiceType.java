package io.isthmus.api;

import java.util.Locale;

/** MCS service types: one virtual IP for the clusterset, or every ready endpoint IP. */
public enum ServiceType {
    CLUSTER_SET_IP("ClusterSetIP"), HEADLESS("Headless");

    private final String label;

    ServiceType(String label) {
        this.label = label;
    }

    /** The name the MCS API uses: ClusterSetIP or Headless. */
    public String label() {
        return label;
    }

    public static ServiceType parse(String field, String text) {
        return switch (text.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "")) {
            case "clustersetip" -> CLUSTER_SET_IP;
            case "headless" -> HEADLESS;
            default -> throw new InvalidFieldException(field, text, "type must be ClusterSetIP or Headless");
        };
    }
}
