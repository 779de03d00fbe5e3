package io.isthmus.dns;

import io.isthmus.api.InvalidFieldException;
import java.util.Locale;

/**
 * How answers treat the endpoints of the local cluster (the cluster this gateway runs in), for the service
 * name's A/AAAA and its SRV records. Per-cluster and per-endpoint names are never affected.
 */
public enum Locality {
    /** Every cluster's endpoints, in cluster-id order. */
    OFF,
    /** The local cluster's endpoints first; in SRV records they get priority 0 and the rest priority 1. */
    PREFER_LOCAL,
    /** Only the local cluster's endpoints while it has any, else every cluster's, so a name never goes empty. */
    LOCAL_ONLY;

    /** Parses {@code off}, {@code prefer-local} or {@code local-only} (any case, '-' or '_'). */
    public static Locality parse(String text) {
        String value = text == null ? "" : text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (Locality locality : values()) {
            if (locality.name().equals(value)) {
                return locality;
            }
        }
        throw new InvalidFieldException("dns locality", text, "must be off, prefer-local or local-only");
    }

    /** The configuration spelling: off, prefer-local, local-only. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
