package io.isthmus.k8s.mcs;

import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every cluster's export registry and the merged view, in memory: what the gateways do between two McsSyncs,
 * without peering. It counts the writes that changed something, so a test sees a resync that wrote twice.
 */
final class FakeClusterset {
    private final Map<ClusterId, Map<ServiceKey, ServiceExport>> exports = new HashMap<>();
    private final AtomicInteger changes = new AtomicInteger();
    private final AtomicInteger batches = new AtomicInteger();
    private volatile ServiceDirectory directory = ServiceDirectory.EMPTY;
    private long version;

    ImportSource view() {
        return () -> directory;
    }

    int changes() {
        return changes.get();
    }

    /** Calls of {@link ExportStore#apply}, changing or not. */
    int batches() {
        return batches.get();
    }

    synchronized Map<ServiceKey, ServiceExport> exportsOf(ClusterId cluster) {
        return Map.copyOf(exports.getOrDefault(cluster, Map.of()));
    }

    ExportStore registryOf(ClusterId cluster) {
        return new ExportStore() {
            @Override
            public Map<ServiceKey, ServiceExport> exports() {
                return exportsOf(cluster);
            }

            @Override
            public CompletionStage<Void> export(ServiceExport export) {
                synchronized (FakeClusterset.this) {
                    Map<ServiceKey, ServiceExport> own = exports.computeIfAbsent(cluster, c -> new HashMap<>());
                    ServiceExport old = own.get(export.key());
                    // As the registry: a re-export keeps the first export time, and the same export is no change.
                    ServiceExport stored = old == null ? export : export.withExportedAt(old.exportedAt());
                    if (!stored.equals(old)) {
                        own.put(export.key(), stored);
                        changed();
                    }
                }
                return CompletableFuture.completedFuture(null);
            }

            @Override
            public CompletionStage<Void> unexport(ServiceKey key) {
                synchronized (FakeClusterset.this) {
                    if (exports.getOrDefault(cluster, new HashMap<>()).remove(key) != null) {
                        changed();
                    }
                }
                return CompletableFuture.completedFuture(null);
            }

            /** As the registry's batch: one change for all of it. */
            @Override
            public CompletionStage<Void> apply(List<ServiceExport> offered, List<ServiceKey> withdrawn) {
                synchronized (FakeClusterset.this) {
                    Map<ServiceKey, ServiceExport> own = exports.computeIfAbsent(cluster, c -> new HashMap<>());
                    boolean any = false;
                    for (ServiceExport export : offered) {
                        ServiceExport old = own.get(export.key());
                        ServiceExport stored = old == null ? export : export.withExportedAt(old.exportedAt());
                        any |= !stored.equals(own.put(export.key(), stored));
                    }
                    for (ServiceKey key : withdrawn) {
                        any |= own.remove(key) != null;
                    }
                    if (any) {
                        changed();
                    }
                    batches.incrementAndGet();
                }
                return CompletableFuture.completedFuture(null);
            }
        };
    }

    private void changed() {
        changes.incrementAndGet();
        Map<ClusterId, List<ServiceExport>> byCluster = new HashMap<>();
        exports.forEach((cluster, own) -> byCluster.put(cluster, List.copyOf(own.values())));
        directory = ServiceDirectory.merge(++version, byCluster);
    }
}
