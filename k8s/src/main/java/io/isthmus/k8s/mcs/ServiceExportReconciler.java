package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ExportConflict;
import io.isthmus.api.ImportedService;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.controller.Watch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * The export side of MCS: a ServiceExport with its Service and EndpointSlices becomes this cluster's export in the
 * {@link ExportStore} (offered, replaced or withdrawn), and the ServiceExport's conditions (Valid, Ready, Conflict)
 * say what happened. Keyed by service; a change of any of the three objects, or of the clusterset view (a conflict
 * appears or goes), reconciles that service. In scope the ServiceExports are the source of truth: the full resync
 * also visits every export the store holds there, so one whose ServiceExport went while the gateway was down is
 * withdrawn.
 */
final class ServiceExportReconciler implements McsSide {
    private static final Logger log = LoggerFactory.getLogger(ServiceExportReconciler.class);
    private static final String BY_SERVICE = "by-service";
    /** A store that does not answer within this fails the reconcile (tried again with backoff). */
    private static final Duration STORE_TIMEOUT = Duration.ofSeconds(10);

    private final KubernetesClient client;
    private final McsSettings settings;
    private final ServiceScope scope;
    private final ExportStore exports;
    private final ImportSource imports;
    private final Clock clock;
    private final Watch<ServiceExportResource> serviceExports;
    private final Watch<Service> services;
    private final Watch<EndpointSlice> endpointSlices;

    ServiceExportReconciler(KubernetesClient client, McsSettings settings, ExportStore exports,
                                    ImportSource imports, Clock clock) {
        this.client = client;
        this.settings = settings;
        this.scope = new ServiceScope(settings.namespaces());
        this.exports = exports;
        this.imports = imports;
        this.clock = clock;
        Duration resync = settings.resyncInterval();
        this.serviceExports = Watch.inNamespaces("ServiceExports", client,
                client.resources(ServiceExportResource.class), settings.namespaces(), Optional.empty(), resync);
        this.services = Watch.inNamespaces("Services", client, client.services(), settings.namespaces(),
                Optional.empty(), resync);
        this.endpointSlices = Watch.inNamespaces("EndpointSlices", client, client.discovery().v1().endpointSlices(),
                        settings.namespaces(), Optional.of(Mcs.KUBERNETES_SERVICE_NAME_LABEL), resync)
                .index(BY_SERVICE, slice -> List.of(slice.getMetadata().getNamespace() + "/" + serviceOf(slice)));
    }

    @Override
    public Controller.Builder<ServiceKey> watch(Controller.Builder<ServiceKey> builder) {
        return builder.watch(serviceExports, this::keyOf).watch(services, this::keyOf).watch(endpointSlices,
                slice -> scope.keyOf(slice.getMetadata().getNamespace(), serviceOf(slice)));
    }

    int serviceExports() {
        return serviceExports.list().size();
    }

    /** This cluster's exports in scope. */
    int offered() {
        return (int) exports.exports().keySet().stream().filter(key -> scope.contains(key.namespace())).count();
    }

    private static String serviceOf(EndpointSlice slice) {
        return slice.getMetadata().getLabels().get(Mcs.KUBERNETES_SERVICE_NAME_LABEL);
    }

    private Optional<ServiceKey> keyOf(HasMetadata object) {
        return scope.keyOf(object.getMetadata().getNamespace(), object.getMetadata().getName());
    }

    @Override
    public Collection<ServiceKey> keys() {
        Collection<ServiceKey> keys = new TreeSet<>();
        serviceExports.list().forEach(se -> keyOf(se).ifPresent(keys::add));
        exports.exports().keySet().stream().filter(key -> scope.contains(key.namespace())).forEach(keys::add);
        return keys;
    }

