package io.isthmus.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Why this replica is not ready, gathered from the parts that can say; each check lists its reasons, if any. */
public final class Readiness {
    private final List<Supplier<List<String>>> checks;

    Readiness(List<Supplier<List<String>>> checks) {
        this.checks = List.copyOf(checks);
    }

    /** Reasons the replica is not ready to serve; empty when it is. */
    public List<String> notReadyReasons() {
        List<String> reasons = new ArrayList<>();
        checks.forEach(check -> reasons.addAll(check.get()));
        return reasons;
    }
}
