package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import java.util.Locale;

/**
 * What happens to a flow between two clusters that no rule decides. Set in every gateway's configuration (the same
 * everywhere), so a cluster that has not received the clusterset's policies yet already enforces it.
 */
public enum CrossClusterDefault {
    /** It passes. */
    ALLOW,
    /** It is dropped. */
    DENY,
    /**
     * Pods reach the pods of their own cluster only: across clusters, only the endpoints of exported services are
     * reachable (the MCS contract); anything else needs an allow rule.
     */
    SAME_CLUSTER_ONLY;

    public static CrossClusterDefault parse(String field, String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "allow" -> ALLOW;
            case "deny" -> DENY;
            case "same-cluster-only" -> SAME_CLUSTER_ONLY;
            default -> throw new InvalidFieldException(field, text, "must be allow, deny or same-cluster-only");
        };
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
