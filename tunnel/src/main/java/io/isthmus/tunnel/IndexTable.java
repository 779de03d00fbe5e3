package io.isthmus.tunnel;

import java.util.Arrays;

/**
 * Receiver index → (session, peer), for the receive path: sorted arrays searched without a lock or a boxed key;
 * a change makes a new table (changes are rare: one per key exchange and one per retirement).
 */
final class IndexTable {
    record Slot(Session session, TunnelPeer peer) {
    }

    static final IndexTable EMPTY = new IndexTable(new int[0], new Slot[0]);

    private final int[] indexes;
    private final Slot[] slots;

    private IndexTable(int[] indexes, Slot[] slots) {
        this.indexes = indexes;
        this.slots = slots;
    }

    Slot lookup(int index) {
        int at = Arrays.binarySearch(indexes, index);
        return at >= 0 ? slots[at] : null;
    }

    int size() {
        return indexes.length;
    }

    void forEachIndex(java.util.function.IntConsumer action) {
        for (int index : indexes) {
            action.accept(index);
        }
    }

    void forEachSlot(java.util.function.Consumer<Slot> action) {
        for (Slot slot : slots) {
            action.accept(slot);
        }
    }

    IndexTable with(Session session, TunnelPeer peer) {
        int index = session.localIndex();
        int at = Arrays.binarySearch(indexes, index);
        if (at >= 0) {
            throw new IllegalStateException("receiver index " + Integer.toUnsignedString(index) + " is in use");
        }
        int insert = -at - 1;
        int[] newIndexes = new int[indexes.length + 1];
        Slot[] newSlots = new Slot[slots.length + 1];
        System.arraycopy(indexes, 0, newIndexes, 0, insert);
        System.arraycopy(slots, 0, newSlots, 0, insert);
        newIndexes[insert] = index;
        newSlots[insert] = new Slot(session, peer);
        System.arraycopy(indexes, insert, newIndexes, insert + 1, indexes.length - insert);
        System.arraycopy(slots, insert, newSlots, insert + 1, slots.length - insert);
        return new IndexTable(newIndexes, newSlots);
    }

    IndexTable without(Session session) {
        int at = Arrays.binarySearch(indexes, session.localIndex());
        if (at < 0 || slots[at].session() != session) {
            return this;
        }
        int[] newIndexes = new int[indexes.length - 1];
        Slot[] newSlots = new Slot[slots.length - 1];
        System.arraycopy(indexes, 0, newIndexes, 0, at);
        System.arraycopy(slots, 0, newSlots, 0, at);
        System.arraycopy(indexes, at + 1, newIndexes, at, indexes.length - at - 1);
        System.arraycopy(slots, at + 1, newSlots, at, slots.length - at - 1);
        return new IndexTable(newIndexes, newSlots);
    }
}
