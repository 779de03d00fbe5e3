package io.isthmus.ipam.pool;

import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.ReclaimRecord;

import java.util.List;

/**
 * The stored form of a {@link PoolState}: the spec and the holdings. The used-address sets are not stored; they are
 * rebuilt from these on recovery (a /16 full of leases in well under a second).
 */
public record PoolSnapshot(PoolSpec spec, List<Holding> holdings, long reservationSeq, List<ReclaimRecord> recentReclaims,
                           long reclaimed) {
}
