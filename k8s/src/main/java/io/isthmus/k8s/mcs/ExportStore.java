package io.isthmus.k8s.mcs;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * This cluster's exports as the MCS controllers see them (the gateway implements it over its export registry): read
 * them, offer one, withdraw one.
 */
public interface ExportStore {
    /** Every export this cluster offers now, by service (read once per full resync: it may cost O(n)). */
    Map<ServiceKey, ServiceExport> exports();

    /** This cluster's export of {@code key} now, if any (read once per reconcile: make it cheap). */
    default Optional<ServiceExport> find(ServiceKey key) {
        return Optional.ofNullable(exports().get(key));
    }

    /** Offers {@code export} (or replaces this cluster's export of that service); completes once stored. */
    CompletionStage<Void> export(ServiceExport export);

    /** Withdraws this cluster's export of {@code key}; completes once stored (also when there was none). */
    CompletionStage<Void> unexport(ServiceKey key);

    /**
     * Offers {@code exports} and withdraws {@code unexports} (each service once in all); completes once all is
     * stored. A store that can do it as one change should (all or none); by default one call each, in turn.
     */
    default CompletionStage<Void> apply(List<ServiceExport> exports, List<ServiceKey> unexports) {
        CompletionStage<Void> done = CompletableFuture.completedFuture(null);
        for (ServiceExport export : exports) {
            done = done.thenCompose(previous -> export(export));
        }
        for (ServiceKey key : unexports) {
            done = done.thenCompose(previous -> unexport(key));
        }
        return done;
    }
}
