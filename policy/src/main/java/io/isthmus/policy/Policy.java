package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One GlobalNetworkPolicy: it protects the workloads of {@code appliesTo}; {@code ingress} rules decide flows to
 * them, {@code egress} rules flows from them, the first matching rule of the first policy that has one deciding.
 * Policies are taken in a deterministic order: ascending {@code order}, then name ({@link #ORDER}).
 */
public record Policy(String name, int order, Peers appliesTo, List<Rule> ingress, List<Rule> egress) {
    public static final int DEFAULT_ORDER = 1000;
    public static final int MAX_ORDER = 10_000;
    public static final int MAX_RULES = 256;
    public static final Comparator<Policy> ORDER = Comparator.comparingInt(Policy::order).thenComparing(Policy::name);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    public Policy {
        requireName(name);
        if (order < 0 || order > MAX_ORDER) {
            throw new InvalidFieldException("spec.order", order, "must be 0.." + MAX_ORDER);
        }
        ingress = List.copyOf(ingress);
        egress = List.copyOf(egress);
        if (ingress.size() > MAX_RULES) {
            throw new InvalidFieldException("spec.ingress", ingress.size() + " rules", "at most " + MAX_RULES);
        }
        if (egress.size() > MAX_RULES) {
            throw new InvalidFieldException("spec.egress", egress.size() + " rules", "at most " + MAX_RULES);
        }
    }

    /** A policy's name is a DNS subdomain; refused naming {@code metadata.name}. */
    public static String requireName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidFieldException("metadata.name", name, "must be a DNS subdomain: lower-case a-z, 0-9, "
                    + "'-' and '.', starting and ending with a letter or digit, at most 253 characters");
        }
        return name;
    }
}
