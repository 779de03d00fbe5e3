package io.isthmus.dns;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The zone's names as a persistent hash trie (a HAMT: 32-way branches indexed by 5 bits of the name's hash at a
 * time), so that a new zone table shares every name that did not change with the one before: putting or removing
 * a name copies only the O(log32 n) branches on its path.
 *
 * <p>A leaf is either a node (the byte array {@link ZoneTable} answers from, whose name sits at {@code [1,
 * 1 + node[0])}) or a {@link Shared} name, which several services may hold (a PTR name) and which remembers who.
 * Immutable, so any number of threads may read it.
 */
final class NameTrie {
    static final NameTrie EMPTY = new NameTrie(null, 0);
    private static final int BITS = 5;
    private static final int MASK = (1 << BITS) - 1;

    /** A name that is not one service's own (a PTR name): its node, and the services contributing to it, sorted. */
    record Shared(byte[] node, io.isthmus.api.ServiceKey[] owners) {
    }

    /** The children present among 32, in index order. */
    private record Branch(int bitmap, Object[] children) {
    }

    /** Leaves whose names differ but whose 32-bit hashes are the same. */
    private record Collision(int hash, Object[] leaves) {
    }

    private final Branch root;
    private final int size;

    private NameTrie(Branch root, int size) {
        this.root = root;
        this.size = size;
    }

    int size() {
        return size;
    }

    static byte[] nodeOf(Object leaf) {
        return leaf instanceof byte[] node ? node : ((Shared) leaf).node();
    }

    /** The leaf for the lower-case wire name {@code name[0, length)}, or null. */
    Object find(byte[] name, int length) {
        int hash = hash(name, 0, length);
        Object at = root;
        for (int shift = 0; at instanceof Branch branch; shift += BITS) {
            int bit = 1 << ((hash >>> shift) & MASK);
            if ((branch.bitmap & bit) == 0) {
                return null;
            }
            at = branch.children[Integer.bitCount(branch.bitmap & (bit - 1))];
        }
        if (at instanceof Collision collision) {
            for (Object leaf : collision.leaves) {
                if (hasName(leaf, name, 0, length)) {
                    return leaf;
                }
            }
            return null;
        }
        return at != null && hasName(at, name, 0, length) ? at : null;
    }

    /** The node answering for {@code name[0, length)}, or null. */
    byte[] findNode(byte[] name, int length) {
        Object leaf = find(name, length);
        return leaf == null ? null : nodeOf(leaf);
    }

    /** This trie with {@code leaf} in place of any leaf of the same name. */
    NameTrie put(Object leaf) {
        byte[] node = nodeOf(leaf);
        int hash = hash(node, 1, node[0] & 0xFF);
        boolean[] added = {false};
        Object next = put(root == null ? new Branch(0, new Object[0]) : root, leaf, node, hash, 0, added);
        return new NameTrie((Branch) next, size + (added[0] ? 1 : 0));
    }

    /** This trie without the name {@code name[0, length)}; this trie itself if it has no such name. */
    NameTrie remove(byte[] name, int length) {
        if (root == null) {
            return this;
        }
        int hash = hash(name, 0, length);
        Object next = remove(root, name, length, hash, 0);
        if (next == root) {
            return this;
        }
        Branch branch = next instanceof Branch b ? b : next == null ? null : new Branch(bit(hashOf(next), 0), new Object[] {next});
        return new NameTrie(branch, size - 1);
    }

    /** Every leaf, in no particular order. */
    void forEach(Consumer<Object> action) {
        if (root != null) {
            forEach(root, action);
        }
    }

    /** Heap bytes of the trie's own objects (branches and their arrays, shared-name records), not of the nodes. */
    long structureBytes() {
        long[] bytes = {0};
        if (root != null) {
            structureBytes(root, bytes);
        }
        return bytes[0];
    }

    private static void structureBytes(Object at, long[] bytes) {
        switch (at) {
            case Branch branch -> {
                bytes[0] += 24 + array(branch.children.length);
                for (Object child : branch.children) {
                    structureBytes(child, bytes);
                }
            }
            case Collision collision -> {
                bytes[0] += 24 + array(collision.leaves.length);
                for (Object leaf : collision.leaves) {
                    structureBytes(leaf, bytes);
                }
            }
            case Shared shared -> bytes[0] += 16 + array(shared.owners().length);
            default -> {
            }
        }
    }

    private static long array(int references) {
        return (16 + references * 4L + 7) / 8 * 8;
    }

    private static void forEach(Object at, Consumer<Object> action) {
        switch (at) {
            case Branch branch -> {
                for (Object child : branch.children) {
                    forEach(child, action);
                }
            }
            case Collision collision -> {
                for (Object leaf : collision.leaves) {
                    action.accept(leaf);
                }
            }
            default -> action.accept(at);
        }
    }

