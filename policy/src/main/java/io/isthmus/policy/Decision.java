package io.isthmus.policy;

/**
 * Reads the {@code long} that {@link DecisionTable#decide} returns (a primitive, so deciding allocates nothing).
 * Layout: bit 0 the verdict (1 = the flow passes); bits 1-3 how the egress side decided, bits 4-6 the ingress side
 * (one of the {@code RULE_*} / {@code DEFAULT_*} outcomes); bits 8-31 the deciding egress rule's index in
 * {@link DecisionTable#rules()} plus one, bits 32-55 the ingress one (0: the side took the default).
 */
public final class Decision {
    /** A rule allowed the side. */
    public static final int RULE_ALLOW = 0;
    /** A rule denied the side. */
    public static final int RULE_DENY = 1;
    /** No rule: both addresses are in one cluster, allowed under every default. */
    public static final int DEFAULT_SAME_CLUSTER = 2;
    /** No rule: the default is allow. */
    public static final int DEFAULT_ALLOW = 3;
    /** No rule: the default is same-cluster-only and the destination backs an exported service. */
    public static final int DEFAULT_EXPORTED_SERVICE = 4;
    /** No rule: the default is deny. */
    public static final int DEFAULT_DENY = 5;
    /** No rule: the default is same-cluster-only, the flow crosses clusters, the destination backs no export. */
    public static final int DEFAULT_NOT_EXPORTED = 6;
    /** A policy requires encryption for the side's workload and the other side is outside the clusterset. */
    public static final int ENCRYPTION_REQUIRED = 7;

    private static final int RULE_BITS = 0xFF_FFFF;

    private Decision() {
    }

    static long of(int egressOutcome, int egressRule, int ingressOutcome, int ingressRule) {
        boolean allowed = allows(egressOutcome) && allows(ingressOutcome);
        return (allowed ? 1L : 0L) | (long) egressOutcome << 1 | (long) ingressOutcome << 4
                | (long) (egressRule + 1) << 8 | (long) (ingressRule + 1) << 32;
    }

    static boolean allows(int outcome) {
        return outcome == RULE_ALLOW || outcome == DEFAULT_SAME_CLUSTER || outcome == DEFAULT_ALLOW
                || outcome == DEFAULT_EXPORTED_SERVICE;
    }

    public static boolean allowed(long decision) {
        return (decision & 1) != 0;
    }

    public static int egressOutcome(long decision) {
        return (int) (decision >>> 1) & 7;
    }

    public static int ingressOutcome(long decision) {
        return (int) (decision >>> 4) & 7;
    }

    /** The rule that decided the egress side, or -1 when it took the default. */
    public static int egressRule(long decision) {
        return ((int) (decision >>> 8) & RULE_BITS) - 1;
    }

    /** The rule that decided the ingress side, or -1 when it took the default. */
    public static int ingressRule(long decision) {
        return ((int) (decision >>> 32) & RULE_BITS) - 1;
    }

    /**
     * The rule the verdict is due to: for a denied flow the rule of the side that denied (egress first), for an
     * allowed one the egress rule, else the ingress rule; -1 when defaults decided.
     */
    public static int decidingRule(long decision) {
        if (!allowed(decision)) {
            return !allows(egressOutcome(decision)) ? egressRule(decision) : ingressRule(decision);
        }
        return egressRule(decision) >= 0 ? egressRule(decision) : ingressRule(decision);
    }

    /** An outcome in words: "allowed by a rule", "denied: no rule, default deny"... */
    public static String describe(int outcome) {
        return switch (outcome) {
            case RULE_ALLOW -> "allowed by a rule";
            case RULE_DENY -> "denied by a rule";
            case DEFAULT_SAME_CLUSTER -> "allowed: no rule matched, and both addresses are in one cluster "
                    + "(allowed under every default)";
            case DEFAULT_ALLOW -> "allowed: no rule matched, the cross-cluster default is allow";
            case DEFAULT_EXPORTED_SERVICE -> "allowed: no rule matched, the default is same-cluster-only and the "
                    + "destination backs an exported service";
            case DEFAULT_DENY -> "denied: no rule matched, the cross-cluster default is deny";
            case DEFAULT_NOT_EXPORTED -> "denied: no rule matched, the default is same-cluster-only and the "
                    + "destination backs no exported service";
            case ENCRYPTION_REQUIRED -> "denied: a policy requires encryption for this workload, and the other side "
                    + "is outside the clusterset, beyond every encrypted path (no rule can allow it)";
            default -> throw new IllegalArgumentException("outcome " + outcome);
        };
    }
}
