package io.isthmus.ipam.cni;

/**
 * Why the backend refused a request. Each maps to one CNI error code (see {@link CniErrorCode}), so the container
 * runtime can tell a retryable condition from a configuration mistake.
 */
public enum CniBackendError {
    /** No free address is left in the pool (CNI code 100). */
    POOL_EXHAUSTED,
    /** The pool named in the network config does not exist (CNI code 7, invalid network config). */
    UNKNOWN_POOL,
    /** A requested static address is outside the pool or excluded (CNI code 7). */
    BAD_REQUEST,
    /** A requested static address is held by another owner (CNI code 101). */
    ADDRESS_IN_USE,
    /** The attachment's lease belongs to a different owner than the one asking (CNI code 102). */
    NOT_OWNER,
    /**
     * The pod the caller claims is not the one the cluster knows (Kubernetes: no such pod, or another uid), or the
     * claim lacks what the cluster needs to check it (CNI code 105).
     */
    POD_NOT_CONFIRMED,
    /** The reservation expired before it was committed; the ADD can be retried (CNI code 11). */
    RESERVATION_EXPIRED,
    /** The pool cannot answer now (shard moving, journal down); the call can be retried (CNI code 11). */
    UNAVAILABLE
}
