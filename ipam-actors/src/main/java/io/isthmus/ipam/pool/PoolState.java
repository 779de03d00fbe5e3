package io.isthmus.ipam.pool;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.isthmus.api.ipam.FamilyUsage;
import io.isthmus.api.ipam.Lease;
import io.isthmus.api.ipam.LeaseState;
import io.isthmus.api.ipam.LeasedAddress;
import io.isthmus.api.ipam.Owner;
import io.isthmus.api.ipam.PoolSpec;
import io.isthmus.api.ipam.PoolStatus;
import io.isthmus.api.ipam.ReclaimRecord;
import io.isthmus.api.ipam.Reservation;
import io.isthmus.ipam.IpamSerializable;
import scala.Option;
import scala.collection.immutable.HashMap;
import scala.collection.immutable.HashMap$;

import java.net.InetAddress;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The state of one pool: per family the set of used indices (run-length, persistent), the holdings keyed by owner
 * identity, the open reservations, and the recent reclaims. Immutable; every update shares structure with the state
 * it came from, so applying an event costs O(log n) and a snapshot can be written while the pool moves on.
 */
public final class PoolState implements IpamSerializable {
    static final int RECENT_RECLAIMS = 100;

    private final PoolSpec spec;
    private final Family v4;
    private final Family v6;
    private final RunSet used4;
    private final RunSet used6;
    private final HashMap<String, Holding> holdings;     // identity -> holding
    private final HashMap<String, String> reservations;  // reservation id -> identity
    private final long reservationSeq;
    private final List<ReclaimRecord> recentReclaims;    // newest last, at most RECENT_RECLAIMS
    private final long reclaimed;
    private final Cooling cooling;                       // recently freed addresses (the reuse delay)
    private final Instant retiredAt;                     // null while the pool lives; a retired pool takes no event

    private PoolState(PoolSpec spec, Family v4, Family v6, RunSet used4, RunSet used6, HashMap<String, Holding> holdings,
                      HashMap<String, String> reservations, long reservationSeq, List<ReclaimRecord> recentReclaims,
                      long reclaimed, Cooling cooling) {
        this(spec, v4, v6, used4, used6, holdings, reservations, reservationSeq, recentReclaims, reclaimed, cooling, null);
    }

    private PoolState(PoolSpec spec, Family v4, Family v6, RunSet used4, RunSet used6, HashMap<String, Holding> holdings,
                      HashMap<String, String> reservations, long reservationSeq, List<ReclaimRecord> recentReclaims,
                      long reclaimed, Cooling cooling, Instant retiredAt) {
        this.retiredAt = retiredAt;
        this.spec = spec;
        this.v4 = v4;
        this.v6 = v6;
        this.used4 = used4;
        this.used6 = used6;
        this.holdings = holdings;
        this.reservations = reservations;
        this.reservationSeq = reservationSeq;
        this.recentReclaims = recentReclaims;
        this.reclaimed = reclaimed;
        this.cooling = cooling;
    }

    public static PoolState empty(PoolSpec spec) {
        Family v4 = spec.ipv4().map(c -> Family.of(spec, c)).orElse(null);
        Family v6 = spec.ipv6().map(c -> Family.of(spec, c)).orElse(null);
        return new PoolState(spec, v4, v6, v4 == null ? RunSet.EMPTY : v4.base(), v6 == null ? RunSet.EMPTY : v6.base(),
                HashMap$.MODULE$.empty(), HashMap$.MODULE$.empty(), 0, List.of(), 0, Cooling.EMPTY);
    }

    public PoolSpec spec() {
        return spec;
    }

    /** When the pool was deleted, or null while it lives. */
    public Instant retiredAt() {
        return retiredAt;
    }

    /** A deleted pool: empty (its leases, parked fixed IPs and cooling addresses are dropped with it), for good. */
    private PoolState retired(Instant at) {
        PoolState empty = empty(spec);
        return new PoolState(spec, v4, v6, empty.used4, empty.used6, empty.holdings, empty.reservations, reservationSeq,
                List.of(), reclaimed, Cooling.EMPTY, at);
    }

    /** The family of the pool, or null when the pool has no CIDR of it. */
    Family family(boolean ipv4) {
        return ipv4 ? v4 : v6;
    }

