package io.isthmus.ipam.pool;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class RunSetTest {
    @Test
    void adjacentIndicesMergeIntoOneRunAndSplitOnRemove() {
        RunSet set = RunSet.EMPTY.add(5).add(7).add(6);
        assertEquals(1, set.runCount());
        assertEquals(3, set.size());
        assertEquals(8, set.firstFree(5, 100));
        RunSet split = set.remove(6);
        assertEquals(2, split.runCount());
        assertEquals(6, split.firstFree(5, 100));
        assertEquals(3, set.size(), "the set it came from is unchanged");
    }

    @Test
    void firstFreeRespectsTheUpperBound() {
        RunSet set = RunSet.EMPTY.addRange(1, 10);
        assertEquals(-1, set.firstFree(1, 10));
        assertEquals(11, set.firstFree(1, 11));
        assertEquals(0, set.firstFree(0, 10));
    }

    @Test
    void rangesMergeWithEverythingTheyTouch() {
        RunSet set = RunSet.EMPTY.add(1).addRange(3, 4).addRange(8, 9).addRange(2, 7);
        assertEquals(1, set.runCount());
        assertEquals(9, set.size());
        assertArrayEquals(new long[]{1, 9}, set.runs().getFirst());
    }

    @Test
    void hugeIndicesWork() {
        long top = Long.MAX_VALUE - 1;
        RunSet set = RunSet.EMPTY.add(top).add(top - 1);
        assertEquals(List.of(top - 1, top), List.of(set.runs().getFirst()[0], set.runs().getFirst()[1]));
        assertEquals(-1, set.firstFree(top - 1, top));
    }

    /** Seeded random adds, ranges and removes agree with a plain TreeSet, including firstFree. */
    @Test
    void randomOperationsAgreeWithATreeSet() {
        long seed = 42;
        Random random = new Random(seed);
        RunSet set = RunSet.EMPTY;
        TreeSet<Long> model = new TreeSet<>();
        for (int i = 0; i < 20_000; i++) {
            long index = random.nextInt(500);
            switch (random.nextInt(4)) {
                case 0, 1 -> {
                    set = set.add(index);
                    model.add(index);
                }
                case 2 -> {
                    set = set.remove(index);
                    model.remove(index);
                }
                default -> {
                    long high = index + random.nextInt(5);
                    set = set.addRange(index, high);
                    for (long j = index; j <= high; j++) {
                        model.add(j);
                    }
                }
            }
            assertEquals(model.size(), set.size(), "seed " + seed + " step " + i);
            long low = random.nextInt(500);
            long expected = -1;
            for (long j = low; j < 520; j++) {
                if (!model.contains(j)) {
                    expected = j;
                    break;
                }
            }
            assertEquals(expected, set.firstFree(low, 519), "seed " + seed + " step " + i);
            assertEquals(model.contains(index), set.contains(index));
        }
    }
}
