package io.isthmus.fastpath;

import java.util.Objects;

/**
 * Whether a fast path works on this node, and why (or why not) in words an operator can act on, e.g.
 * {@code unavailable: native access is not enabled for the class path: add --enable-native-access=ALL-UNNAMED ...}.
 */
public record Availability(boolean available, String reason) {
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    static Availability yes(String how) {
        return new Availability(true, how);
    }

    static Availability no(String why) {
        return new Availability(false, why);
    }

    @Override
    public String toString() {
        return (available ? "available: " : "unavailable: ") + reason;
    }
}
