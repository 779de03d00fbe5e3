package io.isthmus.policy;

import java.util.List;
import java.util.TreeSet;

/**
 * One rule: flows whose other side is in any of {@code peers} (none: any) on any of {@code ports} (none: every port
 * and protocol) get {@code action}. In a policy, the first rule that matches decides.
 */
public record Rule(Action action, List<Peers> peers, List<PortRange> ports) {
    public enum Action { ALLOW, DENY }

    public Rule {
        peers = List.copyOf(peers);
        ports = List.copyOf(new TreeSet<>(ports));
    }
}
