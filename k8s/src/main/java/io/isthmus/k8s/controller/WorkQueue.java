package io.isthmus.k8s.controller;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The keys a controller still has to reconcile, as client-go's rate-limited work queue keeps them: a key waits at most
 * once however often it is added ({@code dirty}), a key added while it is being reconciled waits until that
 * reconcile is {@link #done} (so one key is never reconciled twice at once), and a key that failed comes back after
 * a delay that doubles with each failure in a row, from {@code firstRetry} up to {@code maxRetry}, until
 * {@link #forget} (its reconcile succeeded) resets it. Thread-safe: informer threads add, the one worker takes.
 */
public final class WorkQueue<K> {
    private final ArrayDeque<K> queue = new ArrayDeque<>();
    private final Set<K> dirty = new HashSet<>();
    private final Set<K> processing = new HashSet<>();
    private final Map<K, Integer> failures = new HashMap<>();
    private final ScheduledExecutorService timer;
    private final Duration firstRetry;
    private final Duration maxRetry;
    private boolean shutDown;

    /** @param timer where the delayed adds of {@link #retryLater} wait */
    public WorkQueue(ScheduledExecutorService timer, Duration firstRetry, Duration maxRetry) {
        if (firstRetry.isNegative() || firstRetry.isZero() || maxRetry.compareTo(firstRetry) < 0) {
            throw new IllegalArgumentException("retry delays must be positive with first <= max, not "
                    + firstRetry + " and " + maxRetry);
        }
        this.timer = timer;
        this.firstRetry = firstRetry;
        this.maxRetry = maxRetry;
    }

    /** Marks {@code key} to be reconciled; nothing when it is waiting already. */
    public synchronized void add(K key) {
        if (shutDown || !dirty.add(key)) {
            return;
        }
        if (!processing.contains(key)) {
            queue.addLast(key);
            notifyAll();
        }
    }

    /** The next key to reconcile, waiting for one; empty once the queue is shut down. Pair with {@link #done}. */
    public synchronized Optional<K> take() throws InterruptedException {
        while (queue.isEmpty() && !shutDown) {
            wait();
        }
        if (shutDown) {
            return Optional.empty();
        }
        K key = queue.pollFirst();
        dirty.remove(key);
        processing.add(key);
        return Optional.of(key);
    }

    /**
     * Up to {@code max} keys to reconcile together, waiting for the first; empty once the queue is shut down. Pair
     * each with {@link #done}.
     */
    public synchronized List<K> takeBatch(int max) throws InterruptedException {
        while (queue.isEmpty() && !shutDown) {
            wait();
        }
        if (shutDown) {
            return List.of();
        }
        List<K> batch = new ArrayList<>(Math.min(max, queue.size()));
        while (batch.size() < max && !queue.isEmpty()) {
            K key = queue.pollFirst();
            dirty.remove(key);
            processing.add(key);
            batch.add(key);
        }
        return batch;
    }

    /** The reconcile of {@code key} is over; if it was added meanwhile it waits again. */
    public synchronized void done(K key) {
        processing.remove(key);
        if (dirty.contains(key)) {
            queue.addLast(key);
            notifyAll();
        }
    }

    /** Adds {@code key} again after its backoff (one more failure in a row); answers the delay. */
    public Duration retryLater(K key) {
        Duration delay;
        synchronized (this) {
            if (shutDown) {
                return Duration.ZERO;
            }
            delay = backoff(failures.merge(key, 1, Integer::sum));
        }
        try {
            timer.schedule(() -> add(key), delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            // the timer is stopping with the controller
        }
        return delay;
    }

    /** The {@code n}th failure in a row waits {@code firstRetry × 2^(n-1)}, never more than {@code maxRetry}. */
    Duration backoff(int failuresInARow) {
        int doublings = Math.min(failuresInARow - 1, 62);
        long nanos = firstRetry.toNanos();
        for (int i = 0; i < doublings && nanos < maxRetry.toNanos(); i++) {
            nanos *= 2;
        }
        return Duration.ofNanos(Math.min(nanos, maxRetry.toNanos()));
    }

    /** {@code key}'s reconcile succeeded: its next failure starts from {@code firstRetry} again. */
    public synchronized void forget(K key) {
        failures.remove(key);
    }

    /** How many times in a row {@code key} failed. */
    public synchronized int failures(K key) {
        return failures.getOrDefault(key, 0);
    }

    /** How many keys wait now (not counting the one being reconciled). */
    public synchronized int length() {
        return queue.size();
    }

    /** Wakes the worker with an empty answer; adds are ignored from now on. */
    public synchronized void shutDown() {
        shutDown = true;
        queue.clear();
        dirty.clear();
        notifyAll();
    }
}
