package io.isthmus.ipam.pool;

import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.IpamSerializable;

import java.time.Instant;

/**
 * What one owner identity holds in a pool: an index per family (-1 where the pool has no such family), the state,
 * and for a reservation its id, expiry and the state to go back to when it expires ({@code fallback}: null when the
 * addresses were new and go back to the pool; ACTIVE or PARKED when the reservation re-used a held fixed IP).
 */
public record Holding(Owner owner, long v4, long v6, LeaseState state, Instant since, String reservationId,
                      Instant expiresAt, LeaseState fallback) implements IpamSerializable {
    public Holding {
        reservationId = reservationId == null ? "" : reservationId;
    }

    static Holding active(Owner owner, long v4, long v6, Instant since) {
        return new Holding(owner, v4, v6, LeaseState.ACTIVE, since, "", null, null);
    }

    Holding with(LeaseState newState, Owner newOwner, Instant at) {
        return new Holding(newOwner, v4, v6, newState, at, "", null, null);
    }

    boolean sameAddresses(long otherV4, long otherV6) {
        return v4 == otherV4 && v6 == otherV6;
    }
}
