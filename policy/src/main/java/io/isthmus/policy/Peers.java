package io.isthmus.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import java.util.Collections;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * A set of workloads, one side of a flow. Every field given must match, a field left out (empty) matches anything;
 * all fields empty selects every workload and every address. A workload is a pod of a cluster of the clusterset:
 * its cluster, its namespace (by name or by the namespace's labels), its pod labels, and the exported services it
 * backs. {@code cidrs} select addresses instead (traffic from or to outside the clusterset), and cannot be combined
 * with the namespace or pod selectors.
 *
 * @param services exported services (namespace/name) whose endpoints are selected
 */
public record Peers(SortedSet<ClusterId> clusters, SortedSet<String> namespaces, LabelSelector namespaceSelector,
                    LabelSelector podSelector, SortedSet<ServiceKey> services, List<Cidr> cidrs) {
    public static final Peers ANY = new Peers(new TreeSet<>(), new TreeSet<>(), LabelSelector.ANY, LabelSelector.ANY,
            new TreeSet<>(), List.of());

    public Peers {
        clusters = Collections.unmodifiableSortedSet(new TreeSet<>(clusters));
        namespaces = Collections.unmodifiableSortedSet(new TreeSet<>(namespaces));
        services = Collections.unmodifiableSortedSet(new TreeSet<>(services));
        cidrs = List.copyOf(new TreeSet<>(cidrs));
    }

    /** Validates the combination, naming {@code field} (the object's path). */
    Peers validated(String field) {
        if (!cidrs.isEmpty() && (!namespaceSelector.isEmpty() || !podSelector.isEmpty() || !namespaces.isEmpty()
                || !services.isEmpty())) {
            throw new InvalidFieldException(field + ".cidrs", cidrs, "cannot be combined with namespaces, "
                    + "namespaceSelector, podSelector or services: addresses select traffic by address alone");
        }
        return this;
    }

    public boolean isAny() {
        return equals(ANY);
    }
}