    RunSet used(boolean ipv4) {
        return ipv4 ? used4 : used6;
    }

    Holding holding(String identity) {
        Option<Holding> found = holdings.get(identity);
        return found.isDefined() ? found.get() : null;
    }

    /** The identity a reservation id belongs to, or null. */
    String reservationOwner(String reservationId) {
        Option<String> found = reservations.get(reservationId);
        return found.isDefined() ? found.get() : null;
    }

    long reservationSeq() {
        return reservationSeq;
    }

    int holdingCount() {
        return holdings.size();
    }

    /** The holdings ordered by owner identity. */
    List<Holding> holdings() {
        List<Holding> list = unorderedHoldings();
        list.sort(Comparator.comparing((Holding h) -> h.owner().identity()));
        return list;
    }

    /** The holdings in no particular order: for the reclaimer's survey, which runs often on big pools. */
    List<Holding> unorderedHoldings() {
        List<Holding> list = new ArrayList<>(holdings.size());
        scala.collection.Iterator<Holding> it = holdings.valuesIterator();
        while (it.hasNext()) {
            list.add(it.next());
        }
        return list;
    }

    /** The holdings whose reservation is open, and past {@code now}. */
    List<Holding> expiredReservations(Instant now) {
        List<Holding> expired = new ArrayList<>();
        scala.collection.Iterator<String> it = reservations.valuesIterator();
        while (it.hasNext()) {
            Holding holding = holding(it.next());
            if (holding != null && !holding.expiresAt().isAfter(now)) {
                expired.add(holding);
            }
        }
        return expired;
    }

    /** The identity holding {@code index} of a family, or null (a linear scan: only for error messages and static IPs). */
    String holderOf(boolean ipv4, long index) {
        scala.collection.Iterator<Holding> it = holdings.valuesIterator();
        while (it.hasNext()) {
            Holding h = it.next();
            if ((ipv4 ? h.v4() : h.v6()) == index) {
                return h.owner().identity();
            }
        }
        return null;
    }

    public List<ReclaimRecord> recentReclaims() {
        return recentReclaims;
    }

    public long reclaimed() {
        return reclaimed;
    }

    PoolState apply(PoolEvent event) {
        return switch (event) {
            case PoolEvent.Batch(List<PoolEvent> changes) -> {
                PoolState next = this;
                for (PoolEvent change : changes) {
                    next = next.apply(change);
                }
                yield next;
            }
            case PoolEvent.Reserved(Owner owner, long i4, long i6, String id, Instant at, Instant expiresAt,
                                    String attachment) -> {
                Holding existing = holding(owner.identity());
                HashMap<String, String> open = reservations;
                LeaseState fallback = null;
                String fallbackAttachment = "";
                PoolState base = this;
                if (existing == null) {
                    base = withUsed(i4, i6, true);
                } else {
                    boolean reserved = existing.state() == LeaseState.RESERVED;
                    fallback = reserved ? existing.fallback() : existing.state();
                    fallbackAttachment = reserved ? existing.fallbackAttachment() : existing.attachment();
                    open = open.removed(existing.reservationId());
                }
                Holding holding = new Holding(owner, i4, i6, LeaseState.RESERVED, at, id, expiresAt, fallback,
                        attachment, fallbackAttachment);
                yield base.with(holdings.updated(owner.identity(), holding), open.updated(id, owner.identity()),
                        reservationSeq + 1);
            }
            case PoolEvent.Committed(String identity, String id, Instant at) -> {
                Holding h = holding(identity);
                yield with(holdings.updated(identity, h.with(LeaseState.ACTIVE, h.owner(), at, h.attachment())), reservations.removed(id),
                        reservationSeq);
            }
            case PoolEvent.Leased(Owner owner, long i4, long i6, Instant at) -> {
                Holding existing = holding(owner.identity());
                PoolState base = existing == null ? withUsed(i4, i6, true) : this;
                HashMap<String, String> open = existing == null || existing.state() != LeaseState.RESERVED ? reservations
                        : reservations.removed(existing.reservationId());
                yield base.with(holdings.updated(owner.identity(), Holding.active(owner, i4, i6, at)), open, reservationSeq);
            }
            case PoolEvent.ReservationExpired(String identity, String id, Instant at) -> {
                Holding h = holding(identity);
                if (h.fallback() == null) {
                    yield freed(h.v4(), h.v6(), at).with(holdings.removed(identity), reservations.removed(id), reservationSeq);
                }
                yield with(holdings.updated(identity, h.with(h.fallback(), h.owner(), at, h.fallbackAttachment())), reservations.removed(id),
                        reservationSeq);
            }
            case PoolEvent.Released(String identity, boolean freed, Instant at) -> {
                Holding h = holding(identity);
                HashMap<String, String> open = h.state() == LeaseState.RESERVED ? reservations.removed(h.reservationId())
                        : reservations;
                if (freed) {
                    yield freed(h.v4(), h.v6(), at).with(holdings.removed(identity), open, reservationSeq);
                }
                yield with(holdings.updated(identity, h.with(LeaseState.PARKED, h.owner(), at, "")), open, reservationSeq);
            }
            case PoolEvent.Reclaimed(Owner owner, long i4, long i6, Instant at, String reason) -> {
                Holding h = holding(owner.identity());
                HashMap<String, String> open = h != null && h.state() == LeaseState.RESERVED
                        ? reservations.removed(h.reservationId()) : reservations;
                List<ReclaimRecord> recent = new ArrayList<>(recentReclaims);
                recent.add(new ReclaimRecord(spec.name(), owner, addresses(i4, i6), at, reason));
                if (recent.size() > RECENT_RECLAIMS) {
                    recent.removeFirst();
                }
                PoolState freed = freed(i4, i6, at);
                yield new PoolState(spec, v4, v6, freed.used4, freed.used6, holdings.removed(owner.identity()), open,
                        reservationSeq, List.copyOf(recent), reclaimed + 1, freed.cooling);
            }
            case PoolEvent.PoolRetired(int drained, Instant at) -> retired(at);
        };
    }

