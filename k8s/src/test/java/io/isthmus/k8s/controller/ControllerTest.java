package io.isthmus.k8s.controller;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.testing.KubernetesApiMock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shell against an API server (kubernetes-server-mock, CRUD mode) with ConfigMaps as the watched kind and a
 * reconciler that records its calls: events coalesce per key, failures come back with growing delays and show in
 * the not-ready reasons, a full resync visits every key without any event, nothing runs before the watches listed,
 * and nothing after close.
 */
class ControllerTest {
    private static final String NAMESPACE = "test";
    private static final Duration WAIT = Duration.ofSeconds(20);

    private KubernetesApiMock api;
    private KubernetesClient client;
    private Controller<String> controller;
    private Watch<ConfigMap> configMaps;
    private final Recorder recorder = new Recorder();

    /** Records every reconcile with its time; fails a key as often as told; can hold the worker in a reconcile. */
    private final class Recorder implements Controller.Reconciler<String> {
        final List<String> calls = new CopyOnWriteArrayList<>();
        final Map<String, List<Long>> times = new ConcurrentHashMap<>();
        final Map<String, AtomicInteger> failuresLeft = new ConcurrentHashMap<>();
        volatile CountDownLatch hold = new CountDownLatch(0);
        volatile CountDownLatch entered = new CountDownLatch(1);

        @Override
        public void reconcile(String key) throws Exception {
            calls.add(key);
            times.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
            entered.countDown();
            hold.await();
            AtomicInteger left = failuresLeft.get(key);
            if (left != null && left.getAndDecrement() > 0) {
                throw new IllegalStateException("boom " + (left.get() + 1));
            }
        }

        @Override
        public Collection<String> keys() {
            return configMaps.list().stream().map(map -> map.getMetadata().getName()).toList();
        }

        long count(String key) {
            return calls.stream().filter(key::equals).count();
        }
    }

    @BeforeEach
    void start() {
        api = KubernetesApiMock.start(List.of());
        client = KubernetesClients.connect(api.url());
        configMaps = Watch.inNamespaces("ConfigMaps", client, client.configMaps(), List.of(NAMESPACE),
                Optional.empty(), Duration.ZERO);
    }

    @AfterEach
    void stop() {
        if (controller != null) {
            controller.close();
        }
        client.close();
        api.close();
    }

    private Controller<String> start(Controller.Builder<String> builder) throws InterruptedException {
        controller = builder.watch(configMaps, map -> Optional.of(map.getMetadata().getName())).start(recorder);
        await("synced", () -> controller.notReadyReasons().isEmpty());
        return controller;
    }

    private void put(String name, String value) {
        var existing = api.client().configMaps().inNamespace(NAMESPACE).withName(name);
        if (existing.get() == null) {
            api.client().resource(new ConfigMapBuilder().withNewMetadata().withNamespace(NAMESPACE).withName(name)
                    .endMetadata().withData(Map.of("v", value)).build()).create();
        } else {
            existing.edit(map -> new ConfigMapBuilder(map).withData(Map.of("v", value)).build());
        }
    }

    private static void await(String what, BooleanSupplier probe) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!probe.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + WAIT.toSeconds() + " s: " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void eventsForAKeyUnderReconcileCoalesceIntoOneMoreReconcile() throws Exception {
        start(Controller.<String>named("test").resyncEvery(Duration.ofHours(1)));
        recorder.hold = new CountDownLatch(1);
        recorder.entered = new CountDownLatch(1);
        put("a", "0");
        recorder.entered.await();
        for (int i = 1; i <= 5; i++) {
            put("a", String.valueOf(i));
        }
        await("the informer saw every change", () -> {
            ConfigMap seen = configMaps.get(NAMESPACE, "a");
            return seen != null && "5".equals(seen.getData().get("v"));
        });
        Thread.sleep(300); // the cache is updated before the handlers hear of it: let them
        assertEquals(1, recorder.count("a"), "one reconcile of a key at a time");
        recorder.hold.countDown();
        await("the coalesced reconcile", () -> recorder.count("a") == 2);
        Thread.sleep(300);
        assertEquals(2, recorder.count("a"), "five events while busy made one more reconcile, not five");
    }

