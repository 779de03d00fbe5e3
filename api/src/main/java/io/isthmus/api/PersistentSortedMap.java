package io.isthmus.api;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * An immutable sorted map whose changes share structure: {@link #with} and {@link #without} copy only the
 * O(log n) nodes on the path to the key, so a map of every service can change one service at a time without
 * copying the rest. {@link #diff} walks two maps of one lineage in time proportional to what differs, skipping
 * the subtrees they share.
 *
 * <p>A weight-balanced tree (Adams; the parameters 3 and 2 that Haskell's {@code Data.Map} uses, proven by Straka).
 * Nulls are not allowed as keys or values. Thread-safe, as any immutable value.
 */
public final class PersistentSortedMap<K extends Comparable<? super K>, V> implements Iterable<Map.Entry<K, V>> {
    private static final int DELTA = 3;
    private static final int RATIO = 2;
    private static final PersistentSortedMap<?, ?> EMPTY = new PersistentSortedMap<>(null);

    private final Node<K, V> root;

    private PersistentSortedMap(Node<K, V> root) {
        this.root = root;
    }

    @SuppressWarnings("unchecked")
    public static <K extends Comparable<? super K>, V> PersistentSortedMap<K, V> empty() {
        return (PersistentSortedMap<K, V>) EMPTY;
    }

    /** The entries of {@code map} (its nulls rejected). */
    public static <K extends Comparable<? super K>, V> PersistentSortedMap<K, V> copyOf(Map<? extends K, ? extends V> map) {
        PersistentSortedMap<K, V> out = empty();
        for (Map.Entry<? extends K, ? extends V> entry : map.entrySet()) {
            out = out.with(entry.getKey(), entry.getValue());
        }
        return out;
    }

    public int size() {
        return size(root);
    }

    public boolean isEmpty() {
        return root == null;
    }

    /** The value of {@code key}, or null. */
    public V get(K key) {
        Objects.requireNonNull(key, "key");
        Node<K, V> node = root;
        while (node != null) {
            int c = key.compareTo(node.key);
            if (c == 0) {
                return node.value;
            }
            node = c < 0 ? node.left : node.right;
        }
        return null;
    }

    public boolean containsKey(K key) {
        return get(key) != null;
    }

    /** This map with {@code key} mapped to {@code value}; this map itself when it already holds that very value. */
    public PersistentSortedMap<K, V> with(K key, V value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Node<K, V> next = insert(root, key, value);
        return next == root ? this : new PersistentSortedMap<>(next);
    }

    /** This map without {@code key}; this map itself when it has no such key. */
    public PersistentSortedMap<K, V> without(K key) {
        Objects.requireNonNull(key, "key");
        Node<K, V> next = delete(root, key);
        return next == root ? this : new PersistentSortedMap<>(next);
    }

    /** The entry with the smallest key, or null when empty. */
    public Map.Entry<K, V> first() {
        Node<K, V> node = root;
        if (node == null) {
            return null;
        }
        while (node.left != null) {
            node = node.left;
        }
        return Map.entry(node.key, node.value);
    }

    /** Every entry in key order. */
    public void forEach(BiConsumer<? super K, ? super V> action) {
        forEach(root, action);
    }

    /** The entries whose key is greater than {@code after}, in key order: O(log n + the number visited). */
    public void forEachAfter(K after, BiConsumer<? super K, ? super V> action) {
        forEachAfter(root, after, action);
    }

    @Override
    public Iterator<Map.Entry<K, V>> iterator() {
        return new EntryIterator<>(root);
    }

    /** A read-only {@link Map} view (key order), without copying. */
    public Map<K, V> asMap() {
        return new MapView<>(this);
    }

    /** What {@link #diff} reports: a key whose value differs; {@code before} or {@code after} is null when absent. */
    @FunctionalInterface
    public interface Difference<K, V> {
        void changed(K key, V before, V after);
    }

    /**
     * Reports, in key order, every key whose value in {@code after} is not the same object as in {@code before}
     * (added, removed, or replaced). Subtrees the two maps share are skipped whole, so two versions of one map
     * a few changes apart are compared in about (changes × log n) steps; two unrelated maps in n steps.
     *
     * @return how many tree nodes were looked at (for tests of the cost)
     */
    public static <K extends Comparable<? super K>, V> int diff(PersistentSortedMap<K, V> before,
                                                                PersistentSortedMap<K, V> after,
                                                                Difference<? super K, ? super V> difference) {
        Frontier<K, V> a = new Frontier<>(before.root);
        Frontier<K, V> b = new Frontier<>(after.root);
        int visited = 0;
        while (!a.isEmpty() || !b.isEmpty()) {
            visited++;
            if (a.isEmpty()) {
                Node<K, V> y = b.popEntryOrExpand();
                if (y != null) {
                    difference.changed(y.key, null, y.value);
                }
                continue;
            }
            if (b.isEmpty()) {
                Node<K, V> x = a.popEntryOrExpand();
                if (x != null) {
                    difference.changed(x.key, x.value, null);
                }
                continue;
            }
            Node<K, V> x = a.topNode();
            Node<K, V> y = b.topNode();
            boolean xWhole = a.topIsWhole();
            boolean yWhole = b.topIsWhole();
            if (xWhole && yWhole && x == y) {
                a.pop();
                b.pop();
            } else if (xWhole && (!yWhole || x.size >= y.size)) {
                a.expand();
            } else if (yWhole) {
                b.expand();
            } else {
                int c = x.key.compareTo(y.key);
                if (c == 0) {
                    a.pop();
                    b.pop();
                    if (x.value != y.value) {
                        difference.changed(x.key, x.value, y.value);
                    }
                } else if (c < 0) {
                    a.pop();
                    difference.changed(x.key, x.value, null);
                } else {
                    b.pop();
                    difference.changed(y.key, null, y.value);
                }
            }
        }
        return visited;
    }

    /** Equal when they hold equal entries (whatever the shape of their trees). */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof PersistentSortedMap<?, ?> other) || size() != other.size()) {
            return false;
        }
        Iterator<? extends Map.Entry<?, ?>> mine = iterator();
        Iterator<? extends Map.Entry<?, ?>> theirs = other.iterator();
        while (mine.hasNext()) {
            if (!mine.next().equals(theirs.next())) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = 0;
        for (Map.Entry<K, V> entry : this) {
            h += entry.hashCode(); // as java.util.Map
        }
        return h;
    }

    @Override
    public String toString() {
        return asMap().toString();
    }

    // ---- the tree ------------------------------------------------------------------------------------------------

    private record Node<K, V>(K key, V value, Node<K, V> left, Node<K, V> right, int size) {
    }

    private static int size(Node<?, ?> node) {
        return node == null ? 0 : node.size;
    }

    private static <K, V> Node<K, V> node(K key, V value, Node<K, V> left, Node<K, V> right) {
        return new Node<>(key, value, left, right, 1 + size(left) + size(right));
    }

    private static <K extends Comparable<? super K>, V> Node<K, V> insert(Node<K, V> node, K key, V value) {
        if (node == null) {
            return new Node<>(key, value, null, null, 1);
        }
        int c = key.compareTo(node.key);
        if (c == 0) {
            return node.value == value ? node : new Node<>(key, value, node.left, node.right, node.size);
        }
        if (c < 0) {
            Node<K, V> left = insert(node.left, key, value);
            return left == node.left ? node : balance(node.key, node.value, left, node.right);
        }
        Node<K, V> right = insert(node.right, key, value);
        return right == node.right ? node : balance(node.key, node.value, node.left, right);
    }

    private static <K extends Comparable<? super K>, V> Node<K, V> delete(Node<K, V> node, K key) {
        if (node == null) {
            return null;
        }
        int c = key.compareTo(node.key);
        if (c == 0) {
            return glue(node.left, node.right);
        }
        if (c < 0) {
            Node<K, V> left = delete(node.left, key);
            return left == node.left ? node : balance(node.key, node.value, left, node.right);
        }
        Node<K, V> right = delete(node.right, key);
        return right == node.right ? node : balance(node.key, node.value, node.left, right);
    }

    /** The two subtrees of a removed node, joined: the larger one gives up its extreme entry as the new root. */
    private static <K, V> Node<K, V> glue(Node<K, V> left, Node<K, V> right) {
        if (left == null) {
            return right;
        }
        if (right == null) {
            return left;
        }
        if (left.size > right.size) {
            Node<K, V> max = left;
            while (max.right != null) {
                max = max.right;
            }
            return balance(max.key, max.value, deleteMax(left), right);
        }
        Node<K, V> min = right;
        while (min.left != null) {
            min = min.left;
        }
        return balance(min.key, min.value, left, deleteMin(right));
    }

    private static <K, V> Node<K, V> deleteMin(Node<K, V> node) {
        if (node.left == null) {
            return node.right;
        }
        return balance(node.key, node.value, deleteMin(node.left), node.right);
    }

    private static <K, V> Node<K, V> deleteMax(Node<K, V> node) {
        if (node.right == null) {
            return node.left;
        }
        return balance(node.key, node.value, node.left, deleteMax(node.right));
    }

    /** A node over {@code left} and {@code right}, rotated when one side outweighs the other by more than DELTA. */
    private static <K, V> Node<K, V> balance(K key, V value, Node<K, V> left, Node<K, V> right) {
        int sl = size(left);
        int sr = size(right);
        if (sl + sr <= 1) {
            return node(key, value, left, right);
        }
        if (sr > DELTA * sl) {
            Node<K, V> rl = right.left;
            Node<K, V> rr = right.right;
            if (size(rl) < RATIO * size(rr)) { // single left rotation
                return node(right.key, right.value, node(key, value, left, rl), rr);
            }
            return node(rl.key, rl.value, node(key, value, left, rl.left), node(right.key, right.value, rl.right, rr));
        }
        if (sl > DELTA * sr) {
            Node<K, V> ll = left.left;
            Node<K, V> lr = left.right;
            if (size(lr) < RATIO * size(ll)) { // single right rotation
                return node(left.key, left.value, ll, node(key, value, lr, right));
            }
            return node(lr.key, lr.value, node(left.key, left.value, ll, lr.left), node(key, value, lr.right, right));
        }
        return node(key, value, left, right);
    }

    private static <K, V> void forEach(Node<K, V> node, BiConsumer<? super K, ? super V> action) {
        while (node != null) {
            forEach(node.left, action);
            action.accept(node.key, node.value);
            node = node.right;
        }
    }

    private static <K extends Comparable<? super K>, V> void forEachAfter(Node<K, V> node, K after,
                                                                        BiConsumer<? super K, ? super V> action) {
        while (node != null) {
            if (node.key.compareTo(after) > 0) {
                forEachAfter(node.left, after, action);
                action.accept(node.key, node.value);
                forEach(node.right, action);
                return;
            }
            node = node.right;
        }
    }

    /** Checks the tree's invariants (order, sizes, balance); for tests. */
    boolean isValid() {
        return valid(root, null, null);
    }

    private static <K extends Comparable<? super K>, V> boolean valid(Node<K, V> node, K low, K high) {
        if (node == null) {
            return true;
        }
        if (low != null && node.key.compareTo(low) <= 0 || high != null && node.key.compareTo(high) >= 0) {
            return false;
        }
        int sl = size(node.left);
        int sr = size(node.right);
        boolean balanced = sl + sr <= 1 || sl <= DELTA * sr && sr <= DELTA * sl;
        return node.size == 1 + sl + sr && balanced && valid(node.left, low, node.key) && valid(node.right, node.key, high);
    }

    /**
     * A stack of what is left to compare in one tree: whole subtrees, or single entries of nodes whose subtrees
     * were split up. The top is always the part with the smallest keys.
     */
    private static final class Frontier<K, V> {
        private final ArrayDeque<Node<K, V>> nodes = new ArrayDeque<>();
        private final ArrayDeque<Boolean> whole = new ArrayDeque<>();

        Frontier(Node<K, V> root) {
            if (root != null) {
                push(root, true);
            }
        }

        boolean isEmpty() {
            return nodes.isEmpty();
        }

        Node<K, V> topNode() {
            return nodes.peek();
        }

        boolean topIsWhole() {
            return whole.peek();
        }

        void pop() {
            nodes.pop();
            whole.pop();
        }

        private void push(Node<K, V> node, boolean isWhole) {
            nodes.push(node);
            whole.push(isWhole);
        }

        /** Replaces the whole subtree on top by its left subtree, its own entry and its right subtree. */
        void expand() {
            Node<K, V> node = nodes.pop();
            whole.pop();
            if (node.right != null) {
                push(node.right, true);
            }
            push(node, false);
            if (node.left != null) {
                push(node.left, true);
            }
        }

        /** Pops the top if it is a single entry (returning it), else expands it (returning null). */
        Node<K, V> popEntryOrExpand() {
            if (topIsWhole()) {
                expand();
                return null;
            }
            Node<K, V> node = nodes.pop();
            whole.pop();
            return node;
        }
    }

    private static final class EntryIterator<K, V> implements Iterator<Map.Entry<K, V>> {
        private final ArrayDeque<Node<K, V>> path = new ArrayDeque<>();

        EntryIterator(Node<K, V> root) {
            descend(root);
        }

        private void descend(Node<K, V> node) {
            for (; node != null; node = node.left) {
                path.push(node);
            }
        }

        @Override
        public boolean hasNext() {
            return !path.isEmpty();
        }

        @Override
        public Map.Entry<K, V> next() {
            if (path.isEmpty()) {
                throw new NoSuchElementException();
            }
            Node<K, V> node = path.pop();
            descend(node.right);
            return Map.entry(node.key, node.value);
        }
    }

    /** java.util.Map over the tree, read-only; lookups by a key of another type find nothing. */
    private static final class MapView<K extends Comparable<? super K>, V> extends AbstractMap<K, V> {
        private final PersistentSortedMap<K, V> map;

        MapView(PersistentSortedMap<K, V> map) {
            this.map = map;
        }

        @Override
        public int size() {
            return map.size();
        }

        @Override
        @SuppressWarnings("unchecked")
        public V get(Object key) {
            try {
                return key == null ? null : map.get((K) key);
            } catch (ClassCastException e) {
                return null;
            }
        }

        @Override
        public boolean containsKey(Object key) {
            return get(key) != null;
        }

        @Override
        public Set<Entry<K, V>> entrySet() {
            return new AbstractSet<>() {
                @Override
                public Iterator<Entry<K, V>> iterator() {
                    return map.iterator();
                }

                @Override
                public int size() {
                    return map.size();
                }
            };
        }

        @Override
        public void forEach(BiConsumer<? super K, ? super V> action) {
            map.forEach(action);
        }

        @Override
        public V put(K key, V value) {
            throw new UnsupportedOperationException("an immutable map");
        }

        @Override
        public V remove(Object key) {
            throw new UnsupportedOperationException("an immutable map");
        }

        @Override
        public void clear() {
            throw new UnsupportedOperationException("an immutable map");
        }
    }
}
