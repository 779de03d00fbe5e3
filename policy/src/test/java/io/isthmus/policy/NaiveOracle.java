package io.isthmus.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceKey;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The semantics of policy/README.md ("Semantics") written out a second time, as plainly as possible, for the truth
 * tables: a linear scan over the entries for the longest match, every selector matched by hand, the policies
 * walked in order for every flow. Shares no code with the compiler (only the model records and their getters).
 */
final class NaiveOracle {
    /** What decided one side: a rule (policy, index) or the default. */
    record SideVerdict(boolean allowed, String policy, int index, boolean encryptionRequired) {
        SideVerdict(boolean allowed, String policy, int index) {
            this(allowed, policy, index, false);
        }

        static SideVerdict byDefault(boolean allowed) {
            return new SideVerdict(allowed, null, -1);
        }
    }

    record Verdict(boolean allowed, SideVerdict egress, SideVerdict ingress) {
    }

    private record Entry(Cidr cidr, Identity identity) {
    }

    private final List<Policy> policies;
    private final CrossClusterDefault fallback;
    private final List<Entry> entries = new ArrayList<>();

    NaiveOracle(List<Policy> policies, CrossClusterDefault fallback, Map<Cidr, Identity> view) {
        // evaluation order: ascending order, ties by name (sorted by hand: insertion sort)
        List<Policy> ordered = new ArrayList<>();
        for (Policy p : policies) {
            int at = 0;
            while (at < ordered.size() && (ordered.get(at).order() < p.order()
                    || ordered.get(at).order() == p.order() && ordered.get(at).name().compareTo(p.name()) < 0)) {
                at++;
            }
            ordered.add(at, p);
        }
        this.policies = ordered;
        this.fallback = fallback;
        view.forEach((cidr, identity) -> entries.add(new Entry(cidr, identity)));
    }

    Verdict judge(InetAddress source, InetAddress destination, int protocol, int port) {
        Identity from = identityOf(source);
        Identity to = identityOf(destination);
        boolean defaultAllows;
        if (from != null && to != null && from.cluster().equals(to.cluster())) {
            defaultAllows = true;
        } else if (fallback == CrossClusterDefault.ALLOW) {
            defaultAllows = true;
        } else if (fallback == CrossClusterDefault.DENY) {
            defaultAllows = false;
        } else {
            defaultAllows = to != null && !to.services().isEmpty();
        }
        SideVerdict egress = null;
        SideVerdict ingress = null;
        for (Policy policy : policies) {
            if (egress == null && selects(policy.appliesTo(), source, from)) {
                for (int i = 0; i < policy.egress().size() && egress == null; i++) {
                    Rule rule = policy.egress().get(i);
                    if (ruleMatches(rule, destination, to, protocol, port)) {
                        egress = new SideVerdict(rule.action() == Rule.Action.ALLOW, policy.name(), i);
                    }
                }
            }
            if (ingress == null && selects(policy.appliesTo(), destination, to)) {
                for (int i = 0; i < policy.ingress().size() && ingress == null; i++) {
                    Rule rule = policy.ingress().get(i);
                    if (ruleMatches(rule, source, from, protocol, port)) {
                        ingress = new SideVerdict(rule.action() == Rule.Action.ALLOW, policy.name(), i);
                    }
                }
            }
        }
        if (egress == null) {
            egress = SideVerdict.byDefault(defaultAllows);
        }
        if (ingress == null) {
            ingress = SideVerdict.byDefault(defaultAllows);
        }
        // encryption Required overrides every rule: a protected workload and an address in no cluster never talk
        for (Policy policy : policies) {
            if (policy.encryption() == Policy.Encryption.REQUIRED) {
                if (to == null && selects(policy.appliesTo(), source, from)) {
                    egress = new SideVerdict(false, null, -1, true);
                }
                if (from == null && selects(policy.appliesTo(), destination, to)) {
                    ingress = new SideVerdict(false, null, -1, true);
                }
            }
        }
        return new Verdict(egress.allowed() && ingress.allowed(), egress, ingress);
    }

