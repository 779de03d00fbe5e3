package io.isthmus.k8s.mcs;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/** Where this cluster's exports live (the gateway's export registry); the gateway implements it. */
public interface ExportPort {
    /** Every export this cluster offers now, by service. */
    Map<ServiceKey, ServiceExport> exports();

    /** Offers {@code export} (or replaces this cluster's export of that service); completes once stored. */
    CompletionStage<Void> export(ServiceExport export);

    /** Withdraws this cluster's export of {@code key}; completes once stored (also when there was none). */
    CompletionStage<Void> unexport(ServiceKey key);
}
