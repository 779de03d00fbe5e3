package io.isthmus.gateway.k8s;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.k8s.mcs.ExportStore;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * This replica's exports as the MCS sync sees them: read from the mesh view (this cluster's own exports), offered
 * and withdrawn through the export registry. Each replica runs one; their writes are idempotent.
 */
record RegistryExportStore(RegistryClient registry, Supplier<MeshView.Snapshot> mesh) implements ExportStore {
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration BATCH_TIMEOUT = Duration.ofSeconds(10);

    @Override
    public Map<ServiceKey, ServiceExport> exports() {
        Map<ServiceKey, ServiceExport> out = new HashMap<>();
        mesh.get().own().forEach(out::put);
        return out;
    }

    @Override
    public Optional<ServiceExport> find(ServiceKey key) {
        return mesh.get().own().find(key);
    }

    @Override
    public CompletionStage<Void> export(ServiceExport export) {
        return registry.<ExportRegistry.Changed>ask(replyTo -> new ExportRegistry.Export(export, replyTo), ASK_TIMEOUT)
                .thenApply(changed -> null);
    }

    /** One stored change for the whole batch (a resync of thousands of ServiceExports is one journal write). */
    @Override
    public CompletionStage<Void> apply(List<ServiceExport> exports, List<ServiceKey> unexports) {
        return registry.<ExportRegistry.ChangesReply>ask(
                        replyTo -> new ExportRegistry.ApplyChanges(exports, unexports, replyTo), BATCH_TIMEOUT)
                .thenApply(reply -> switch (reply) {
                    case ExportRegistry.ChangesApplied applied -> null;
                    case ExportRegistry.ChangesRefused refused -> throw new IllegalArgumentException(
                            "invalid " + refused.field() + " '" + refused.value() + "': " + refused.reason());
                });
    }

    @Override
    public CompletionStage<Void> unexport(ServiceKey key) {
        return registry.<ExportRegistry.Unexported>ask(replyTo -> new ExportRegistry.Unexport(key, replyTo), ASK_TIMEOUT)
                .thenApply(unexported -> null);
    }
}
