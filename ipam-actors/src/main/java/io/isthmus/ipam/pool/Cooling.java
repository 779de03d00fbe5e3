package io.isthmus.ipam.pool;

import io.isthmus.ipam.IpamSerializable;
import scala.Option;
import scala.Tuple2;
import scala.collection.immutable.HashMap;
import scala.collection.immutable.HashMap$;
import scala.collection.immutable.Queue;
import scala.collection.immutable.Queue$;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The addresses a pool freed most recently and when (the reuse delay: a just-freed address is not handed to a new
 * owner at once, while other hosts' ARP/neighbour caches may still point it at the old one). Immutable and
 * persistent; at most {@link #LIMIT} entries, the oldest dropped first, so a burst of releases cannot grow a pool's
 * state without bound (the dropped ones are simply reusable earlier). Whether an entry still blocks reuse is decided
 * at allocation time against the configured delay, so no event is needed when it ends.
 */
final class Cooling {
    static final int LIMIT = 4096;
    static final Cooling EMPTY = new Cooling(HashMap$.MODULE$.empty(), HashMap$.MODULE$.empty(), Queue$.MODULE$.empty());

    /** One freed address: family, index in the family, when. */
    record Freed(boolean v4, long index, Instant at) implements IpamSerializable {
    }

    private final HashMap<Object, Instant> v4;
    private final HashMap<Object, Instant> v6;
    private final Queue<Freed> order; // oldest first

    private Cooling(HashMap<Object, Instant> v4, HashMap<Object, Instant> v6, Queue<Freed> order) {
        this.v4 = v4;
        this.v6 = v6;
        this.order = order;
    }

    static Cooling of(List<Freed> entries) {
        Cooling cooling = EMPTY;
        for (Freed freed : entries) {
            cooling = cooling.with(freed);
        }
        return cooling;
    }

    /** Adds the freed indices (-1: none in that family). */
    Cooling freed(long i4, long i6, Instant at) {
        Cooling next = this;
        if (i4 >= 0) {
            next = next.with(new Freed(true, i4, at));
        }
        if (i6 >= 0) {
            next = next.with(new Freed(false, i6, at));
        }
        return next;
    }

    private Cooling with(Freed freed) {
        HashMap<Object, Instant> n4 = freed.v4() ? v4.updated(freed.index(), freed.at()) : v4;
        HashMap<Object, Instant> n6 = freed.v4() ? v6 : v6.updated(freed.index(), freed.at());
        Queue<Freed> nextOrder = order.enqueue(freed);
        if (nextOrder.size() > LIMIT) {
            Tuple2<Freed, Queue<Freed>> dropped = nextOrder.dequeue();
            Freed oldest = dropped._1();
            nextOrder = dropped._2();
            HashMap<Object, Instant> family = oldest.v4() ? n4 : n6;
            // Only if that index was not freed again since (then the later entry stands).
            if (oldest.at().equals(family.get(oldest.index()).getOrElse(() -> null))) {
                if (oldest.v4()) {
                    n4 = n4.removed(oldest.index());
                } else {
                    n6 = n6.removed(oldest.index());
                }
            }
        }
        return new Cooling(n4, n6, nextOrder);
    }

    /** When the index was last freed, if it is still remembered; null otherwise. */
    Instant freedAt(boolean ipv4, long index) {
        Option<Instant> found = (ipv4 ? v4 : v6).get(index);
        return found.isDefined() ? found.get() : null;
    }

    /** Entries oldest first, for the snapshot. */
    List<Freed> entries() {
        List<Freed> list = new ArrayList<>(order.size());
        scala.collection.Iterator<Freed> it = order.iterator();
        while (it.hasNext()) {
            list.add(it.next());
        }
        return list;
    }

    int size() {
        return order.size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Cooling other && order.equals(other.order);
    }

    @Override
    public int hashCode() {
        return order.hashCode();
    }
}
