package io.isthmus.api.ipam;

/**
 * What went wrong with an IPAM request, as a code every caller can map: an HTTP status for the admin API and a
 * CNI error code for the {@code isthmus-ipam} plugin (CNI spec: 7 = invalid network config, 11 = try again later,
 * 100 and up = plugin specific).
 */
public enum IpamError {
    /** A malformed or contradictory request (bad CIDR, address outside the pool, ...); names field and value. */
    INVALID_INPUT(400, 7),
    /** No pool of that name in this cluster. */
    UNKNOWN_POOL(404, 7),
    /** A pool of that name exists already (with a different spec). */
    POOL_EXISTS(409, 104),
    /** The new pool shares addresses with an existing pool of the cluster. */
    POOL_OVERLAPS(409, 105),
    /** The pool still holds leases (active, parked or reserved): deleting it needs {@code force}, which drains them. */
    POOL_IN_USE(409, 107),
    /** The CIDR is not inside a segment the cluster holds in the clusterset address plan. */
    OUTSIDE_SEGMENTS(422, 106),
    /** No free address is left (in the pool, or in the range the request was limited to). */
    POOL_EXHAUSTED(409, 100),
    /** The explicitly requested address is held by another owner, or is not allocatable (excluded, gateway...). */
    ADDRESS_IN_USE(409, 101),
    /** A release by an owner that does not hold the lease (another uid of the same identity holds it). */
    NOT_OWNER(403, 102),
    /** The reservation id is unknown: never given, already expired, or committed by someone else. */
    UNKNOWN_RESERVATION(404, 103),
    /** The pool could not be reached or could not store the change in time; retrying is safe (requests are idempotent per owner). */
    UNAVAILABLE(503, 11);

    private final int httpStatus;
    private final int cniCode;

    IpamError(int httpStatus, int cniCode) {
        this.httpStatus = httpStatus;
        this.cniCode = cniCode;
    }

    public int httpStatus() {
        return httpStatus;
    }

    public int cniCode() {
        return cniCode;
    }
}
