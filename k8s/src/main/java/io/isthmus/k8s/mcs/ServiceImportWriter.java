package io.isthmus.k8s.mcs;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ImportedService;
import io.isthmus.api.ServiceKey;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.controller.Watch;

import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The import side of MCS: the clusterset's merged view ({@link ImportSource}) becomes ServiceImports and imported
 * EndpointSlices in this cluster: created, updated, and the ones we wrote that are no longer wanted deleted. Keyed by
 * service; a change in the view, or in what we wrote (someone else's edit or delete is put right), reconciles that
 * service. A write is made only when what is there differs, so a resync writes nothing when all is in place.
 */
final class ServiceImportWriter implements McsSide {
    private static final String BY_IMPORT = "by-import";
    private static final String MANAGED = Mcs.MANAGED_BY_LABEL + "=" + Mcs.MANAGED_BY;

    private final KubernetesClient client;
    private final ClusterId self;
    private final ServiceScope scope;
    private final ImportSource imports;
    private final Watch<ServiceImportResource> writtenImports;
    private final Watch<EndpointSlice> writtenSlices;

    ServiceImportWriter(KubernetesClient client, McsSettings settings, ImportSource imports) {
        this.client = client;
        this.self = settings.self();
        this.scope = new ServiceScope(settings.namespaces());
        this.imports = imports;
        this.writtenImports = Watch.inNamespaces("ServiceImports", client,
                client.resources(ServiceImportResource.class), settings.namespaces(), Optional.of(MANAGED),
                settings.resyncInterval());
        this.writtenSlices = Watch.inNamespaces("imported EndpointSlices", client,
                        client.discovery().v1().endpointSlices(), settings.namespaces(),
                        Optional.of(MANAGED + "," + Mcs.SERVICE_NAME_LABEL), settings.resyncInterval())
                .index(BY_IMPORT, slice -> List.of(slice.getMetadata().getNamespace() + "/" + serviceOf(slice)));
    }

    @Override
    public Controller.Builder<ServiceKey> watch(Controller.Builder<ServiceKey> builder) {
        return builder
                .watch(writtenImports, si -> scope.keyOf(si.getMetadata().getNamespace(), si.getMetadata().getName()))
                .watch(writtenSlices, slice -> scope.keyOf(slice.getMetadata().getNamespace(), serviceOf(slice)));
    }

    int serviceImports() {
        return writtenImports.list().size();
    }

    int importedSlices() {
        return writtenSlices.list().size();
    }

    private static String serviceOf(EndpointSlice slice) {
        return slice.getMetadata().getLabels().get(Mcs.SERVICE_NAME_LABEL);
    }

    @Override
    public Collection<ServiceKey> keys() {
        Collection<ServiceKey> keys = new TreeSet<>();
        imports.directory().services().keySet().stream().filter(key -> scope.contains(key.namespace()))
                .forEach(keys::add);
        writtenImports.list().forEach(si -> scope.keyOf(si.getMetadata().getNamespace(), si.getMetadata().getName())
                .ifPresent(keys::add));
        writtenSlices.list().forEach(slice -> scope.keyOf(slice.getMetadata().getNamespace(), serviceOf(slice))
                .ifPresent(keys::add));
        return keys;
    }

    /** One service's ServiceImport and slices; gone from the view (or not imported here): ours are deleted. */
    @Override
    public void reconcile(ServiceKey key) {
        ImportedService service = imports.directory().find(key).orElse(null);
        boolean wanted = service != null && ImportTranslation.importedBy(service, self);
        Map<String, EndpointSlice> wantedSlices = new HashMap<>();
        ServiceImportResource actualImport = writtenImports.get(key.namespace(), key.name());
        if (wanted) {
            writeImport(ImportTranslation.serviceImport(service), actualImport);
            for (EndpointSlice slice : ImportTranslation.endpointSlices(service, self)) {
                wantedSlices.put(slice.getMetadata().getName(), slice);
            }
        }
        List<EndpointSlice> actualSlices = writtenSlices.byIndex(BY_IMPORT, key.namespace() + "/" + key.name());
        for (EndpointSlice slice : wantedSlices.values()) {
            EndpointSlice actual = actualSlices.stream()
                    .filter(a -> a.getMetadata().getName().equals(slice.getMetadata().getName())).findFirst().orElse(null);
            if (actual == null || !SliceContent.of(actual).equals(SliceContent.of(slice))) {
                createOrUpdate(slice, actual);
            }
        }
        for (EndpointSlice actual : actualSlices) {
            if (!wantedSlices.containsKey(actual.getMetadata().getName())) {
                client.resource(actual).delete();
            }
        }
        if (!wanted && actualImport != null) {
            client.resource(actualImport).delete();
        }
    }

    private void writeImport(ServiceImportResource wanted, ServiceImportResource actual) {
        if (actual == null || !Objects.equals(actual.getSpec(), wanted.getSpec())) {
            ServiceImportResource spec = new ServiceImportResource();
            spec.setMetadata(new ObjectMetaBuilder(wanted.getMetadata()).build());
            spec.setSpec(wanted.getSpec());
            createOrUpdate(spec, actual);
        }
        if (actual == null || !Objects.equals(actual.getStatus(), wanted.getStatus())) {
            client.resources(ServiceImportResource.class).inNamespace(wanted.getMetadata().getNamespace())
                    .withName(wanted.getMetadata().getName()).editStatus(latest -> {
                        latest.setStatus(wanted.getStatus());
                        return latest;
                    });
        }
    }

    /**
     * Creates {@code wanted}, or replaces {@code actual} (as the informer last saw it) with it. A replace from a
     * stale view fails with a conflict and is tried again (the shell's retry) with the view the informer brings.
     */
    private <T extends HasMetadata> void createOrUpdate(T wanted, T actual) {
        if (actual == null) {
            client.resource(wanted).create();
        } else {
            wanted.getMetadata().setResourceVersion(actual.getMetadata().getResourceVersion());
            client.resource(wanted).update();
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
}
