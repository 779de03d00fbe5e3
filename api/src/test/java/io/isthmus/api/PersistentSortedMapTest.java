package io.isthmus.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PersistentSortedMapTest {

    @Test
    void randomChangesGiveTheSameEntriesAsATreeMapAndKeepTheTreeBalanced() {
        for (long seed = 1; seed <= 20; seed++) {
            Random random = new Random(seed);
            TreeMap<Integer, String> expected = new TreeMap<>();
            PersistentSortedMap<Integer, String> map = PersistentSortedMap.empty();
            for (int step = 0; step < 3_000; step++) {
                int key = random.nextInt(500);
                if (random.nextInt(3) == 0) {
                    expected.remove(key);
                    map = map.without(key);
                } else {
                    String value = "v" + random.nextInt(10);
                    expected.put(key, value);
                    map = map.with(key, value);
                }
            }
            assertTrue(map.isValid(), "seed " + seed);
            assertEquals(expected, map.asMap(), "seed " + seed);
            assertEquals(expected.size(), map.size());
            List<Integer> keys = new ArrayList<>();
            map.forEach((k, v) -> keys.add(k));
            assertEquals(List.copyOf(expected.keySet()), keys, "in key order");
            for (int key = -1; key <= 500; key++) {
                assertEquals(expected.get(key), map.get(key));
            }
            int from = random.nextInt(500);
            List<Integer> after = new ArrayList<>();
            map.forEachAfter(from, (k, v) -> after.add(k));
            assertEquals(List.copyOf(expected.tailMap(from, false).keySet()), after, "after " + from);
        }
    }

    @Test
    void anOldVersionIsUnchangedByChangesToANewOne() {
        PersistentSortedMap<Integer, String> one = PersistentSortedMap.<Integer, String>empty().with(1, "a").with(2, "b");
        PersistentSortedMap<Integer, String> two = one.with(1, "z").without(2).with(3, "c");
        assertEquals(Map.of(1, "a", 2, "b"), one.asMap());
        assertEquals(Map.of(1, "z", 3, "c"), two.asMap());
    }

    @Test
    void changesThatChangeNothingReturnTheSameMap() {
        String value = "a";
        PersistentSortedMap<Integer, String> map = PersistentSortedMap.<Integer, String>empty().with(1, value);
        assertSame(map, map.with(1, value));
        assertSame(map, map.without(2));
    }

    @Test
    void theMapViewIsReadOnlyAndFindsNothingForKeysOfAnotherType() {
        Map<Integer, String> view = PersistentSortedMap.<Integer, String>empty().with(1, "a").asMap();
        assertThrows(UnsupportedOperationException.class, view::clear);
        assertThrows(UnsupportedOperationException.class, () -> view.put(2, "b"));
        assertNull(view.get("1"));
        assertEquals(Map.of(1, "a"), view);
        assertEquals(Map.of(1, "a").hashCode(), view.hashCode());
    }

    @Test
    void diffReportsExactlyWhatDiffersBetweenAnyTwoMaps() {
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            PersistentSortedMap<Integer, String> before = randomMap(random, random.nextInt(300));
            PersistentSortedMap<Integer, String> after = random.nextBoolean() ? randomMap(random, random.nextInt(300))
                    : changed(before, random, random.nextInt(20));
            TreeMap<Integer, String[]> expected = new TreeMap<>();
            for (int key = 0; key < 1_000; key++) {
                String b = before.get(key);
                String a = after.get(key);
                if (b != a) {
                    expected.put(key, new String[] {b, a});
                }
            }
            TreeMap<Integer, String[]> reported = new TreeMap<>();
            List<Integer> order = new ArrayList<>();
            PersistentSortedMap.diff(before, after, (k, b, a) -> {
                reported.put(k, new String[] {b, a});
                order.add(k);
            });
            assertEquals(List.copyOf(expected.keySet()), order, "every difference once, in key order");
            expected.forEach((k, pair) -> {
                assertSame(pair[0], reported.get(k)[0]);
                assertSame(pair[1], reported.get(k)[1]);
            });
        }
    }

    @Test
    void diffOfTwoVersionsAFewChangesApartLooksAtFewNodes() {
        Random random = new Random(11);
        PersistentSortedMap<Integer, String> map = PersistentSortedMap.empty();
        for (int i = 0; i < 10_000; i++) {
            map = map.with(i * 2, "v" + i);
        }
        for (int round = 0; round < 100; round++) {
            PersistentSortedMap<Integer, String> next = changed(map, random, 1);
            int visited = PersistentSortedMap.diff(map, next, (k, b, a) -> {
            });
            assertTrue(visited < 300, "one change among 10,000 looked at " + visited + " nodes");
            map = next;
        }
    }

    private static PersistentSortedMap<Integer, String> randomMap(Random random, int size) {
        PersistentSortedMap<Integer, String> map = PersistentSortedMap.empty();
        for (int i = 0; i < size; i++) {
            map = map.with(random.nextInt(1_000), "v" + random.nextInt(3));
        }
        return map;
    }

    private static PersistentSortedMap<Integer, String> changed(PersistentSortedMap<Integer, String> map, Random random,
                                                                int changes) {
        for (int i = 0; i < changes; i++) {
            int key = random.nextInt(1_000) * (map.size() > 1_000 ? 20 : 1);
            map = random.nextInt(3) == 0 ? map.without(key) : map.with(key, "n" + random.nextInt(1_000));
        }
        return map;
    }
}