    private static Object put(Object at, Object leaf, byte[] node, int hash, int shift, boolean[] added) {
        switch (at) {
            case Branch branch -> {
                int bit = bit(hash, shift);
                int index = Integer.bitCount(branch.bitmap & (bit - 1));
                if ((branch.bitmap & bit) == 0) {
                    added[0] = true;
                    Object[] children = new Object[branch.children.length + 1];
                    System.arraycopy(branch.children, 0, children, 0, index);
                    children[index] = leaf;
                    System.arraycopy(branch.children, index, children, index + 1, branch.children.length - index);
                    return new Branch(branch.bitmap | bit, children);
                }
                Object child = branch.children[index];
                Object replaced = put(child, leaf, node, hash, shift + BITS, added);
                Object[] children = branch.children.clone();
                children[index] = replaced;
                return new Branch(branch.bitmap, children);
            }
            case Collision collision -> {
                if (collision.hash != hash) {
                    added[0] = true;
                    return pair(collision, collision.hash, leaf, hash, shift);
                }
                Object[] leaves = collision.leaves;
                for (int i = 0; i < leaves.length; i++) {
                    if (sameName(nodeOf(leaves[i]), node)) {
                        Object[] copy = leaves.clone();
                        copy[i] = leaf;
                        return new Collision(hash, copy);
                    }
                }
                added[0] = true;
                Object[] copy = Arrays.copyOf(leaves, leaves.length + 1);
                copy[leaves.length] = leaf;
                return new Collision(hash, copy);
            }
            default -> {
                byte[] existing = nodeOf(at);
                if (sameName(existing, node)) {
                    return leaf;
                }
                added[0] = true;
                int existingHash = hash(existing, 1, existing[0] & 0xFF);
                if (existingHash == hash) {
                    return new Collision(hash, new Object[] {at, leaf});
                }
                return pair(at, existingHash, leaf, hash, shift);
            }
        }
    }

    /** A branch (or a chain of them) holding two children whose hashes differ. */
    private static Branch pair(Object a, int hashA, Object b, int hashB, int shift) {
        int bitA = bit(hashA, shift);
        int bitB = bit(hashB, shift);
        if (bitA == bitB) {
            return new Branch(bitA, new Object[] {pair(a, hashA, b, hashB, shift + BITS)});
        }
        return new Branch(bitA | bitB, Integer.compareUnsigned(bitA, bitB) < 0 ? new Object[] {a, b} : new Object[] {b, a});
    }

    /** The subtree without the name; the same object when the name is not there; null when nothing is left. */
    private static Object remove(Object at, byte[] name, int length, int hash, int shift) {
        switch (at) {
            case Branch branch -> {
                int bit = bit(hash, shift);
                if ((branch.bitmap & bit) == 0) {
                    return branch;
                }
                int index = Integer.bitCount(branch.bitmap & (bit - 1));
                Object child = branch.children[index];
                Object replaced = remove(child, name, length, hash, shift + BITS);
                if (replaced == child) {
                    return branch;
                }
                if (replaced == null) {
                    if (branch.children.length == 1) {
                        return null;
                    }
                    Object[] children = new Object[branch.children.length - 1];
                    System.arraycopy(branch.children, 0, children, 0, index);
                    System.arraycopy(branch.children, index + 1, children, index, children.length - index);
                    if (children.length == 1 && !(children[0] instanceof Branch) && shift > 0) {
                        return children[0]; // a lone leaf moves up, so the trie stays as shallow as it can be
                    }
                    return new Branch(branch.bitmap & ~bit, children);
                }
                if (branch.children.length == 1 && !(replaced instanceof Branch) && shift > 0) {
                    return replaced;
                }
                Object[] children = branch.children.clone();
                children[index] = replaced;
                return new Branch(branch.bitmap, children);
            }
            case Collision collision -> {
                Object[] leaves = collision.leaves;
                for (int i = 0; i < leaves.length; i++) {
                    if (hasName(leaves[i], name, 0, length)) {
                        if (leaves.length == 2) {
                            return leaves[1 - i];
                        }
                        Object[] copy = new Object[leaves.length - 1];
                        System.arraycopy(leaves, 0, copy, 0, i);
                        System.arraycopy(leaves, i + 1, copy, i, copy.length - i);
                        return new Collision(collision.hash, copy);
                    }
                }
                return collision;
            }
            default -> {
                return hasName(at, name, 0, length) ? null : at;
            }
        }
    }

    private static int hashOf(Object child) {
        if (child instanceof Collision collision) {
            return collision.hash;
        }
        byte[] node = nodeOf(child);
        return hash(node, 1, node[0] & 0xFF);
    }

    private static int bit(int hash, int shift) {
        return 1 << ((hash >>> shift) & MASK);
    }

    private static boolean hasName(Object leaf, byte[] name, int from, int length) {
        byte[] node = nodeOf(leaf);
        return (node[0] & 0xFF) == length && Arrays.equals(node, 1, 1 + length, name, from, from + length);
    }

    private static boolean sameName(byte[] a, byte[] b) {
        int length = a[0] & 0xFF;
        return length == (b[0] & 0xFF) && Arrays.equals(a, 1, 1 + length, b, 1, 1 + length);
    }

    static int hash(byte[] bytes, int from, int length) {
        int h = 0x811C9DC5; // FNV-1a
        for (int i = from; i < from + length; i++) {
            h = (h ^ (bytes[i] & 0xFF)) * 0x01000193;
        }
        return h ^ (h >>> 16);
    }
}
