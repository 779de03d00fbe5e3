package io.isthmus.api.ipam;

/** What a release does to the fixed IP of a sticky owner. */
public enum ReleaseMode {
    /** Sticky owners keep their address ({@link LeaseState#PARKED}); other owners free it. What CNI DEL does. */
    KEEP_FIXED,
    /** Free the address whatever the kind of owner: the operator says the identity is gone for good. */
    FORGET
}
