package io.isthmus.gateway.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.k8s.mcs.ExportPort;
import io.isthmus.k8s.mcs.McsSync;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The gateway's side of the Kubernetes MCS sync (module k8s): this replica's export registry is its
 * {@link ExportPort}, the mesh view's directory (what DNS answers from) its import source. Each replica runs one;
 * their writes are idempotent, so replicas that run it side by side agree.
 */
public final class KubernetesMcs implements AutoCloseable {
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);
    /** How often the mesh view's directory is checked for a change (a reference comparison). */
    private static final Duration POLL = Duration.ofMillis(100);

    private final KubernetesClient client;
    private final McsSync sync;

    private KubernetesMcs(KubernetesClient client, McsSync sync) {
        this.client = client;
        this.sync = sync;
    }

    /** Starts the sync when {@code isthmus.kubernetes.enabled}; does not wait for the API server. */
    public static Optional<KubernetesMcs> startIfEnabled(GatewayConfig config, RegistryClient registry,
                                                         Supplier<MeshView.Snapshot> mesh) {
        GatewayConfig.Kubernetes settings = config.kubernetes();
        if (!settings.enabled()) {
            return Optional.empty();
        }
        return Optional.of(start(config.clusterId(), settings, registry, mesh));
    }

    static KubernetesMcs start(ClusterId self, GatewayConfig.Kubernetes settings, RegistryClient registry,
                               Supplier<MeshView.Snapshot> mesh) {
        KubernetesClient client = KubernetesClients.connect(settings.masterUrl());
        McsSync sync = new McsSync(client,
                new McsSync.Settings(self, settings.namespaces(), settings.resyncInterval(), POLL),
                new RegistryPort(registry, mesh), () -> mesh.get().directory(), Clock.systemUTC());
        return new KubernetesMcs(client, sync.start());
    }

    /** This replica's exports are its registry's. */
    private record RegistryPort(RegistryClient registry, Supplier<MeshView.Snapshot> mesh) implements ExportPort {
        @Override
        public Map<ServiceKey, ServiceExport> exports() {
            Map<ServiceKey, ServiceExport> out = new HashMap<>();
            mesh.get().own().forEach(out::put);
            return out;
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

    /** Why the Kubernetes sync is not ready (empty when it is); the gateway serves what it knows meanwhile. */
    public List<String> notReadyReasons() {
        return sync.notReadyReasons();
    }

    public McsSync.Status status() {
        return sync.status();
    }

    @Override
    public void close() {
        sync.close();
        client.close();
    }
}
