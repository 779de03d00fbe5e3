package io.isthmus.api.ipam;

/** What a release did. */
public enum ReleaseOutcome {
    /** The addresses went back to the pool. */
    FREED,
    /** The owner is sticky: its addresses stay reserved for its identity. */
    KEPT_FOR_IDENTITY,
    /** The owner held nothing in the pool (a repeated release): nothing changed. */
    NOT_HELD
}
