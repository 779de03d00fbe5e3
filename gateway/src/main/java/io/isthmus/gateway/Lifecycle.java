package io.isthmus.gateway;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * The parts of one replica in the order they were started; {@link #close()} stops them in the reverse order, each
 * once, and a part that fails to stop does not keep the others running.
 */
final class Lifecycle implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Lifecycle.class);

    private record Started(String name, AutoCloseable stop) {
    }

    private final List<Started> started = new ArrayList<>();

    /** Records that {@code part} has started; it is stopped (closed) before everything started earlier. */
    synchronized <T extends AutoCloseable> T started(String name, T part) {
        started.add(new Started(name, part));
        return part;
    }

    /** Records a stop action of something that is not itself closeable (a timer, a binding). */
    synchronized void onStop(String name, AutoCloseable stop) {
        started.add(new Started(name, stop));
    }

    /** The names of what runs now, in start order (for logs and tests). */
    synchronized List<String> running() {
        return started.stream().map(Started::name).toList();
    }

    @Override
    public synchronized void close() {
        for (int i = started.size() - 1; i >= 0; i--) {
            Started part = started.get(i);
            try {
                part.stop().close();
            } catch (Exception e) {
                log.warn("while stopping {}: {}", part.name(), e.toString());
            }
        }
        started.clear();
    }
}
