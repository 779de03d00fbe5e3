package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import io.isthmus.k8s.controller.Controller;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * The MCS sync of one gateway replica, both directions, as two controllers in the {@link Controller} shell:
 * {@link ServiceExportReconciler} (ServiceExport + Service + EndpointSlices → the {@link ExportStore}, and the
 * ServiceExport's conditions) and {@link ServiceImportWriter} (the clusterset view → ServiceImports and imported
 * EndpointSlices). Every step compares what is wanted with what is there, so it can run any number of times: a watch
 * that drops and comes back, a restart, or the periodic full resync cause neither duplicates nor losses. Nothing is
 * withdrawn because the API server is away: the caches keep the last known state, the gateway keeps serving it, and
 * {@link #notReadyReasons()} says that the sync is down.
 */
public final class McsSync implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(McsSync.class);


    /** What the sync is doing, for the status API. */
    public record Status(String apiServer, boolean synced, boolean watching, int serviceExports, int offered,
                         int serviceImports, int importedSlices, Instant lastFullResyncAt, String lastError,
                         Instant lastErrorAt) {
    }

    private final KubernetesClient client;
    private final McsSettings settings;
    private final ExportStore exports;
    private final ImportSource imports;
    private final Clock clock;
    private ServiceExportReconciler exportSide;
    private ServiceImportWriter importSide;
    private List<Controller<ServiceKey>> controllers = List.of();


    public McsSync(KubernetesClient client, McsSettings settings, ExportStore exports, ImportSource imports, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.exports = exports;
        this.imports = imports;
        this.clock = clock;
    }

    /** Starts both controllers (without waiting for the API server). */
    public McsSync start() {
        exportSide = new ServiceExportReconciler(client, settings, exports, imports, clock);
        importSide = new ServiceImportWriter(client, settings, imports);
        controllers = List.of(run("mcs-exports", exportSide), run("mcs-imports", importSide));
        log.info("cluster {}: MCS sync with {} in {}", settings.self(), client.getMasterUrl(),
                settings.namespaces().isEmpty() ? "all namespaces" : "namespaces " + settings.namespaces());
        return this;
    }

    /** Both sides look at a service again when its entry in the clusterset view changed (conflicts, imports). */
    private Controller<ServiceKey> run(String name, McsSide side) {
        DirectoryChanges changes = new DirectoryChanges(imports, new ServiceScope(settings.namespaces()));
        return side.watch(Controller.named(name)).poll(settings.pollInterval(), changes::changed)
                .resyncEvery(settings.resyncInterval()).clock(clock).start(side);
    }

    /** Why the sync is not ready (empty when it is); meanwhile the gateway serves what it knows. */
    public List<String> notReadyReasons() {
        if (exportSide == null) {
            return List.of("kubernetes sync not started");
        }
        List<String> reasons = new ArrayList<>();
        controllers.forEach(controller -> reasons.addAll(controller.notReadyReasons()));
        return reasons;
    }

    public Status status() {
        List<Controller.Status> statuses = controllers.stream().map(Controller::status).toList();
        boolean started = !statuses.isEmpty();
        Controller.Status latestError = statuses.stream().filter(s -> s.lastErrorAt() != null)
                .max(Comparator.comparing(Controller.Status::lastErrorAt)).orElse(null);
        // A full resync of the sync is one of each side: the older of the two, none while either has not run.
        Instant resync = statuses.stream().anyMatch(s -> s.lastFullResyncAt() == null) ? null : statuses.stream()
                .map(Controller.Status::lastFullResyncAt).min(Comparator.naturalOrder()).orElse(null);
        return new Status(client.getMasterUrl().toString(),
                started && statuses.stream().allMatch(Controller.Status::synced),
                started && statuses.stream().allMatch(Controller.Status::watching),
                started ? exportSide.serviceExports() : 0, started ? exportSide.offered() : 0,
                started ? importSide.serviceImports() : 0, started ? importSide.importedSlices() : 0, resync,
                latestError == null ? null : latestError.lastError(),
                latestError == null ? null : latestError.lastErrorAt());
    }

    /** Stops both controllers, imports first; what was exported stays exported (stop is not remove). */
    @Override
    public void close() {
        controllers.reversed().forEach(Controller::close);
    }
}
