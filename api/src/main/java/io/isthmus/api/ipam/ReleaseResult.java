package io.isthmus.api.ipam;

import java.net.InetAddress;
import java.util.List;

/** The answer to a release: what happened, and to which addresses. */
public record ReleaseResult(String pool, Owner owner, List<InetAddress> addresses, ReleaseOutcome outcome) {
    public ReleaseResult {
        addresses = List.copyOf(addresses);
    }
}
