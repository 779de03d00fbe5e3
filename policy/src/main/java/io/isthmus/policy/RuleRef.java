package io.isthmus.policy;

/**
 * One rule of a compiled table: the policy it belongs to, the side, and its place there, so that counters and
 * explanations name it as the policy's author wrote it ({@code shop-frontend spec.egress[1]}).
 */
public record RuleRef(String policy, Side side, int index, Rule rule) {
    public enum Side {
        /** Rules on flows to the workloads a policy applies to; the other side is the source. */
        INGRESS,
        /** Rules on flows from the workloads a policy applies to; the other side is the destination. */
        EGRESS
    }

    /** {@code shop-frontend spec.egress[1]}. */
    public String path() {
        return policy + " spec." + (side == Side.INGRESS ? "ingress" : "egress") + "[" + index + "]";
    }

    @Override
    public String toString() {
        return path() + " (" + (rule.action() == Rule.Action.ALLOW ? "Allow" : "Deny") + ")";
    }
}