    @Override
    public void reconcile(ServiceKey key) throws Exception {
        Exception failed = reconcileAll(List.of(key)).get(key);
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * What one key needs: the store write (an export to offer, or a withdrawal), if any, and the conditions to
     * set afterwards (none without a ServiceExport).
     */
    private record Plan(ServiceKey key, ServiceExportResource se, ExportTranslation.Outcome outcome,
                        ServiceExport offer, boolean withdraw) {
        boolean writes() {
            return offer != null || withdraw;
        }
    }

    /**
     * Many keys (a full resync, a burst of ServiceExports) at once: every store write they need goes into one
     * stored change ({@link ExportStore#apply}), then each ServiceExport's conditions are set. A failed change
     * fails the keys that had a write in it; the others succeed.
     */
    @Override
    public java.util.Map<ServiceKey, Exception> reconcileAll(List<ServiceKey> keys) throws InterruptedException {
        java.util.Map<ServiceKey, Exception> failed = new java.util.HashMap<>();
        List<Plan> plans = new java.util.ArrayList<>();
        List<ServiceExport> offers = new java.util.ArrayList<>();
        List<ServiceKey> withdrawals = new java.util.ArrayList<>();
        for (ServiceKey key : keys) {
            try {
                Plan plan = plan(key);
                plans.add(plan);
                if (plan.offer() != null) {
                    offers.add(plan.offer());
                } else if (plan.withdraw()) {
                    withdrawals.add(key);
                }
            } catch (RuntimeException e) {
                failed.put(key, e);
            }
        }
        if (!offers.isEmpty() || !withdrawals.isEmpty()) {
            try {
                await(exports.apply(offers, withdrawals));
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                for (Plan plan : plans) {
                    if (plan.writes()) {
                        failed.put(plan.key(), e);
                    }
                }
                plans.removeIf(Plan::writes);
            }
        }
        for (Plan plan : plans) {
            if (plan.se() == null) {
                continue;
            }
            try {
                updateConditions(plan.key(), plan.se(), plan.outcome());
            } catch (RuntimeException e) {
                failed.put(plan.key(), e);
            }
        }
        return failed;
    }

    private Plan plan(ServiceKey key) {
        ServiceExportResource se = serviceExports.get(key.namespace(), key.name());
        ServiceExport current = exports.find(key).orElse(null);
        if (se == null) {
            return withdrawal(key, null, null, current, "it has no ServiceExport");
        }
        Service service = services.get(key.namespace(), key.name());
        List<EndpointSlice> slices = endpointSlices.byIndex(BY_SERVICE, key.namespace() + "/" + key.name());
        ExportTranslation.Outcome outcome = ExportTranslation.translate(se, service, slices);
        return switch (outcome) {
            case ExportTranslation.Offered(ServiceExport wanted) ->
                    // The store keeps the first export time; anything else that differs is a real change.
                    new Plan(key, se, outcome, current == null || !wanted.withExportedAt(current.exportedAt())
                            .equals(current) ? wanted : null, false);
            case ExportTranslation.Withheld withheld -> withdrawal(key, se, outcome, current, withheld.reason());
            case ExportTranslation.Invalid invalid -> withdrawal(key, se, outcome, current, invalid.reason());
        };
    }

    private Plan withdrawal(ServiceKey key, ServiceExportResource se, ExportTranslation.Outcome outcome,
                            ServiceExport current, String why) {
        if (current != null) {
            log.info("cluster {}: withdrawing {}: {}", settings.self(), key, why);
        }
        return new Plan(key, se, outcome, null, current != null);
    }

    private static void await(CompletionStage<Void> stored) throws Exception {
        stored.toCompletableFuture().get(STORE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void updateConditions(ServiceKey key, ServiceExportResource se, ExportTranslation.Outcome outcome) {
        List<ExportConflict> conflicts = !(outcome instanceof ExportTranslation.Offered) ? List.of()
                : imports.directory().find(key).map(ImportedService::conflicts).orElse(List.of()).stream()
                .filter(c -> c.involves(settings.self())).toList();
        List<Condition> current = se.getStatus() == null ? List.of() : se.getStatus().conditions();
        List<Condition> wanted = ExportConditions.of(outcome, conflicts, current, clock.instant());
        if (ExportConditions.same(current, wanted)) {
            return;
        }
        // A failed write fails the reconcile: the shell tries again, as the informer's next update would.
        client.resources(ServiceExportResource.class).inNamespace(key.namespace()).withName(key.name())
                .editStatus(latest -> {
                    latest.setStatus(new ServiceExportStatus(wanted));
                    return latest;
                });
        log.debug("cluster {}: ServiceExport {} conditions now {}", settings.self(), key, wanted);
    }
}
