package io.isthmus.gateway.exports;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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

    /** Merges one word; returns whether the set of exports changed. */
    public boolean apply(ExportEntry entry) {
        return applyAll(List.of(entry));
    }

    /**
     * Merges the words of one event, in order, and publishes once: a change of 10,000 services is one new set
     * under one new version ({@code max(previous + 1, newest word)}), for the peers and the DNS, not 10,000.
     * The version is a function of the words and the order of events alone, so replicas agree on it.
     * Returns whether the set of exports changed.
     */
    public synchronized boolean applyAll(List<ExportEntry> words) {
        Map<ServiceKey, Optional<ServiceExport>> outcome = new LinkedHashMap<>();
        long newest = 0;
        for (ExportEntry entry : words) {
            if (!entry.supersedes(entries.get(entry.key()))) {
                continue; // an older word (or the same one again): the winner stays
            }
            entries.put(entry.key(), entry);
            outcome.put(entry.key(), entry.live());
            newest = Math.max(newest, entry.version());
        }
        ExportSet set = current;
        List<ServiceExport> upserted = new ArrayList<>();
        List<ServiceKey> removed = new ArrayList<>();
        outcome.forEach((key, export) -> {
            Optional<ServiceExport> was = set.find(key);
            if (export.isPresent() && !export.equals(was)) {
                upserted.add(export.get());
            } else if (export.isEmpty() && was.isPresent()) {
                removed.add(key);
            }
        });
        if (upserted.isEmpty() && removed.isEmpty()) {
            return false;
        }
        ExportSet next = set.withChanges(Math.max(set.version() + 1, newest), upserted, removed);
        current = next;
        if (publishing) {
            published.accept(next);
        }
        return true;
    }
}
