package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A Kubernetes label selector: every {@code matchLabels} pair and every requirement must hold; an empty selector
 * selects everything. Keys and values follow Kubernetes' label syntax.
 */
public record LabelSelector(SortedMap<String, String> matchLabels, List<Requirement> matchExpressions) {
    public static final LabelSelector ANY = new LabelSelector(new TreeMap<>(), List.of());

    // [prefix/]name: prefix a DNS subdomain (<= 253), name <= 63 of [A-Za-z0-9_.-], alphanumeric at both ends
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?");
    private static final Pattern PREFIX = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final Pattern VALUE = Pattern.compile("([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?");

    public enum Operator { IN, NOT_IN, EXISTS, DOES_NOT_EXIST }

    /** One {@code matchExpressions} entry. */
    public record Requirement(String key, Operator operator, SortedSet<String> values) {
        public Requirement {
            values = Collections.unmodifiableSortedSet(new TreeSet<>(values));
        }

        boolean matches(Map<String, String> labels) {
            String value = labels.get(key);
            return switch (operator) {
                case IN -> value != null && values.contains(value);
                case NOT_IN -> value == null || !values.contains(value);
                case EXISTS -> value != null;
                case DOES_NOT_EXIST -> value == null;
            };
        }
    }

    public LabelSelector {
        matchLabels = Collections.unmodifiableSortedMap(new TreeMap<>(matchLabels));
        matchExpressions = List.copyOf(matchExpressions);
    }

    public boolean isEmpty() {
        return matchLabels.isEmpty() && matchExpressions.isEmpty();
    }

    public boolean matches(Map<String, String> labels) {
        for (Map.Entry<String, String> wanted : matchLabels.entrySet()) {
            if (!wanted.getValue().equals(labels.get(wanted.getKey()))) {
                return false;
            }
        }
        for (Requirement requirement : matchExpressions) {
            if (!requirement.matches(labels)) {
                return false;
            }
        }
        return true;
    }

    /** Checks a label key, naming {@code field}. */
    static String requireKey(String field, String key) {
        int slash = key.indexOf('/');
        String name = slash < 0 ? key : key.substring(slash + 1);
        String prefix = slash < 0 ? "" : key.substring(0, slash);
        if (!NAME.matcher(name).matches() || (slash >= 0 && !PREFIX.matcher(prefix).matches())) {
            throw new InvalidFieldException(field, key, "must be a label key: [prefix/]name, the name at most 63 of "
                    + "A-Z a-z 0-9 '-' '_' '.', starting and ending with a letter or digit");
        }
        return key;
    }

    /** Checks a label value, naming {@code field}. */
    static String requireValue(String field, String value) {
        if (!VALUE.matcher(value).matches()) {
            throw new InvalidFieldException(field, value, "must be a label value: empty, or at most 63 of "
                    + "A-Z a-z 0-9 '-' '_' '.', starting and ending with a letter or digit");
        }
        return value;
    }
}