    private PoolState with(HashMap<String, Holding> newHoldings, HashMap<String, String> newReservations, long seq) {
        return new PoolState(spec, v4, v6, used4, used6, newHoldings, newReservations, seq, recentReclaims, reclaimed,
                cooling);
    }

    /** Marks (or frees) the indices; reserved addresses held as a static IP stay in the used set when freed. */
    private PoolState withUsed(long i4, long i6, boolean used) {
        RunSet next4 = used4;
        RunSet next6 = used6;
        if (i4 >= 0) {
            next4 = used ? used4.add(i4) : v4.reserved().contains(i4) ? used4 : used4.remove(i4);
        }
        if (i6 >= 0) {
            next6 = used ? used6.add(i6) : v6.reserved().contains(i6) ? used6 : used6.remove(i6);
        }
        return new PoolState(spec, v4, v6, next4, next6, holdings, reservations, reservationSeq, recentReclaims, reclaimed,
                cooling);
    }

    /** Frees the indices and remembers when, for the reuse delay. */
    private PoolState freed(long i4, long i6, Instant at) {
        PoolState base = withUsed(i4, i6, false);
        return new PoolState(spec, v4, v6, base.used4, base.used6, holdings, reservations, reservationSeq, recentReclaims,
                reclaimed, cooling.freed(i4, i6, at));
    }

    /** When the index was last freed (if among the recently freed), else null. */
    Instant freedAt(boolean ipv4, long index) {
        return cooling.freedAt(ipv4, index);
    }

    List<InetAddress> addresses(long i4, long i6) {
        List<InetAddress> list = new ArrayList<>(2);
        if (i4 >= 0) {
            list.add(v4.addressAt(i4));
        }
        if (i6 >= 0) {
            list.add(v6.addressAt(i6));
        }
        return List.copyOf(list);
    }

    List<LeasedAddress> leased(long i4, long i6) {
        List<LeasedAddress> list = new ArrayList<>(2);
        if (i4 >= 0) {
            list.add(v4.leased(i4));
        }
        if (i6 >= 0) {
            list.add(v6.leased(i6));
        }
        return List.copyOf(list);
    }

    Lease lease(Holding h) {
        return new Lease(spec.name(), h.owner(), leased(h.v4(), h.v6()), h.state(), h.since(), h.attachment());
    }

