package io.isthmus.k8s.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One kind of object watched: one informer per namespace of a scope, or one for all namespaces (or for a
 * cluster-scoped kind). Made with informers that are not started ({@code runnableInformer}); whoever owns the watch
 * (a {@link Controller}, or a cache such as PodOwners) starts it, without waiting for the API server, and stops it.
 * Its cache answers lookups; {@link #notReadyReason} says when it has not listed yet or its watch is down.
 */
public final class Watch<T extends HasMetadata> {
    private final String what;
    private final String apiServer;
    private final List<SharedIndexInformer<T>> informers;

    private Watch(String what, String apiServer, List<SharedIndexInformer<T>> informers) {
        this.what = what;
        this.apiServer = apiServer;
        this.informers = List.copyOf(informers);
    }

    /**
     * {@code what} (e.g. "ServiceExports") in {@code namespaces} (empty: all), optionally with a label selector;
     * {@code resync} re-delivers the cache to the handlers (zero: never).
     */
    public static <T extends HasMetadata, L> Watch<T> inNamespaces(
            String what, KubernetesClient client, MixedOperation<T, L, ? extends Resource<T>> operation,
            List<String> namespaces, Optional<String> labelSelector, Duration resync) {
        List<SharedIndexInformer<T>> informers = new ArrayList<>();
        for (String namespace : namespaces.isEmpty() ? Collections.<String>singletonList(null) : namespaces) {
            var inScope = namespace == null ? operation.inAnyNamespace() : operation.inNamespace(namespace);
            var selected = labelSelector.isEmpty() ? inScope : inScope.withLabelSelector(labelSelector.get());
            informers.add(selected.runnableInformer(resync.toMillis()));
        }
        return new Watch<>(what, client.getMasterUrl().toString(), informers);
    }

    /** A cluster-scoped kind (ClusterPeer, IPPool, Namespace): one informer, cache keys are the names. */
    public static <T extends HasMetadata> Watch<T> clusterScoped(String what, KubernetesClient client,
                                                                 Informable<T> operation) {
        return new Watch<>(what, client.getMasterUrl().toString(), List.of(operation.runnableInformer(0)));
    }

    /** Adds an index to every informer (before start), for {@link #byIndex}. */
    public Watch<T> index(String name, Function<T, List<String>> indexer) {
        informers.forEach(informer -> informer.addIndexers(Map.of(name, indexer)));
        return this;
    }

    public String what() {
        return what;
    }

    /**
     * Starts the informers: each added, changed or deleted object (and each resync) is handed to {@code changed};
     * list and watch failures go to {@code failed} (with what was being done) and are retried for as long as we run.
     */
    public void start(Consumer<T> changed, BiConsumer<String, Throwable> failed) {
        for (SharedIndexInformer<T> informer : informers) {
            informer.exceptionHandler((started, failure) -> {
                failed.accept("watch " + what + " on " + apiServer, failure);
                return true; // the API server may come back
            });
            informer.addEventHandler(new ResourceEventHandler<>() {
                @Override
                public void onAdd(T object) {
                    changed.accept(object);
                }

                @Override
                public void onUpdate(T before, T after) {
                    changed.accept(after);
                }

                @Override
                public void onDelete(T object, boolean finalStateUnknown) {
                    changed.accept(object);
                }
            });
            informer.start().whenComplete((ok, failure) -> {
                if (failure != null) {
                    failed.accept("list " + what + " on " + apiServer, failure);
                }
            });
        }
    }

    /** Starts the informers for their caches alone (no handler). */
    public void start() {
        start(object -> { }, (doing, failure) -> { });
    }

    /** The object of that namespace (null for a cluster-scoped kind) and name in the cache, or null. */
    public T get(String namespace, String name) {
        String key = namespace == null ? name : namespace + "/" + name;
        for (SharedIndexInformer<T> informer : informers) {
            T found = informer.getIndexer().getByKey(key);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    public List<T> byIndex(String index, String key) {
        List<T> out = new ArrayList<>();
        informers.forEach(informer -> out.addAll(informer.getIndexer().byIndex(index, key)));
        return out;
    }

    public List<T> list() {
        List<T> out = new ArrayList<>();
        informers.forEach(informer -> out.addAll(informer.getStore().list()));
        return out;
    }

    /** The names of the objects in the cache (for a cluster-scoped kind: its keys). */
    public List<String> names() {
        return list().stream().map(object -> object.getMetadata().getName()).toList();
    }

    /** Every informer has listed its objects once. */
    public boolean synced() {
        return informers.stream().allMatch(SharedIndexInformer::hasSynced);
    }

    /** Every informer's watch is open now. */
    public boolean watching() {
        return informers.stream().allMatch(SharedIndexInformer::isWatching);
    }

    /** Why this watch's cache cannot be trusted yet or now; empty when it can. */
    public Optional<String> notReadyReason() {
        if (!synced()) {
            return Optional.of(what + " not yet listed from " + apiServer);
        }
        if (!watching()) {
            return Optional.of("watch of " + what + " on " + apiServer + " is down, serving what is known");
        }
        return Optional.empty();
    }

    public void stop() {
        informers.forEach(SharedIndexInformer::stop);
    }
}