    private boolean ruleMatches(Rule rule, InetAddress other, Identity otherIdentity, int protocol, int port) {
        boolean peerOk = rule.peers().isEmpty();
        for (Peers peers : rule.peers()) {
            if (selects(peers, other, otherIdentity)) {
                peerOk = true;
            }
        }
        if (!peerOk) {
            return false;
        }
        if (rule.ports().isEmpty()) {
            return true;
        }
        for (PortRange range : rule.ports()) {
            int number = switch (range.protocol()) {
                case TCP -> 6;
                case UDP -> 17;
                case SCTP -> 132;
            };
            if (port != -1 && number == protocol && range.first() <= port && port <= range.last()) {
                return true;
            }
        }
        return false;
    }

    private static boolean selects(Peers peers, InetAddress address, Identity identity) {
        boolean everythingEmpty = peers.clusters().isEmpty() && peers.namespaces().isEmpty()
                && peers.namespaceSelector().matchLabels().isEmpty()
                && peers.namespaceSelector().matchExpressions().isEmpty()
                && peers.podSelector().matchLabels().isEmpty() && peers.podSelector().matchExpressions().isEmpty()
                && peers.services().isEmpty() && peers.cidrs().isEmpty();
        if (everythingEmpty) {
            return true;
        }
        if (!peers.clusters().isEmpty()) {
            if (identity == null) {
                return false;
            }
            boolean listed = false;
            for (ClusterId cluster : peers.clusters()) {
                listed |= cluster.equals(identity.cluster());
            }
            if (!listed) {
                return false;
            }
        }
        if (!peers.cidrs().isEmpty()) {
            for (Cidr cidr : peers.cidrs()) {
                if (inside(address, cidr)) {
                    return true;
                }
            }
            return false;
        }
        if (identity == null) {
            return false;
        }
        boolean knowsNamespace = !identity.namespace().isEmpty();
        if (!peers.namespaces().isEmpty()) {
            if (!knowsNamespace || !peers.namespaces().contains(identity.namespace())) {
                return false;
            }
        }
        if (!selectorEmpty(peers.namespaceSelector())
                && (!knowsNamespace || !labelsMatch(peers.namespaceSelector(), identity.namespaceLabels()))) {
            return false;
        }
        if (!selectorEmpty(peers.podSelector())
                && (!knowsNamespace || !labelsMatch(peers.podSelector(), identity.podLabels()))) {
            return false;
        }
        if (!peers.services().isEmpty()) {
            boolean backs = false;
            for (ServiceKey service : peers.services()) {
                backs |= identity.services().contains(service);
            }
            return backs;
        }
        return true;
    }

    private static boolean selectorEmpty(LabelSelector selector) {
        return selector.matchLabels().isEmpty() && selector.matchExpressions().isEmpty();
    }

    private static boolean labelsMatch(LabelSelector selector, Map<String, String> labels) {
        for (Map.Entry<String, String> wanted : selector.matchLabels().entrySet()) {
            if (!labels.containsKey(wanted.getKey()) || !labels.get(wanted.getKey()).equals(wanted.getValue())) {
                return false;
            }
        }
        for (LabelSelector.Requirement requirement : selector.matchExpressions()) {
            boolean has = labels.containsKey(requirement.key());
            boolean ok = switch (requirement.operator()) {
                case IN -> has && requirement.values().contains(labels.get(requirement.key()));
                case NOT_IN -> !has || !requirement.values().contains(labels.get(requirement.key()));
                case EXISTS -> has;
                case DOES_NOT_EXIST -> !has;
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private Identity identityOf(InetAddress address) {
        Entry best = null;
        for (Entry entry : entries) {
            if (inside(address, entry.cidr()) && (best == null || entry.cidr().prefix() > best.cidr().prefix())) {
                best = entry;
            }
        }
        return best == null ? null : best.identity();
    }

    /** Bit by bit: the first {@code prefix} bits of the address equal the network's. */
    private static boolean inside(InetAddress address, Cidr cidr) {
        byte[] a = address.getAddress();
        byte[] n = cidr.network().getAddress();
        if (a.length != n.length) {
            return false;
        }
        for (int bit = 0; bit < cidr.prefix(); bit++) {
            int mask = 0x80 >>> (bit % 8);
            if ((a[bit / 8] & mask) != (n[bit / 8] & mask)) {
                return false;
            }
        }
        return true;
    }
}
