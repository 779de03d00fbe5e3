package io.isthmus.gateway.exports;

import io.isthmus.api.ServiceKey;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * This cluster's exports as one replica sees them: every replica's export events merged per service by last
 * writer wins ({@link ExportEntry#supersedes}), unexports kept as tombstones so a late, older export cannot bring a
 * service back.
 *
 * <p>Events are applied in one order that every replica shares (the journal's global order, see
 * {@link ExportJournal}), and the version of the merged {@link ExportSet} is a function of that order alone:
 * {@code max(previous + 1, event version)} whenever the set changes. So two replicas that have applied the same
 * events publish the same set under the same version, and a replica that has applied more publishes a higher one.
 * Peers keep the highest version of a cluster and chain deltas by version; they may take them from any replica.
 *
 * <p>Applied from one thread at a time (the journal reader, or the registry with a single-writer journal); read
 * from any.
 */
public final class ClusterExports {
    private final Map<ServiceKey, ExportEntry> entries = new ConcurrentHashMap<>();
    private final Consumer<ExportSet> published;
    private volatile ExportSet current = ExportSet.EMPTY;
    private volatile boolean publishing;

    /** @param published receives every new set once {@link #startPublishing()} was called */
    public ClusterExports(Consumer<ExportSet> published) {
        this.published = published;
    }

    public ExportSet current() {
        return current;
    }

    /** The winning entry for {@code key}, a tombstone included. */
    public Optional<ExportEntry> entry(ServiceKey key) {
        return Optional.ofNullable(entries.get(key));
    }

    /** Publishes the current set and every later one (recovery applies the history quietly first). */
    public synchronized void startPublishing() {
        publishing = true;
        published.accept(current);
    }

    /** Merges one event; returns whether the set of exports changed. */
    public synchronized boolean apply(ExportEntry entry) {
        ExportEntry before = entries.get(entry.key());
        if (!entry.supersedes(before)) {
            return false; // an older word (or the same one again): the winner stays
        }
        entries.put(entry.key(), entry);
        ExportSet set = current;
        long version = Math.max(set.version() + 1, entry.version());
        ExportSet next;
        if (entry.export() != null) {
            if (entry.export().equals(set.find(entry.key()).orElse(null))) {
                return false;
            }
            next = set.with(entry.export(), version);
        } else if (set.find(entry.key()).isPresent()) {
            next = set.without(entry.key(), version);
        } else {
            return false;
        }
        current = next;
        if (publishing) {
            published.accept(next);
        }
        return true;
    }
}
