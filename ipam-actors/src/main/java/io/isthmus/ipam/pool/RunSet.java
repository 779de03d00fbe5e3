package io.isthmus.ipam.pool;

import scala.Option;
import scala.Tuple2;
import scala.collection.immutable.TreeMap;
import scala.collection.immutable.TreeMap$;
import scala.math.Ordering;

import java.util.ArrayList;
import java.util.List;

/**
 * An immutable set of address indices kept as maximal runs {@code [start, end]}, so a full /16 is one run and an
 * IPv6 /64 costs what is used, not what it spans. Persistent: an update shares all but O(log runs) nodes with the
 * set it came from (Scala's red-black {@code TreeMap}), so an event-sourced state can keep every version immutable
 * without copying. Indices are {@code 0 .. Long.MAX_VALUE - 1}.
 */
final class RunSet {
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static final Ordering<Object> ORDER = (Ordering) Ordering.Long$.MODULE$;
    static final RunSet EMPTY = new RunSet(TreeMap$.MODULE$.empty(ORDER), 0);

    private final TreeMap<Object, Object> runs; // start -> end (inclusive), runs never touch or overlap
    private final long size;

    private RunSet(TreeMap<Object, Object> runs, long size) {
        this.runs = runs;
        this.size = size;
    }

    /** How many indices the set holds. */
    long size() {
        return size;
    }

    int runCount() {
        return runs.size();
    }

    boolean contains(long index) {
        Tuple2<Object, Object> run = floor(index);
        return run != null && end(run) >= index;
    }

    /** The lowest index in {@code [low, high]} that is not in the set, or -1 when all are. O(log runs). */
    long firstFree(long low, long high) {
        if (low > high) {
            return -1;
        }
        Tuple2<Object, Object> run = floor(low);
        if (run == null || end(run) < low) {
            return low;
        }
        long candidate = end(run) + 1; // runs are maximal: the index after one is free
        return candidate <= high ? candidate : -1;
    }

    RunSet add(long index) {
        if (contains(index)) {
            return this;
        }
        long start = index;
        long end = index;
        TreeMap<Object, Object> next = runs;
        Tuple2<Object, Object> left = index > 0 ? floor(index - 1) : null;
        if (left != null && end(left) == index - 1) {
            start = start(left);
        }
        Option<Object> right = runs.get(index + 1);
        if (right.isDefined()) {
            end = (Long) right.get();
            next = next.removed(index + 1);
        }
        return new RunSet(next.updated(start, end), size + 1);
    }

    /** Adds every index of {@code [low, high]}. */
    RunSet addRange(long low, long high) {
        if (low > high) {
            return this;
        }
        long start = low;
        long end = high;
        long removed = 0;
        TreeMap<Object, Object> next = runs;
        Tuple2<Object, Object> left = low > 0 ? floor(low - 1) : null;
        if (left != null && end(left) >= low - 1) {
            start = start(left);
            end = Math.max(end, end(left));
            removed += end(left) - start(left) + 1;
            next = next.removed(start(left));
        }
        while (true) {
            Option<Tuple2<Object, Object>> following = next.minAfter(start);
            if (following.isEmpty() || start(following.get()) > end + 1) {
                break;
            }
            Tuple2<Object, Object> run = following.get();
            end = Math.max(end, end(run));
            removed += end(run) - start(run) + 1;
            next = next.removed(start(run));
        }
        return new RunSet(next.updated(start, end), size - removed + (end - start + 1));
    }

    RunSet remove(long index) {
        Tuple2<Object, Object> run = floor(index);
        if (run == null || end(run) < index) {
            return this;
        }
        TreeMap<Object, Object> next = runs.removed(start(run));
        if (start(run) < index) {
            next = next.updated(start(run), index - 1);
        }
        if (index < end(run)) {
            next = next.updated(index + 1, end(run));
        }
        return new RunSet(next, size - 1);
    }

    /** The runs in order, as {@code {start, end}} pairs. */
    List<long[]> runs() {
        List<long[]> list = new ArrayList<>(runs.size());
        scala.collection.Iterator<Tuple2<Object, Object>> it = runs.iterator();
        while (it.hasNext()) {
            Tuple2<Object, Object> run = it.next();
            list.add(new long[]{start(run), end(run)});
        }
        return list;
    }

    private Tuple2<Object, Object> floor(long index) {
        Option<Tuple2<Object, Object>> run = runs.maxBefore(index + 1);
        return run.isDefined() ? run.get() : null;
    }

    private static long start(Tuple2<Object, Object> run) {
        return (Long) run._1();
    }

    private static long end(Tuple2<Object, Object> run) {
        return (Long) run._2();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RunSet other && size == other.size && runs.equals(other.runs);
    }

    @Override
    public int hashCode() {
        return runs.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("[");
        for (long[] run : runs()) {
            text.append(text.length() > 1 ? ", " : "").append(run[0]).append(run[0] == run[1] ? "" : ".." + run[1]);
        }
        return text.append(']').toString();
    }
}
