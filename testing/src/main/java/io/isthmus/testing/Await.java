package io.isthmus.testing;

import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polls a condition until it holds or the patience runs out; the failure names what was awaited. */
public final class Await {
    private static final long POLL_MILLIS = 50;

    private Await() {
    }

    /** Waits until {@code condition} is true; a probe that throws counts as not yet. */
    public static void until(String what, Duration patience, BooleanSupplier condition) throws InterruptedException {
        value(what, patience, () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty());
    }

    /** Waits until {@code probe} gives a value and returns it; a probe that throws counts as not yet. */
    public static <T> T value(String what, Duration patience, Supplier<Optional<T>> probe) throws InterruptedException {
        long deadline = System.nanoTime() + patience.toNanos();
        RuntimeException lastFailure = null;
        while (true) {
            try {
                Optional<T> value = probe.get();
                if (value.isPresent()) {
                    return value.get();
                }
            } catch (RuntimeException e) {
                lastFailure = e;
            }
            if (System.nanoTime() > deadline) {
                AssertionError failed = new AssertionError("not within " + patience.toMillis() + " ms: " + what);
                if (lastFailure != null) {
                    failed.initCause(lastFailure);
                }
                throw failed;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }
}
