package io.isthmus.ipam.pool;

import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.IpamSerializable;

import java.time.Instant;

/**
 * What happened to a pool, in its journal. Addresses are indices into the pool's families (-1: no such family),
 * which keeps events small; {@link PoolState} turns them back into addresses.
 */
public sealed interface PoolEvent extends IpamSerializable {
    /** Addresses held for {@code owner} until {@code expiresAt}, under {@code reservationId}. */
    record Reserved(Owner owner, long v4, long v6, String reservationId, Instant at, Instant expiresAt) implements PoolEvent {
    }

    record Committed(String identity, String reservationId, Instant at) implements PoolEvent {
    }

    /** A one-step allocation (or the re-activation of a fixed IP) for {@code owner}. */
    record Leased(Owner owner, long v4, long v6, Instant at) implements PoolEvent {
    }

    record ReservationExpired(String identity, String reservationId, Instant at) implements PoolEvent {
    }

    /** {@code freed}: the addresses went back to the pool; else the sticky owner keeps them (parked). */
    record Released(String identity, boolean freed, Instant at) implements PoolEvent {
    }

    /** The reclaimer took the addresses of a gone owner back. */
    record Reclaimed(Owner owner, long v4, long v6, Instant at, String reason) implements PoolEvent {
    }
}
