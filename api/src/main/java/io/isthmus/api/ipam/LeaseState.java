package io.isthmus.api.ipam;

/** Where a lease stands. */
public enum LeaseState {
    /** Reserved, not yet committed: expires by itself unless committed in time. */
    RESERVED,
    /** Held by a running owner. */
    ACTIVE,
    /** Released by a sticky owner: kept for its identity (the fixed IP) until the reclaimer sees the identity gone. */
    PARKED
}
