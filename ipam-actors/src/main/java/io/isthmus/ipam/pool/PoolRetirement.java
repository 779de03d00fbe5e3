package io.isthmus.ipam.pool;

import io.isthmus.api.ipam.IpamError;
import io.isthmus.api.ipam.IpamException;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.ipam.pool.PoolLedger.Decision;
import io.isthmus.ipam.pool.PoolProtocol.Request;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Deleting a pool, as the ledger decides it: a pool that holds leases is refused (POOL_IN_USE) unless forced; a
 * forced delete releases every holding (active, parked fixed IPs, open reservations) and ends the pool with
 * {@link PoolEvent.PoolRetired}, all in the batch's one journal write. A retired pool answers every request with
 * UNKNOWN_POOL, and a repeated delete with {@link PoolProtocol.Retired} (nothing drained), so a resend is harmless.
 */
final class PoolRetirement {
    private PoolRetirement() {
    }

    static Decision retire(PoolState s, boolean force, long incarnation, Instant now) {
        String pool = s.spec().name();
        List<Holding> held = s.holdings();
        int active = count(held, LeaseState.ACTIVE);
        int parked = count(held, LeaseState.PARKED);
        int reserved = count(held, LeaseState.RESERVED);
        if (!held.isEmpty() && !force) {
            throw new IpamException(IpamError.POOL_IN_USE, "pool " + pool + " holds " + held.size() + " leases ("
                    + active + " active, " + parked + " parked fixed IPs, " + reserved + " reserved): release them or "
                    + "delete with force, which releases them all", "pool", pool);
        }
        List<PoolEvent> events = new ArrayList<>(held.size() + 1);
        for (Holding h : held) {
            events.add(new PoolEvent.Released(h.owner().identity(), true, now));
        }
        events.add(new PoolEvent.PoolRetired(held.size(), now));
        PoolProtocol.Retired retired = new PoolProtocol.Retired(pool, incarnation, active, parked, reserved);
        return new Decision(events, after -> retired);
    }

    static Decision whenRetired(PoolState s, Request request, long incarnation) {
        String pool = s.spec().name();
        if (request instanceof PoolProtocol.Retire) {
            return Decision.reply(new PoolProtocol.Retired(pool, incarnation, 0, 0, 0));
        }
        return Decision.reply(new PoolProtocol.Failed(IpamError.UNKNOWN_POOL, "no pool named " + pool
                + ": it was deleted at " + s.retiredAt(), "pool", pool));
    }

    private static int count(List<Holding> held, LeaseState state) {
        return (int) held.stream().filter(h -> h.state() == state).count();
    }
}
