package io.isthmus.policy;

import io.isthmus.api.Cidr;
import java.net.InetAddress;
import java.util.Collections;

/**
 * What a {@link Peers} selects, address by address: the one statement of the selection rules (README, "Semantics").
 * The compiler applies it per identity and per CIDR; {@link DecisionTable#explain} applies it to one address.
 */
final class Selection {
    private Selection() {
    }

    /** Whether {@code peers} selects {@code address} of {@code identity} (null: outside the clusterset). */
    static boolean selects(Peers peers, Identity identity, InetAddress address) {
        if (!peers.cidrs().isEmpty()) {
            boolean inside = false;
            for (Cidr cidr : peers.cidrs()) {
                inside |= cidr.contains(address);
            }
            return inside && clusterMatches(peers, identity);
        }
        return selectsIdentity(peers, identity);
    }

    /** For peers without {@code cidrs}: whether they select {@code identity} (null: outside the clusterset). */
    static boolean selectsIdentity(Peers peers, Identity identity) {
        if (peers.isAny()) {
            return true;
        }
        if (identity == null || !clusterMatches(peers, identity)) {
            return false;
        }
        boolean workload = identity.isWorkload(); // a cluster-only identity has no namespace, labels, services
        if (!peers.namespaces().isEmpty() && !(workload && peers.namespaces().contains(identity.namespace()))) {
            return false;
        }
        if (!peers.namespaceSelector().isEmpty()
                && !(workload && peers.namespaceSelector().matches(identity.namespaceLabels()))) {
            return false;
        }
        if (!peers.podSelector().isEmpty() && !(workload && peers.podSelector().matches(identity.podLabels()))) {
            return false;
        }
        return peers.services().isEmpty() || !Collections.disjoint(peers.services(), identity.services());
    }

    /** The {@code clusters} condition alone: empty, or the identity's cluster is listed. */
    static boolean clusterMatches(Peers peers, Identity identity) {
        return peers.clusters().isEmpty() || identity != null && peers.clusters().contains(identity.cluster());
    }
}
