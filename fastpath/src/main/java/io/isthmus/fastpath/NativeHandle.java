package io.isthmus.fastpath;

import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The close protocol every handle on kernel descriptors shares ({@link BatchedUdpSocket}, {@link TunDevice}): it owns
 * the descriptors and the {@link Arena} of their native memory, counts the calls in progress, and frees both exactly
 * once, when the handle is closed and the last call has left, so a descriptor's number is never reused under a call
 * still using it.
 *
 * <p>A call does {@code if (!handle.enter()) throw closed; try { ... } finally { handle.leave(); }}. {@link #close()}
 * may come from any thread at any time: it marks the handle closed (no call enters any more), runs the owner's wake
 * action so that calls blocked in the kernel return, and waits until the descriptors are closed and the memory is
 * freed (warning after a few seconds should a call not return).
 */
final class NativeHandle {
    private static final System.Logger log = System.getLogger(NativeHandle.class.getName());
    /** Set in {@link #state} once closing began; the bits below count the calls in progress. */
    private static final int CLOSED = 1 << 30;
    /** How long close() waits for a call in progress to return (the wake action makes them return at once). */
    private static final Duration CLOSE_PATIENCE = Duration.ofSeconds(5);

    private final String name;
    private final Arena arena;
    private final int[] fds;
    private final Runnable wake;
    private final AtomicInteger state = new AtomicInteger();
    private final AtomicBoolean released = new AtomicBoolean();
    private final CountDownLatch gone = new CountDownLatch(1);

    /**
     * @param name  what the handle is, for the warning about a call that does not return ("udp socket 127.0.0.1:53")
     * @param arena the native memory of the handle, closed after the descriptors
     * @param fds   the descriptors, closed in this order
     * @param wake  makes calls blocked on the descriptors return (a shutdown, a write to an eventfd); runs once,
     *              after the handle is marked closed and while the descriptors are still open
     */
    NativeHandle(String name, Arena arena, int[] fds, Runnable wake) {
        this.name = name;
        this.arena = arena;
        this.fds = fds.clone();
        this.wake = wake;
    }

    Arena arena() {
        return arena;
    }

    boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    /** Counts a call in; false when closed. */
    boolean enter() {
        while (true) {
            int current = state.get();
            if ((current & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /** Counts a call out; the last one out after {@link #close()} frees what close() could not. */
    void leave() {
        if (state.decrementAndGet() == CLOSED) {
            release();
        }
    }

    /** Idempotent; any thread. Returns once the descriptors are closed and the memory freed, or after the patience. */
    void close() {
        int current;
        do {
            current = state.get();
            if ((current & CLOSED) != 0) {
                awaitGone();
                return;
            }
        } while (!state.compareAndSet(current, current | CLOSED));
        wake.run();
        if (state.get() == CLOSED) {
            release();
        }
        awaitGone();
    }

    private void release() {
        if (released.compareAndSet(false, true)) {
            for (int fd : fds) {
                Syscalls.close(fd);
            }
            arena.close();
            gone.countDown();
        }
    }

    private void awaitGone() {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (!gone.await(CLOSE_PATIENCE.toMillis(), TimeUnit.MILLISECONDS)) {
                        log.log(System.Logger.Level.WARNING, "{0}: a call did not return within {1} of close; its"
                                + " descriptors and memory are freed when it does", name, CLOSE_PATIENCE);
                    }
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
