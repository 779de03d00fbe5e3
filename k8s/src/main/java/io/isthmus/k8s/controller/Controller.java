package io.isthmus.k8s.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The one controller shell every Kubernetes controller of the gateway runs in (client-go's controller, Cilium's
 * clustermesh/common): it owns the {@link Watch}es it is given, turns each informer event into a key of one
 * {@link WorkQueue}, and one worker thread calls {@link Reconciler#reconcile} with each key, once every watch has
 * listed (nothing is decided on a partial picture). A reconcile that throws is tried again after an exponential,
 * capped backoff for that key; every {@code resyncInterval} all of {@link Reconciler#keys} are queued again (level
 * triggered: a lost event costs one interval at most). {@link #notReadyReasons} says what keeps it from being
 * ready; {@link #close} stops the watches and the threads (stop is not remove: nothing is deleted).
 *
 * @param <K> what one reconcile is about (a name, a service): equal keys are one piece of work
 */
public final class Controller<K> implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Controller.class);
    /** How often the worker looks whether every watch has listed, before the first reconcile. */
    private static final Duration SYNC_POLL = Duration.ofMillis(20);

    /** The part a controller supplies: what one key means, and every key there is. */
    public interface Reconciler<K> {
        /** Makes what {@code key} names as it should be; throw to be tried again later (with backoff). */
        void reconcile(K key) throws Exception;

        /** Every key to reconcile in a full resync (from the watches' caches, and whatever else holds state). */
        Collection<K> keys();

        /**
         * Reconciles {@code keys} (queued together, as after a full resync) and returns those that failed, each
         * with why, to be tried again later. By default one {@link #reconcile} each; a reconciler whose writes
         * are cheaper together (one stored change for many keys) does them at once.
         */
        default Map<K, Exception> reconcileAll(List<K> keys) throws InterruptedException {
            Map<K, Exception> failed = new HashMap<>();
            for (K key : keys) {
                try {
                    reconcile(key);
                } catch (InterruptedException e) {
                    throw e;
                } catch (Exception e) {
                    failed.put(key, e);
                }
            }
            return failed;
        }
    }

    /** The most keys handed to {@link Reconciler#reconcileAll} at once. */
    static final int BATCH = 1_000;

    /** @param failedKeys how many keys failed their last reconcile and wait for their retry */
    public record Status(String name, boolean synced, boolean watching, int queued, int failedKeys,
                         Instant lastFullResyncAt, String lastError, Instant lastErrorAt) {
    }

    private record Binding<K, T extends HasMetadata>(Watch<T> watch, Function<T, Optional<K>> keyOf) {
    }

    private record Poll<K>(Duration every, Supplier<? extends Collection<K>> changedKeys) {
    }

    private final String name;
    private final List<Binding<K, ?>> bindings;
    private final List<Poll<K>> polls;
    private final Reconciler<K> reconciler;
    private final Duration resyncInterval;
    private final Clock clock;
    private final ScheduledExecutorService timer;
    private final WorkQueue<K> queue;
    private final Thread worker;
    /** The last failure of each key that has not succeeded since. */
    private final Map<K, String> failing = new ConcurrentHashMap<>();
    private volatile boolean started;
    private volatile boolean closed;
    private volatile Instant lastFullResyncAt;
    private volatile String lastError;
    private volatile Instant lastErrorAt;

    private Controller(Builder<K> builder, Reconciler<K> reconciler) {
        this.name = builder.name;
        this.bindings = List.copyOf(builder.bindings);
        this.polls = List.copyOf(builder.polls);
        this.reconciler = reconciler;
        this.resyncInterval = builder.resyncInterval;
        this.clock = builder.clock;
        this.timer = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("isthmus-" + name + "-timer").factory());
        this.queue = new WorkQueue<>(timer, builder.firstRetry, builder.maxRetry);
        this.worker = Thread.ofPlatform().daemon().name("isthmus-" + name).unstarted(this::work);
    }

    /** A controller named {@code name} (it names its threads, logs and not-ready reasons). */
    public static <K> Builder<K> named(String name) {
        return new Builder<>(name);
    }

    /**
     * The common case of a cluster-scoped kind (ClusterPeer, IPPool): keyed by object name, every object again
     * each {@code resyncInterval}.
     */
    public static <T extends HasMetadata> Controller<String> byName(String name, Watch<T> watch,
                                                                    Duration resyncInterval, Clock clock,
                                                                    Reconciler<String> reconciler) {
        return Controller.<String>named(name).watch(watch, object -> Optional.of(object.getMetadata().getName()))
                .resyncEvery(resyncInterval).clock(clock).start(reconciler);
    }

    public static final class Builder<K> {
        private final String name;
        private final List<Binding<K, ?>> bindings = new ArrayList<>();
        private final List<Poll<K>> polls = new ArrayList<>();
        private Duration resyncInterval = Duration.ofMinutes(5);
        private Duration firstRetry = Duration.ofMillis(200);
        private Duration maxRetry = Duration.ofSeconds(10);
        private Clock clock = Clock.systemUTC();

        private Builder(String name) {
            this.name = Objects.requireNonNull(name, "name");
        }

        /** Owns {@code watch}; each object it delivers queues {@code keyOf(object)} (empty: not ours). */
        public <T extends HasMetadata> Builder<K> watch(Watch<T> watch, Function<T, Optional<K>> keyOf) {
            bindings.add(new Binding<>(watch, keyOf));
            return this;
        }

        /** Every {@code every}, queues the keys {@code changedKeys} answers (state outside Kubernetes that changed). */
        public Builder<K> poll(Duration every, Supplier<? extends Collection<K>> changedKeys) {
            polls.add(new Poll<>(positive("poll interval", every), changedKeys));
            return this;
        }

        public Builder<K> resyncEvery(Duration interval) {
            resyncInterval = positive("resync interval", interval);
            return this;
        }

        /** A failed key comes back after {@code first}, then twice as long each time, at most {@code max}. */
        public Builder<K> retry(Duration first, Duration max) {
            firstRetry = positive("first retry", first);
            maxRetry = positive("max retry", max);
            return this;
        }

        public Builder<K> clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** Starts the watches (without waiting for the API server), the timer and the worker. */
        public Controller<K> start(Reconciler<K> reconciler) {
            Controller<K> controller = new Controller<>(this, reconciler);
            controller.start();
            return controller;
        }

        private static Duration positive(String what, Duration value) {
            if (value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, not " + value);
            }
            return value;
        }
    }

    private void start() {
        bindings.forEach(this::startWatch);
        long resync = resyncInterval.toNanos();
        timer.scheduleWithFixedDelay(this::fullResync, resync, resync, TimeUnit.NANOSECONDS);
        for (Poll<K> poll : polls) {
            long every = poll.every().toNanos();
            timer.scheduleWithFixedDelay(() -> guarded("poll", () -> poll.changedKeys().get().forEach(queue::add)),
                    every, every, TimeUnit.NANOSECONDS);
        }
        worker.start();
        started = true;
    }

    private <T extends HasMetadata> void startWatch(Binding<K, T> binding) {
        binding.watch().start(object -> binding.keyOf().apply(object).ifPresent(queue::add), this::noteError);
    }

    private boolean synced() {
        return bindings.stream().allMatch(binding -> binding.watch().synced());
    }

    private void work() {
        try {
            while (!closed && !synced()) {
                Thread.sleep(SYNC_POLL.toMillis());
            }
            fullResync();
            while (!closed) {
                List<K> next = queue.takeBatch(BATCH);
                if (next.isEmpty()) {
                    return;
                }
                reconcileBatch(next);
            }
        } catch (InterruptedException e) {
            // closing
        }
    }

    private void reconcileBatch(List<K> keys) {
        Map<K, Exception> failed;
        try {
            failed = reconciler.reconcileAll(keys);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            keys.forEach(queue::done);
            return;
        } catch (RuntimeException e) {
            failed = new HashMap<>();
            for (K key : keys) {
                failed.put(key, e);
            }
        }
        for (K key : keys) {
            Exception e = failed.get(key);
            try {
                if (e == null) {
                    queue.forget(key);
                    failing.remove(key);
                } else if (!closed) {
                    String message = messageOf(e);
                    failing.put(key, message);
                    Duration delay = queue.retryLater(key);
                    noteError("reconcile " + key, e);
                    log.debug("{}: {} tried again in {} ms", name, key, delay.toMillis());
                }
            } finally {
                queue.done(key);
            }
        }
    }

    /** Queues every key, once every watch has listed. */
    private void fullResync() {
        if (closed || !synced()) {
            return;
        }
        guarded("full resync", () -> {
            reconciler.keys().forEach(queue::add);
            lastFullResyncAt = clock.instant();
        });
    }

    private void guarded(String what, Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            noteError(what, e);
        }
    }

    private static String messageOf(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && (cause.getMessage() == null
                || cause instanceof java.util.concurrent.ExecutionException
                || cause instanceof java.util.concurrent.CompletionException)) {
            cause = cause.getCause();
        }
        return cause.getMessage() == null ? cause.toString() : cause.getMessage();
    }

    private void noteError(String what, Throwable failure) {
        String message = "could not " + what + ": " + messageOf(failure);
        if (!message.equals(lastError)) {
            log.warn("{}: {}", name, message);
        }
        lastError = message;
        lastErrorAt = clock.instant();
    }

    /**
     * Why this controller is not ready, each reason prefixed with its name; empty when it is: a watch that has not
     * listed ("informers not synced") or whose watch is down, and the last failed reconcile of a key not yet
     * put right.
     */
    public List<String> notReadyReasons() {
        if (!started) {
            return List.of("kubernetes " + name + ": not started");
        }
        List<String> reasons = new ArrayList<>();
        for (Binding<K, ?> binding : bindings) {
            binding.watch().notReadyReason().ifPresent(reason -> reasons.add("kubernetes " + name + ": "
                    + (binding.watch().synced() ? reason + (lastError == null ? "" : " (" + lastError + ")")
                    : "informers not synced (" + reason + ")")));
        }
        failing.entrySet().stream().findFirst().ifPresent(failed -> reasons.add("kubernetes " + name + ": last reconcile of "
                + failed.getKey() + " failed: " + failed.getValue()
                + (failing.size() > 1 ? " (and " + (failing.size() - 1) + " more keys failing)" : "")));
        return reasons;
    }

    public Status status() {
        boolean synced = synced();
        boolean watching = bindings.stream().allMatch(binding -> binding.watch().watching());
        return new Status(name, synced, watching, queue.length(), failing.size(), lastFullResyncAt, lastError,
                lastErrorAt);
    }

    /** Stops the watches, the timer and the worker (waiting for a reconcile under way). */
    @Override
    public void close() {
        closed = true;
        bindings.forEach(binding -> binding.watch().stop());
        queue.shutDown();
        timer.shutdownNow();
        worker.interrupt();
        try {
            worker.join(Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
