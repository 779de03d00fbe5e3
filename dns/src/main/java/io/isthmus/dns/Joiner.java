package io.isthmus.dns;

import java.time.Duration;
import java.util.Collection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Waits for threads whose sockets were just closed, so close() returns with nothing of ours still running. */
final class Joiner {
    private static final Logger log = LoggerFactory.getLogger(Joiner.class);
    private static final Duration PATIENCE = Duration.ofSeconds(5);

    private Joiner() {
    }

    static void join(Collection<Thread> threads) {
        boolean interrupted = false;
        for (Thread thread : threads) {
            try {
                if (!thread.join(PATIENCE)) {
                    log.warn("dns: thread {} did not stop within {}", thread, PATIENCE);
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
