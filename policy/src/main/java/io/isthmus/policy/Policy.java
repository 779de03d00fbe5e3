package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One GlobalNetworkPolicy: it protects the workloads of {@code appliesTo}; {@code ingress} rules decide flows to
 * them, {@code egress} rules flows from them, the first matching rule of the first policy that has one deciding.
 * Policies are taken in a deterministic order: ascending {@code order}, then name ({@link #ORDER}).
 * {@code encryption} {@link Encryption#REQUIRED} is a stance no rule relaxes: the protected workloads exchange
 * traffic only with the clusterset's workloads (every other cluster is reached through the encrypted tunnel), never
 * through the gateways with addresses outside the clusterset, whose leg beyond the far gateway nothing encrypts.
 */
public record Policy(String name, int order, Peers appliesTo, List<Rule> ingress, List<Rule> egress,
                     Encryption encryption) {
    public static final int DEFAULT_ORDER = 1000;
    public static final int MAX_ORDER = 10_000;
    public static final int MAX_RULES = 256;
    public static final Comparator<Policy> ORDER = Comparator.comparingInt(Policy::order).thenComparing(Policy::name);
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");

    /** {@code spec.encryption}: {@code Required}, or {@code Optional} (the default: what the rules say). */
    public enum Encryption {
        OPTIONAL("Optional"), REQUIRED("Required");

        private final String label;

        Encryption(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Encryption parse(String field, String text) {
            for (Encryption value : values()) {
                if (value.label.equals(text)) {
                    return value;
                }
            }
            throw new InvalidFieldException(field, text, "must be Required or Optional");
        }
    }

    /** A policy without an encryption stance (what its rules say holds). */
    public Policy(String name, int order, Peers appliesTo, List<Rule> ingress, List<Rule> egress) {
        this(name, order, appliesTo, ingress, egress, Encryption.OPTIONAL);
    }

    public Policy {
        requireName(name);
        if (encryption == null) {
            encryption = Encryption.OPTIONAL;
        }
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
