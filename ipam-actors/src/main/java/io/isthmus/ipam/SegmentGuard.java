package io.isthmus.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Port: may {@code cluster} create a pool on {@code cidr}? The gateway answers from the clusterset address plan
 * (the segments the cluster holds); a pool is created only when every CIDR of it is allowed.
 */
@FunctionalInterface
public interface SegmentGuard {
    CompletionStage<SegmentDecision> check(ClusterId cluster, Cidr cidr);

    /** The answer of a guard. */
    sealed interface SegmentDecision {
    }

    record Allowed() implements SegmentDecision {
    }

    /** {@code reason} says which segments the cluster holds, so the operator can pick a CIDR inside one. */
    record Refused(String reason) implements SegmentDecision {
    }

    /** A guard over a fixed list of segments: a CIDR is allowed when one segment contains it. */
    static SegmentGuard within(List<Cidr> segments) {
        List<Cidr> held = List.copyOf(segments);
        return (cluster, cidr) -> CompletableFuture.completedFuture(
                held.stream().anyMatch(segment -> segment.contains(cidr)) ? new Allowed()
                        : new Refused(cidr + " is not inside a segment cluster " + cluster + " holds " + held));
    }
}
