package io.isthmus.api.ipam;

/**
 * The answer to deleting a pool: the leases the deletion released (non-zero only for a forced delete): {@code active}
 * leases, {@code parked} fixed IPs and open {@code reserved} reservations.
 */
public record PoolDeletion(String pool, int active, int parked, int reserved) {
    public int drained() {
        return active + parked + reserved;
    }
}
