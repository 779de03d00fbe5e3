package io.isthmus.gateway.exports;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.CborSerializable;

import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Every export of one cluster at one version. Immutable: a change makes a new set. Versions only grow, also
 * across restarts (they are persisted) and a lost journal (they follow the wall clock): see {@link #nextVersion}.
 */
public final class ExportSet implements CborSerializable {
    public static final ExportSet EMPTY = new ExportSet(0, List.of());

    private final long version;
    @JsonIgnore // serialized as the "exports" list: Jackson cannot key a map by ServiceKey
    private final TreeMap<ServiceKey, ServiceExport> byKey;

    @JsonCreator
    public ExportSet(@JsonProperty("version") long version, @JsonProperty("exports") Collection<ServiceExport> exports) {
        this.version = version;
        this.byKey = new TreeMap<>();
        for (ServiceExport export : exports) {
            byKey.put(export.key(), export);
        }
    }

    private ExportSet(long version, TreeMap<ServiceKey, ServiceExport> byKey) {
        this.version = version;
        this.byKey = byKey;
    }

    @JsonProperty("version")
    public long version() {
        return version;
    }

    @JsonProperty("exports")
    public List<ServiceExport> exports() {
        return List.copyOf(byKey.values());
    }

    public Optional<ServiceExport> find(ServiceKey key) {
        return Optional.ofNullable(byKey.get(key));
    }

    public int size() {
        return byKey.size();
    }

    public ExportSet with(ServiceExport export, long newVersion) {
        TreeMap<ServiceKey, ServiceExport> next = new TreeMap<>(byKey);
        next.put(export.key(), export);
        return new ExportSet(newVersion, next);
    }

    public ExportSet without(ServiceKey key, long newVersion) {
        TreeMap<ServiceKey, ServiceExport> next = new TreeMap<>(byKey);
        next.remove(key);
        return new ExportSet(newVersion, next);
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
        return "ExportSet{version=" + version + ", exports=" + byKey.values() + "}";
    }
}
