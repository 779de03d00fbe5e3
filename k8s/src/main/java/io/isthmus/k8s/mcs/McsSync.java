package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ExportConflict;
import io.isthmus.api.ImportedService;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceDirectory;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The MCS controller of one gateway replica, both directions:
 * <ul>
 *   <li><b>exports</b>: informers on ServiceExports, Services and EndpointSlices; each change of one of them
 *       reconciles that service's export in the {@link ExportPort} (offer, replace or withdraw) and the
 *       ServiceExport's conditions (Valid, Ready, Conflict);</li>
 *   <li><b>imports</b>: whenever the clusterset's merged view ({@link ImportSource}) changes, the ServiceImports and
 *       imported EndpointSlices in this cluster are made to match it: created, updated, and the ones we wrote that
 *       are no longer wanted deleted.</li>
 * </ul>
 * Every step compares what is wanted with what is there, so it can run any number of times: a watch that drops and
 * comes back (fabric8's informers list again and reopen it), a restart, or the periodic full resync cause neither
 * duplicates nor losses. Nothing is withdrawn because the API server is away: the informers' caches keep the last
 * known state, the gateway keeps serving it, and {@link #notReadyReasons()} says that the sync is down.
 *
 * <p>In the namespaces it watches, the ServiceExports are the source of truth for this cluster's exports: an
 * export there without a ServiceExport is withdrawn by the full resync (so that one deleted while the gateway was
 * down goes too). All the work runs on one thread; informer callbacks only hand keys to it.
 */
public final class McsSync implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(McsSync.class);
    private static final String BY_SERVICE = "by-service";
    private static final String BY_IMPORT = "by-import";
    /** How soon a failed write to the API server or the export registry is tried again. */
    private static final Duration RETRY = Duration.ofSeconds(1);

    /**
     * @param self           this cluster's id
     * @param namespaces     the namespaces watched and written; empty: all of them
     * @param resyncInterval how often everything is reconciled from the informers' caches, changes or not
     * @param pollInterval   how often the clusterset view is checked for changes (a reference comparison)
     */
    public record Settings(ClusterId self, List<String> namespaces, Duration resyncInterval, Duration pollInterval) {
        public Settings {
            namespaces = List.copyOf(namespaces);
            Objects.requireNonNull(self, "self");
            if (resyncInterval.isNegative() || resyncInterval.isZero()) {
                throw new InvalidFieldException("resync-interval", resyncInterval, "must be positive");
            }
            if (pollInterval.isNegative() || pollInterval.isZero()) {
                throw new InvalidFieldException("poll-interval", pollInterval, "must be positive");
            }
        }
    }

    /** What the sync is doing, for the status API. */
    public record Status(String apiServer, boolean synced, boolean watching, int serviceExports, int offered,
                         int serviceImports, int importedSlices, Instant lastFullResyncAt, String lastError,
                         Instant lastErrorAt) {
    }

    private final KubernetesClient client;
    private final Settings settings;
    private final ExportPort exports;
    private final ImportSource imports;
    private final Clock clock;
    private final ScheduledExecutorService worker;

    private Watched<ServiceExportResource> serviceExports;
    private Watched<Service> services;
    private Watched<EndpointSlice> endpointSlices;
    private Watched<ServiceImportResource> writtenImports;
    private Watched<EndpointSlice> writtenSlices;

    // Only touched on the worker thread.
    private final Set<ServiceKey> dirtyExports = new LinkedHashSet<>();
    private final Map<ServiceKey, ExportTranslation.Outcome> outcomes = new HashMap<>();
    /** Services whose ServiceImport and slices are to be reconciled; {@code allImportsDirty}: every one. */
    private final Set<ServiceKey> dirtyImports = new LinkedHashSet<>();
    private boolean allImportsDirty = true;
    private boolean everSynced;
    private ServiceDirectory lastDirectory;
    private Instant importsRetryAt = Instant.MIN;
    private Instant nextFullResync = Instant.MIN;

    private volatile Instant lastFullResyncAt;
    private volatile String lastError;
    private volatile Instant lastErrorAt;
    private volatile boolean closed;

    public McsSync(KubernetesClient client, Settings settings, ExportPort exports, ImportSource imports, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.exports = exports;
        this.imports = imports;
        this.clock = clock;
        this.worker = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
                .name("isthmus-mcs-" + settings.self().value()).factory());
    }

    /** Starts the informers (without waiting for the API server) and the worker. */
    public McsSync start() {
        serviceExports = watch("ServiceExports", client.resources(ServiceExportResource.class), null,
                Map.of(), this::exportKey, dirtyExports);
        services = watch("Services", client.services(), null, Map.of(), this::exportKey, dirtyExports);
        endpointSlices = watch("EndpointSlices", client.discovery().v1().endpointSlices(),
                Mcs.KUBERNETES_SERVICE_NAME_LABEL,
                Map.of(BY_SERVICE, slice -> List.of(slice.getMetadata().getNamespace() + "/"
                        + slice.getMetadata().getLabels().get(Mcs.KUBERNETES_SERVICE_NAME_LABEL))),
                slice -> new ServiceKeyRef(slice.getMetadata().getNamespace(),
                        slice.getMetadata().getLabels().get(Mcs.KUBERNETES_SERVICE_NAME_LABEL)), dirtyExports);
        // What we wrote is watched too: a change made by someone else, or a deletion, is put right.
        writtenImports = watch("ServiceImports", client.resources(ServiceImportResource.class),
                Mcs.MANAGED_BY_LABEL + "=" + Mcs.MANAGED_BY, Map.of(), this::exportKey, dirtyImports);
        writtenSlices = watch("imported EndpointSlices", client.discovery().v1().endpointSlices(),
                Mcs.MANAGED_BY_LABEL + "=" + Mcs.MANAGED_BY + "," + Mcs.SERVICE_NAME_LABEL,
                Map.of(BY_IMPORT, slice -> List.of(slice.getMetadata().getNamespace() + "/"
                        + slice.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL))),
                slice -> new ServiceKeyRef(slice.getMetadata().getNamespace(),
                        slice.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL)), dirtyImports);
        long poll = settings.pollInterval().toMillis();
        worker.scheduleWithFixedDelay(this::tick, poll, poll, TimeUnit.MILLISECONDS);
        log.info("cluster {}: MCS sync with {} in {}", settings.self(), client.getMasterUrl(),
                settings.namespaces().isEmpty() ? "all namespaces" : "namespaces " + settings.namespaces());
        return this;
    }

    /** A service named by an object's namespace and name, before it is known to be a valid ServiceKey. */
    private record ServiceKeyRef(String namespace, String name) {
    }

    private ServiceKeyRef exportKey(HasMetadata object) {
        return new ServiceKeyRef(object.getMetadata().getNamespace(), object.getMetadata().getName());
    }

    /** One kind of object, watched in every namespace of the scope (one informer each, or one for all). */
    private final class Watched<T extends HasMetadata> {
        final String what;
        final List<SharedIndexInformer<T>> informers;

        Watched(String what, List<SharedIndexInformer<T>> informers) {
            this.what = what;
            this.informers = informers;
        }

        T get(String namespace, String name) {
            for (SharedIndexInformer<T> informer : informers) {
                T found = informer.getIndexer().getByKey(namespace + "/" + name);
                if (found != null) {
                    return found;
                }
            }
            return null;
        }

        List<T> byIndex(String index, String key) {
            List<T> out = new ArrayList<>();
            informers.forEach(informer -> out.addAll(informer.getIndexer().byIndex(index, key)));
            return out;
        }

        List<T> list() {
            List<T> out = new ArrayList<>();
            informers.forEach(informer -> out.addAll(informer.getStore().list()));
            return out;
        }

        boolean synced() {
            return informers.stream().allMatch(SharedIndexInformer::hasSynced);
        }

        boolean watching() {
            return informers.stream().allMatch(SharedIndexInformer::isWatching);
        }

        void close() {
            informers.forEach(SharedIndexInformer::stop);
        }
    }

    private <T extends HasMetadata, L> Watched<T> watch(
            String what, MixedOperation<T, L, ? extends Resource<T>> operation, String labelSelector,
            Map<String, Function<T, List<String>>> indexers, Function<T, ServiceKeyRef> keyOf, Set<ServiceKey> dirty) {
        List<SharedIndexInformer<T>> informers = new ArrayList<>();
        List<String> scopes = settings.namespaces().isEmpty() ? java.util.Collections.singletonList(null) : settings.namespaces();
        for (String namespace : scopes) {
            var inScope = namespace == null ? operation.inAnyNamespace() : operation.inNamespace(namespace);
            var selected = labelSelector == null ? inScope : inScope.withLabelSelector(labelSelector);
            SharedIndexInformer<T> informer = selected.runnableInformer(settings.resyncInterval().toMillis());
            if (!indexers.isEmpty()) {
                informer.addIndexers(indexers);
            }
            informer.exceptionHandler((started, failure) -> {
                // Keep trying for as long as we run, whatever the failure: the API server may come back.
                noteError("watch " + what + " on " + client.getMasterUrl(), failure);
                return true;
            });
            informer.addEventHandler(new ResourceEventHandler<T>() {
                @Override
                public void onAdd(T object) {
                    changed(object);
                }

                @Override
                public void onUpdate(T before, T after) {
                    changed(after);
                }

                @Override
                public void onDelete(T object, boolean finalStateUnknown) {
                    changed(object);
                }

                private void changed(T object) {
                    ServiceKeyRef ref = keyOf.apply(object);
                    submit(() -> mark(ref, dirty));
                }
            });
            informer.start().whenComplete((ok, failure) -> {
                if (failure != null) {
                    noteError("list " + what + " on " + client.getMasterUrl(), failure);
                }
            });
            informers.add(informer);
        }
        return new Watched<>(what, informers);
    }

    private void submit(Runnable task) {
        if (!closed) {
            try {
                worker.execute(task);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    private void mark(ServiceKeyRef ref, Set<ServiceKey> dirty) {
        if (ref.name() == null || !inScope(ref.namespace())) {
            return;
        }
        try {
            dirty.add(new ServiceKey(ref.namespace(), ref.name()));
        } catch (InvalidFieldException e) {
            log.debug("ignoring {}/{}: {}", ref.namespace(), ref.name(), e.getMessage());
        }
    }

    private boolean inScope(String namespace) {
        return settings.namespaces().isEmpty() || settings.namespaces().contains(namespace);
    }

    private boolean exportSideSynced() {
        return serviceExports.synced() && services.synced() && endpointSlices.synced();
    }

    private boolean importSideSynced() {
        return writtenImports.synced() && writtenSlices.synced();
    }

    /** The worker's loop: full resync when due, the changed exports, the imports when the view changed. */
    private void tick() {
        try {
            Instant now = clock.instant();
            if (!exportSideSynced() || !importSideSynced()) {
                return; // nothing is decided on a partial picture
            }
            if (!everSynced || !now.isBefore(nextFullResync)) {
                everSynced = true;
                nextFullResync = now.plus(settings.resyncInterval());
                fullResync();
                lastFullResyncAt = now;
            }
            if (!dirtyExports.isEmpty()) {
                List<ServiceKey> keys = List.copyOf(dirtyExports);
                dirtyExports.clear();
                Map<ServiceKey, ServiceExport> current = exports.exports();
                keys.forEach(key -> reconcileExport(key, current));
            }
            ServiceDirectory directory = imports.directory();
            if (directory != lastDirectory) {
                // Snapshots of one lineage differ in O(changes × log n): only the services that changed are looked at.
                List<ServiceKey> changed = new ArrayList<>();
                ServiceDirectory.diff(lastDirectory == null ? ServiceDirectory.EMPTY : lastDirectory, directory,
                        (key, before, after) -> changed.add(key));
                lastDirectory = directory;
                for (ServiceKey key : changed) {
                    dirtyImports.add(key);
                    // A conflict shows up (or goes) in the merged view: the ServiceExport's conditions may change.
                    ServiceExportResource se = serviceExports.get(key.namespace(), key.name());
                    if (se != null) {
                        updateConditions(se, directory);
                    }
                }
            }
            if ((allImportsDirty || !dirtyImports.isEmpty()) && !now.isBefore(importsRetryAt)) {
                reconcileImports(directory);
            }
        } catch (RuntimeException e) {
            noteError("reconcile", e);
        }
    }

    /** Everything, from the caches: every ServiceExport, every export in scope, every import. */
    private void fullResync() {
        Set<ServiceKey> keys = new TreeSet<>();
        for (ServiceExportResource se : serviceExports.list()) {
            try {
                keys.add(new ServiceKey(se.getMetadata().getNamespace(), se.getMetadata().getName()));
            } catch (InvalidFieldException e) {
                log.debug("ignoring ServiceExport {}: {}", se.getMetadata().getName(), e.getMessage());
            }
        }
        Map<ServiceKey, ServiceExport> current = exports.exports();
        current.keySet().stream().filter(key -> inScope(key.namespace())).forEach(keys::add);
        keys.forEach(key -> reconcileExport(key, current));
        allImportsDirty = true;
    }

    /** @param exported this cluster's exports, read once per round (reading them costs O(n)) */
    private void reconcileExport(ServiceKey key, Map<ServiceKey, ServiceExport> exported) {
        ServiceExportResource se = serviceExports.get(key.namespace(), key.name());
        ServiceExport current = exported.get(key);
        if (se == null) {
            outcomes.remove(key);
            if (current != null) {
                log.info("cluster {}: withdrawing {}: it has no ServiceExport", settings.self(), key);
                exports.unexport(key).whenComplete((ok, failure) -> retryOnFailure(key, "withdraw the export of " + key, failure));
            }
            return;
        }
        Service service = services.get(key.namespace(), key.name());
        List<EndpointSlice> slices = endpointSlices.byIndex(BY_SERVICE, key.namespace() + "/" + key.name());
        ExportTranslation.Outcome outcome = ExportTranslation.translate(se, service, slices);
        outcomes.put(key, outcome);
        switch (outcome) {
            case ExportTranslation.Offered(ServiceExport wanted) -> {
                // The registry keeps the first export time; anything else that differs is a real change.
                if (current == null || !wanted.withExportedAt(current.exportedAt()).equals(current)) {
                    exports.export(wanted).whenComplete((ok, failure) -> retryOnFailure(key, "export " + key, failure));
                }
            }
            case ExportTranslation.Withheld w -> withdraw(key, current, w.reason());
            case ExportTranslation.Invalid i -> withdraw(key, current, i.reason());
        }
        updateConditions(se, imports.directory());
    }

    private void withdraw(ServiceKey key, ServiceExport current, String why) {
        if (current != null) {
            log.info("cluster {}: withdrawing {}: {}", settings.self(), key, why);
            exports.unexport(key).whenComplete((ok, failure) -> retryOnFailure(key, "withdraw the export of " + key, failure));
        }
    }

    private void retryOnFailure(ServiceKey key, String what, Throwable failure) {
        if (failure != null) {
            noteError(what, failure);
            worker.schedule(() -> dirtyExports.add(key), RETRY.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void updateConditions(ServiceExportResource se, ServiceDirectory directory) {
        ServiceKey key;
        try {
            key = new ServiceKey(se.getMetadata().getNamespace(), se.getMetadata().getName());
        } catch (InvalidFieldException e) {
            key = null;
        }
        ExportTranslation.Outcome outcome = key == null
                ? new ExportTranslation.Invalid("InvalidName", "namespace and name must be DNS labels to be exported")
                : outcomes.get(key);
        if (outcome == null) {
            return; // not reconciled yet: reconcileExport comes back here
        }
        ServiceKey service = key;
        List<ExportConflict> conflicts = key == null || !(outcome instanceof ExportTranslation.Offered) ? List.of()
                : directory.find(key).map(ImportedService::conflicts).orElse(List.of()).stream()
                .filter(c -> c.involves(settings.self())).toList();
        List<Condition> current = se.getStatus() == null ? List.of() : se.getStatus().conditions();
        List<Condition> wanted = ExportConditions.of(outcome, conflicts, current, clock.instant());
        if (ExportConditions.same(current, wanted)) {
            return;
        }
        try {
            client.resources(ServiceExportResource.class).inNamespace(se.getMetadata().getNamespace())
                    .withName(se.getMetadata().getName()).editStatus(latest -> {
                        latest.setStatus(new ServiceExportStatus(wanted));
                        return latest;
                    });
            log.debug("cluster {}: ServiceExport {} conditions now {}", settings.self(), service, wanted);
        } catch (KubernetesClientException e) {
            // The informer's update (or the retry below) brings us back here.
            noteError("set the conditions of ServiceExport " + se.getMetadata().getNamespace() + "/"
                    + se.getMetadata().getName(), e);
            if (service != null) {
                worker.schedule(() -> dirtyExports.add(service), RETRY.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    /**
     * Makes the ServiceImports and imported EndpointSlices we own match the clusterset's view: for the services
     * marked dirty, or for every service we hold or should hold after a full resync. A failed write marks its
     * service again, to be tried after {@link #RETRY}.
     */
    private void reconcileImports(ServiceDirectory directory) {
        Set<ServiceKey> keys = new TreeSet<>(dirtyImports);
        dirtyImports.clear();
        if (allImportsDirty) {
            allImportsDirty = false;
            keys.addAll(directory.services().keySet());
            for (HasMetadata written : writtenImports.list()) {
                keyOf(written.getMetadata().getNamespace(), written.getMetadata().getName()).ifPresent(keys::add);
            }
            for (EndpointSlice written : writtenSlices.list()) {
                keyOf(written.getMetadata().getNamespace(), written.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL))
                        .ifPresent(keys::add);
            }
        }
        Set<ServiceKey> failed = new TreeSet<>();
        for (ServiceKey key : keys) {
            if (inScope(key.namespace()) && !reconcileImport(key, directory.find(key).orElse(null))) {
                failed.add(key);
            }
        }
        if (!failed.isEmpty()) {
            dirtyImports.addAll(failed);
            importsRetryAt = clock.instant().plus(RETRY);
        }
    }

    private static java.util.Optional<ServiceKey> keyOf(String namespace, String name) {
        try {
            return java.util.Optional.of(new ServiceKey(namespace, name));
        } catch (InvalidFieldException | NullPointerException e) {
            return java.util.Optional.empty();
        }
    }

    /** One service's ServiceImport and slices; {@code service} null: it is no longer in the clusterset. */
    private boolean reconcileImport(ServiceKey key, ImportedService service) {
        boolean wanted = service != null && ImportTranslation.importedBy(service, settings.self());
        Map<String, EndpointSlice> wantedSlices = new HashMap<>();
        boolean ok = true;
        ServiceImportResource actualImport = writtenImports.get(key.namespace(), key.name());
        if (wanted) {
            ServiceImportResource wantedImport = ImportTranslation.serviceImport(service);
            ok &= write("ServiceImport", wantedImport, () -> writeImport(wantedImport, actualImport));
            for (EndpointSlice slice : ImportTranslation.endpointSlices(service, settings.self())) {
                wantedSlices.put(slice.getMetadata().getName(), slice);
            }
        }
        List<EndpointSlice> actualSlices = writtenSlices.byIndex(BY_IMPORT, key.namespace() + "/" + key.name());
        for (EndpointSlice slice : wantedSlices.values()) {
            EndpointSlice actual = actualSlices.stream()
                    .filter(a -> a.getMetadata().getName().equals(slice.getMetadata().getName())).findFirst().orElse(null);
            if (actual == null || !SliceContent.of(actual).equals(SliceContent.of(slice))) {
                ok &= write("EndpointSlice", slice, () -> createOrUpdate(slice, actual));
            }
        }
        for (EndpointSlice actual : actualSlices) {
            if (!wantedSlices.containsKey(actual.getMetadata().getName())) {
                ok &= write("EndpointSlice", actual, () -> client.resource(actual).delete());
            }
        }
        if (!wanted && actualImport != null) {
            ok &= write("ServiceImport", actualImport, () -> client.resource(actualImport).delete());
        }
        return ok;
    }

    private void writeImport(ServiceImportResource wanted, ServiceImportResource actual) {
        var resource = client.resources(ServiceImportResource.class).inNamespace(wanted.getMetadata().getNamespace())
                .withName(wanted.getMetadata().getName());
        if (actual == null || !Objects.equals(actual.getSpec(), wanted.getSpec())) {
            ServiceImportResource spec = new ServiceImportResource();
            spec.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder(wanted.getMetadata()).build());
            spec.setSpec(wanted.getSpec());
            createOrUpdate(spec, actual);
        }
        if (actual == null || !Objects.equals(actual.getStatus(), wanted.getStatus())) {
            resource.editStatus(latest -> {
                latest.setStatus(wanted.getStatus());
                return latest;
            });
        }
    }

    /**
     * Creates {@code wanted}, or replaces {@code actual} (as the informer last saw it) with it. A replace from a
     * stale view fails with a conflict and is tried again with the view the informer brings next.
     */
    private <T extends HasMetadata> void createOrUpdate(T wanted, T actual) {
        if (actual == null) {
            client.resource(wanted).create();
        } else {
            wanted.getMetadata().setResourceVersion(actual.getMetadata().getResourceVersion());
            client.resource(wanted).update();
        }
    }

    private boolean write(String kind, HasMetadata object, Runnable action) {
        try {
            action.run();
            return true;
        } catch (KubernetesClientException e) {
            noteError("write " + kind + " " + object.getMetadata().getNamespace() + "/" + object.getMetadata().getName(), e);
            return false;
        }
    }

    /** What we compare of an imported EndpointSlice: fields the API server may default are left out. */
    private record SliceContent(Map<String, String> labels, String addressType, List<List<String>> endpoints,
                                List<String> ports) {
        static SliceContent of(EndpointSlice slice) {
            List<List<String>> endpoints = slice.getEndpoints() == null ? List.of() : slice.getEndpoints().stream()
                    .map(e -> List.of(String.valueOf(e.getAddresses()), String.valueOf(e.getHostname()),
                            String.valueOf(e.getConditions() == null ? null : e.getConditions().getReady())))
                    .toList();
            List<String> ports = slice.getPorts() == null ? List.of() : slice.getPorts().stream()
                    .map(p -> p.getName() + ":" + p.getPort() + "/" + p.getProtocol()).toList();
            return new SliceContent(slice.getMetadata().getLabels() == null ? Map.of() : slice.getMetadata().getLabels(),
                    slice.getAddressType(), endpoints, ports);
        }
    }

    private void noteError(String what, Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getMessage() == null) {
            cause = cause.getCause();
        }
        String message = "could not " + what + ": " + cause.getMessage();
        if (!message.equals(lastError)) {
            log.warn("cluster {}: {}", settings.self(), message);
        }
        lastError = message;
        lastErrorAt = clock.instant();
    }

    /**
     * Why the Kubernetes sync is not ready (empty when it is): an informer that has not listed its objects yet, or
     * whose watch is down. Meanwhile the gateway serves what it knows.
     */
    public List<String> notReadyReasons() {
        if (serviceExports == null) {
            return List.of("kubernetes sync not started");
        }
        List<String> reasons = new ArrayList<>();
        for (Watched<?> watched : List.of(serviceExports, services, endpointSlices, writtenImports, writtenSlices)) {
            if (!watched.synced()) {
                reasons.add("kubernetes: " + watched.what + " not yet listed from " + client.getMasterUrl());
            } else if (!watched.watching()) {
                reasons.add("kubernetes: watch of " + watched.what + " on " + client.getMasterUrl()
                        + " is down, serving what is known" + (lastError == null ? "" : " (" + lastError + ")"));
            }
        }
        return reasons;
    }

    public Status status() {
        boolean started = serviceExports != null;
        List<Watched<?>> all = started ? List.of(serviceExports, services, endpointSlices, writtenImports, writtenSlices) : List.of();
        boolean synced = started && all.stream().allMatch(Watched::synced);
        boolean watching = started && all.stream().allMatch(Watched::watching);
        int offered = (int) exports.exports().keySet().stream().filter(key -> inScope(key.namespace())).count();
        return new Status(client.getMasterUrl().toString(), synced, watching,
                started ? serviceExports.list().size() : 0, offered,
                started ? writtenImports.list().size() : 0, started ? writtenSlices.list().size() : 0,
                lastFullResyncAt, lastError, lastErrorAt);
    }

    /** Stops the informers and the worker; what was exported stays exported (stop is not remove). */
    @Override
    public void close() {
        closed = true;
        for (Watched<?> watched : java.util.Arrays.asList(serviceExports, services, endpointSlices, writtenImports, writtenSlices)) {
            if (watched != null) {
                watched.close();
            }
        }
        worker.shutdownNow();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
