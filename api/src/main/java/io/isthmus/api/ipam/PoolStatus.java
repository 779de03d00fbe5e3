package io.isthmus.api.ipam;

import java.util.List;

/**
 * A pool as it stands: its spec, usage per family, how many leases are active / parked (fixed IPs of absent sticky
 * owners) / reserved, and how many leases the reclaimer has taken back since the pool was created.
 */
public record PoolStatus(PoolSpec spec, List<FamilyUsage> usage, int active, int parked, int reserved, long reclaimed) {
    public PoolStatus {
        usage = List.copyOf(usage);
    }
}
