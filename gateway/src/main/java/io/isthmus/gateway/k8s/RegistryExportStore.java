package io.isthmus.gateway.k8s;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.k8s.mcs.ExportStore;

import java.time.Duration;
import java.util.HashMap;
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

    @Override
    public CompletionStage<Void> unexport(ServiceKey key) {
        return registry.<ExportRegistry.Unexported>ask(replyTo -> new ExportRegistry.Unexport(key, replyTo), ASK_TIMEOUT)
                .thenApply(unexported -> null);
    }
}
