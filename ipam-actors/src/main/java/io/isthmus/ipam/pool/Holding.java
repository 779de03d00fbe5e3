package io.isthmus.ipam.pool;

import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.IpamSerializable;

import java.time.Instant;

/**
 * What one owner identity holds in a pool: an index per family (-1 where the pool has no such family), the state,
 * and for a reservation its id, expiry and the state to go back to when it expires ({@code fallback}: null when the
 * addresses were new and go back to the pool; ACTIVE or PARKED when the reservation re-used a held fixed IP).
 *
 * <p>{@code attachment}: the CNI container id the addresses are bound to ("" when none: an API allocation, a parked
 * fixed IP, or a holding from before attachments were recorded); only that container may release them through CNI.
 * {@code fallbackAttachment} is the binding to go back to with {@code fallback}.
 */
public record Holding(Owner owner, long v4, long v6, LeaseState state, Instant since, String reservationId,
                      Instant expiresAt, LeaseState fallback, String attachment, String fallbackAttachment)
        implements IpamSerializable {
    public Holding {
        reservationId = reservationId == null ? "" : reservationId;
        attachment = attachment == null ? "" : attachment; // absent in journals and snapshots written before
        fallbackAttachment = fallbackAttachment == null ? "" : fallbackAttachment;
    }

    static Holding active(Owner owner, long v4, long v6, Instant since) {
        return new Holding(owner, v4, v6, LeaseState.ACTIVE, since, "", null, null, "", "");
    }

    /** Settled in {@code newState}; a parked holding is bound to no container (its sandbox is gone). */
    Holding with(LeaseState newState, Owner newOwner, Instant at, String newAttachment) {
        return new Holding(newOwner, v4, v6, newState, at, "", null, null,
                newState == LeaseState.PARKED ? "" : newAttachment, "");
    }

    boolean sameAddresses(long otherV4, long otherV6) {
        return v4 == otherV4 && v6 == otherV6;
    }
}
