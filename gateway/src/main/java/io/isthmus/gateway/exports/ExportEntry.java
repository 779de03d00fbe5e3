package io.isthmus.gateway.exports;

import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.CborSerializable;

import java.util.Optional;

/**
 * The latest word of one replica on one service: an export, or a tombstone ({@code export} null) when it was
 * unexported. The replicas of a cluster merge their words per service by last writer wins: the higher version,
 * and for equal versions (two replicas in the same millisecond) the greater replica name.
 */
public record ExportEntry(ServiceKey key, ServiceExport export, long version, String replica)
        implements CborSerializable {

    public static ExportEntry exported(ServiceExport export, long version, String replica) {
        return new ExportEntry(export.key(), export, version, replica);
    }

    public static ExportEntry removed(ServiceKey key, long version, String replica) {
        return new ExportEntry(key, null, version, replica);
    }

    public Optional<ServiceExport> live() {
        return Optional.ofNullable(export);
    }

    /** Whether this entry wins over {@code other} (null: nothing known yet) under last writer wins. */
    public boolean supersedes(ExportEntry other) {
        return other == null || version > other.version
                || (version == other.version && replica.compareTo(other.replica) > 0);
    }

    /** The winner of the two under last writer wins; either may be null. */
    static ExportEntry newest(ExportEntry a, ExportEntry b) {
        if (a == null) {
            return b;
        }
        return b == null || !b.supersedes(a) ? a : b;
    }
}