    @Test
    void aFailingKeyIsRetriedWithDoublingDelaysAndIsANotReadyReasonUntilItSucceeds() throws Exception {
        recorder.failuresLeft.put("b", new AtomicInteger(3));
        recorder.hold = new CountDownLatch(0);
        start(Controller.<String>named("test").resyncEvery(Duration.ofHours(1))
                .retry(Duration.ofMillis(300), Duration.ofMillis(700)));
        put("b", "x");
        await("first failure reported", () -> controller.notReadyReasons().stream()
                .anyMatch(r -> r.contains("last reconcile of b failed: boom")));
        await("four attempts", () -> recorder.count("b") == 4);
        await("ready once it succeeded", () -> controller.notReadyReasons().isEmpty());
        List<Long> at = recorder.times.get("b");
        List<Long> gaps = new ArrayList<>();
        for (int i = 1; i < at.size(); i++) {
            gaps.add((at.get(i) - at.get(i - 1)) / 1_000_000);
        }
        // 300, 600, then capped at 700 ms (a little scheduling slack below each)
        assertTrue(gaps.get(0) >= 290 && gaps.get(1) >= 590 && gaps.get(2) >= 690, "gaps " + gaps);
        assertTrue(gaps.get(2) < 1100, "capped at 700 ms, not doubled to 1200: gaps " + gaps);
        assertEquals(0, controller.status().failedKeys());
        assertNotNull(controller.status().lastError());
    }

    @Test
    void aFullResyncVisitsEveryKeyWithoutAnyEvent() throws Exception {
        put("a", "1");
        put("c", "1");
        start(Controller.<String>named("test").resyncEvery(Duration.ofMillis(300)));
        await("the first pass after the list", () -> recorder.count("a") >= 1 && recorder.count("c") >= 1);
        assertNotNull(controller.status().lastFullResyncAt());
        long before = recorder.count("a");
        await("resynced twice more", () -> recorder.count("a") >= before + 2 && recorder.count("c") >= before + 2);
    }

    @Test
    void polledKeysAreReconciledToo() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        start(Controller.<String>named("test").resyncEvery(Duration.ofHours(1))
                .poll(Duration.ofMillis(50), () -> polls.incrementAndGet() == 3 ? List.of("outside") : List.of()));
        await("the polled key", () -> recorder.count("outside") == 1);
    }

    @Test
    void nothingIsReconciledBeforeTheWatchesListedAndTheReasonSaysWhy() throws Exception {
        api.close();
        AtomicInteger polls = new AtomicInteger();
        controller = Controller.<String>named("lonely").resyncEvery(Duration.ofMillis(100))
                .poll(Duration.ofMillis(50), () -> polls.incrementAndGet() > 0 ? List.of("p") : List.of())
                .watch(configMaps, map -> Optional.of(map.getMetadata().getName())).start(recorder);
        Thread.sleep(800);
        List<String> reasons = controller.notReadyReasons();
        assertEquals(1, reasons.size(), reasons.toString());
        assertTrue(reasons.getFirst().startsWith("kubernetes lonely: informers not synced (ConfigMaps not yet listed from "
                + api.url()), reasons.toString());
        assertTrue(polls.get() > 1, "the poll ran");
        assertEquals(List.of(), recorder.calls, "no decision on a picture not listed");
        assertFalse(controller.status().synced());
    }

    @Test
    void afterCloseNothingIsReconciled() throws Exception {
        start(Controller.<String>named("test").resyncEvery(Duration.ofMillis(100)));
        put("a", "1");
        await("reconciled", () -> recorder.count("a") >= 1);
        controller.close();
        int calls = recorder.calls.size();
        put("a", "2");
        put("d", "1");
        Thread.sleep(400);
        assertEquals(calls, recorder.calls.size());
    }
}
