package io.isthmus.ipam.pool;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.isthmus.api.ipam.Owner;
import io.isthmus.ipam.IpamSerializable;

import java.time.Instant;
import java.util.List;

/**
 * What happened to a pool, in its journal. Addresses are indices into the pool's families (-1: no such family),
 * which keeps events small; {@link PoolState} turns them back into addresses. A group commit of several changes
 * is stored as one {@link Batch} (one journal row per write: the journal's per-row cost is what limits throughput).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME)
@JsonSubTypes({
        @JsonSubTypes.Type(value = PoolEvent.Reserved.class, name = "reserved"),
        @JsonSubTypes.Type(value = PoolEvent.Committed.class, name = "committed"),
        @JsonSubTypes.Type(value = PoolEvent.Leased.class, name = "leased"),
        @JsonSubTypes.Type(value = PoolEvent.ReservationExpired.class, name = "expired"),
        @JsonSubTypes.Type(value = PoolEvent.Released.class, name = "released"),
        @JsonSubTypes.Type(value = PoolEvent.Reclaimed.class, name = "reclaimed"),
        @JsonSubTypes.Type(value = PoolEvent.Batch.class, name = "batch"),
        @JsonSubTypes.Type(value = PoolEvent.PoolRetired.class, name = "retired")})
public sealed interface PoolEvent extends IpamSerializable {
    /** The changes of one group commit, applied in order. */
    record Batch(List<PoolEvent> changes) implements PoolEvent {
        public Batch {
            changes = List.copyOf(changes);
        }
    }

    /**
     * Addresses held for {@code owner} until {@code expiresAt}, under {@code reservationId}, bound to the CNI
     * container {@code attachment} ("" for none; events of older releases lack it: the journal schema's upgrader
     * gives them "", see IpamSchema).
     */
    record Reserved(Owner owner, long v4, long v6, String reservationId, Instant at, Instant expiresAt,
                    String attachment) implements PoolEvent {
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

    /**
     * The pool was deleted: the last event of its journal. Written in one batch after the releases of every lease it
     * still held (a forced delete), so recovery sees either the whole deletion or none of it. {@code drained}: how
     * many leases those releases took (0 for a pool deleted empty).
     */
    record PoolRetired(int drained, Instant at) implements PoolEvent {
    }

    /** The reclaimer took the addresses of a gone owner back. */
    record Reclaimed(Owner owner, long v4, long v6, Instant at, String reason) implements PoolEvent {
    }
}