    Reservation reservation(Holding h) {
        return new Reservation(spec.name(), h.reservationId(), h.owner(), leased(h.v4(), h.v6()), spec.routes(), h.expiresAt());
    }

    public List<Lease> leases() {
        return holdings().stream().map(this::lease).toList();
    }

    public PoolStatus status() {
        long held4 = 0;
        long held6 = 0;
        int active = 0;
        int parked = 0;
        int reserved = 0;
        scala.collection.Iterator<Holding> it = holdings.valuesIterator();
        while (it.hasNext()) {
            Holding h = it.next();
            held4 += h.v4() >= 0 ? 1 : 0;
            held6 += h.v6() >= 0 ? 1 : 0;
            switch (h.state()) {
                case ACTIVE -> active++;
                case PARKED -> parked++;
                case RESERVED -> reserved++;
            }
        }
        List<FamilyUsage> usage = new ArrayList<>(2);
        if (v4 != null) {
            usage.add(new FamilyUsage(v4.cidr(), v4.capacity(), held4));
        }
        if (v6 != null) {
            usage.add(new FamilyUsage(v6.cidr(), v6.capacity(), held6));
        }
        return new PoolStatus(spec, usage, active, parked, reserved, reclaimed);
    }

    @JsonValue
    public PoolSnapshot snapshot() {
        return PoolSnapshot.of(spec, unorderedHoldings(), reservationSeq, recentReclaims, reclaimed, cooling.entries())
                .retired(retiredAt);
    }

    /** Rebuilds the used sets and the reservation index from the holdings. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static PoolState fromSnapshot(PoolSnapshot snapshot) {
        PoolState empty = empty(snapshot.spec());
        if (snapshot.retiredAt() != null) {
            return empty.retired(snapshot.retiredAt());
        }
        List<Holding> all = snapshot.holdings();
        long[] held4 = new long[all.size()];
        long[] held6 = new long[all.size()];
        int n4 = 0;
        int n6 = 0;
        HashMap<String, Holding> byIdentity = HashMap$.MODULE$.empty();
        HashMap<String, String> open = HashMap$.MODULE$.empty();
        for (Holding h : all) {
            if (h.v4() >= 0) {
                held4[n4++] = h.v4();
            }
            if (h.v6() >= 0) {
                held6[n6++] = h.v6();
            }
            byIdentity = byIdentity.updated(h.owner().identity(), h);
            if (h.state() == LeaseState.RESERVED) {
                open = open.updated(h.reservationId(), h.owner().identity());
            }
        }
        return new PoolState(snapshot.spec(), empty.v4, empty.v6, withRuns(empty.used4, held4, n4),
                withRuns(empty.used6, held6, n6), byIdentity, open, snapshot.reservationSeq(),
                List.copyOf(snapshot.recentReclaims()), snapshot.reclaimed(), Cooling.of(snapshot.cooling()));
    }

    /** Adds sorted indices run by run: a full /16 is one addRange instead of 65,534 adds. */
    private static RunSet withRuns(RunSet base, long[] indices, int count) {
        java.util.Arrays.sort(indices, 0, count);
        RunSet set = base;
        int i = 0;
        while (i < count) {
            int j = i;
            while (j + 1 < count && indices[j + 1] <= indices[j] + 1) {
                j++;
            }
            set = set.addRange(indices[i], indices[j]);
            i = j + 1;
        }
        return set;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PoolState other && spec.equals(other.spec) && used4.equals(other.used4)
                && used6.equals(other.used6) && holdings.equals(other.holdings) && reservations.equals(other.reservations)
                && reservationSeq == other.reservationSeq && recentReclaims.equals(other.recentReclaims)
                && reclaimed == other.reclaimed && cooling.equals(other.cooling)
                && java.util.Objects.equals(retiredAt, other.retiredAt);
    }

    @Override
    public int hashCode() {
        return holdings.hashCode() * 31 + Long.hashCode(reservationSeq);
    }

    @Override
    public String toString() {
        return "PoolState(" + spec.name() + ", used4=" + used4.size() + ", used6=" + used6.size() + ", holdings="
                + holdings.size() + ", reservations=" + reservations.size() + ")";
    }
}
