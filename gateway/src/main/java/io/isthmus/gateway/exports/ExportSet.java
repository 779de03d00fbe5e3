package io.isthmus.gateway.exports;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.isthmus.api.PersistentSortedMap;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.CborSerializable;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * Every export of one cluster at one version. Immutable: a change makes a new set, which shares all but O(log n)
 * of its structure with the old one (a persistent sorted map), so a change costs O(log n) and two sets of one
 * lineage are compared in time proportional to what differs ({@link #diff}). Versions only grow, also across
 * restarts (they are persisted) and a lost journal (they follow the wall clock): see {@link #nextVersion}.
 */
public final class ExportSet implements CborSerializable {
    public static final ExportSet EMPTY = new ExportSet(0, List.of());

    private final long version;
    @JsonIgnore // serialized as the "exports" list: Jackson cannot key a map by ServiceKey
    private final PersistentSortedMap<ServiceKey, ServiceExport> byKey;
    /** How many exports are offered to some clusters only (so that the others are offered to every cluster). */
    @JsonIgnore
    private final int restricted;

    @JsonCreator
    public ExportSet(@JsonProperty("version") long version, @JsonProperty("exports") Collection<ServiceExport> exports) {
        PersistentSortedMap<ServiceKey, ServiceExport> map = PersistentSortedMap.empty();
        for (ServiceExport export : exports) {
            map = map.with(export.key(), export);
        }
        this(version, map, countRestricted(map));
    }

    private ExportSet(long version, PersistentSortedMap<ServiceKey, ServiceExport> byKey, int restricted) {
        this.version = version;
        this.byKey = byKey;
        this.restricted = restricted;
    }

    private static int countRestricted(PersistentSortedMap<ServiceKey, ServiceExport> byKey) {
        int[] count = {0};
        byKey.forEach((key, export) -> count[0] += export.offeredTo().isEmpty() ? 0 : 1);
        return count[0];
    }

    @JsonProperty("version")
    public long version() {
        return version;
    }

    /** Every export in key order (a copy: O(n)). */
    @JsonProperty("exports")
    public List<ServiceExport> exports() {
        List<ServiceExport> out = new ArrayList<>(byKey.size());
        byKey.forEach((key, export) -> out.add(export));
        return List.copyOf(out);
    }

    /** Every export in key order, without copying. */
    public void forEach(BiConsumer<ServiceKey, ServiceExport> action) {
        byKey.forEach(action);
    }

    public Optional<ServiceExport> find(ServiceKey key) {
        return Optional.ofNullable(byKey.get(key));
    }

    public int size() {
        return byKey.size();
    }

    /** How many exports are offered to some clusters only; the rest are offered to every cluster. */
    public int restrictedCount() {
        return restricted;
    }

    public ExportSet with(ServiceExport export, long newVersion) {
        ServiceExport old = byKey.get(export.key());
        return new ExportSet(newVersion, byKey.with(export.key(), export),
                restricted - restrictedness(old) + restrictedness(export));
    }

    public ExportSet without(ServiceKey key, long newVersion) {
        ServiceExport old = byKey.get(key);
        return new ExportSet(newVersion, byKey.without(key), restricted - restrictedness(old));
    }

    /** This set with {@code removed} taken out, then {@code upserted} put in, at {@code newVersion}. */
    public ExportSet withChanges(long newVersion, Collection<ServiceExport> upserted, Collection<ServiceKey> removed) {
        PersistentSortedMap<ServiceKey, ServiceExport> map = byKey;
        int count = restricted;
        for (ServiceKey key : removed) {
            count -= restrictedness(map.get(key));
            map = map.without(key);
        }
        for (ServiceExport export : upserted) {
            count += restrictedness(export) - restrictedness(map.get(export.key()));
            map = map.with(export.key(), export);
        }
        return new ExportSet(newVersion, map, count);
    }

    private static int restrictedness(ServiceExport export) {
        return export == null || export.offeredTo().isEmpty() ? 0 : 1;
    }

    /**
     * Every key whose export is not the same object in {@code after} as in {@code before} (null where absent), in
     * key order. Sets of one lineage (one made from the other by changes) are compared in O(changes × log n);
     * unrelated ones (say, one deserialized) in O(n), where equal exports are reported too.
     */
    public static void diff(ExportSet before, ExportSet after, PersistentSortedMap.Difference<ServiceKey, ServiceExport> difference) {
        PersistentSortedMap.diff(before.byKey, after.byKey, difference);
    }

    /**
     * A hybrid clock: one more than the last version, or the wall clock in milliseconds if that is ahead.
     * A gateway whose journal was lost therefore still outranks what its peers remember of it.
     */
    public long nextVersion(Instant now) {
        return Math.max(version + 1, now.toEpochMilli());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExportSet other && version == other.version && byKey.equals(other.byKey);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(version) * 31 + byKey.hashCode();
    }

    @Override
    public String toString() {
        return "ExportSet{version=" + version + ", exports=" + exports() + "}";
    }
}
