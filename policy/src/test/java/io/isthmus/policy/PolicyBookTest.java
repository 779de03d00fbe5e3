package io.isthmus.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.ClusterId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PolicyBookTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final ClusterId WEST = ClusterId.of("west");

    private static Policy policy(String name, int order) {
        return new Policy(name, order, Peers.ANY, List.of(new Rule(Rule.Action.DENY, List.of(), List.of())), List.of());
    }

    @Test
    void twoClustersEditingTheSameRevisionAtOnceBothEndWithTheEditOfTheGreaterClusterId() {
        PolicyBook base = PolicyBook.EMPTY.merge(PolicyBook.EMPTY.write("p", Optional.of(policy("p", 1)), EAST));
        PolicyEntry byEast = base.write("p", Optional.of(policy("p", 2)), EAST);
        PolicyEntry byWest = base.write("p", Optional.of(policy("p", 3)), WEST);
        PolicyBook atEast = base.merge(byEast).merge(byWest);
        PolicyBook atWest = base.merge(byWest).merge(byEast);
        assertEquals(atEast, atWest);
        assertEquals(3, atEast.get("p").orElseThrow().order()); // "west" > "east"
        assertEquals(atEast.version(), atWest.version());
    }

    @Test
    void aDeletionStaysDeletedWhenAnOlderEntryArrivesLater() {
        PolicyEntry created = PolicyBook.EMPTY.write("p", Optional.of(policy("p", 1)), EAST);
        PolicyBook book = PolicyBook.EMPTY.merge(created);
        PolicyEntry deleted = book.write("p", Optional.empty(), WEST);
        PolicyBook after = book.merge(deleted).merge(created);
        assertTrue(after.get("p").isEmpty());
        assertEquals(List.of(), after.policies());
        assertEquals("0:", after.version().substring(0, 2));
        assertNotEquals(PolicyBook.EMPTY.version(), after.version()); // the tombstone is part of the state
    }

    @Test
    void policiesComeInOrderThenName() {
        PolicyBook book = PolicyBook.EMPTY;
        for (Policy p : List.of(policy("b", 5), policy("a", 5), policy("c", 1))) {
            book = book.merge(book.write(p.name(), Optional.of(p), EAST));
        }
        assertEquals(List.of("c", "a", "b"), book.policies().stream().map(Policy::name).toList());
    }

    private static String text(PolicyEntry entry) {
        return entry.policy().map(PolicyCodec::canonicalJson).orElse("");
    }

    /** Any order of delivery, with repeats, converges on the winner an independent, naive reading picks. */
    @Test
    void everyOrderOfDeliveryConvergesOnTheSameBook() {
        Random random = new Random(7);
        List<ClusterId> clusters = List.of(EAST, WEST, ClusterId.of("north"));
        for (int round = 0; round < 200; round++) {
            List<PolicyEntry> entries = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String name = "p" + random.nextInt(4);
                Optional<Policy> policy = random.nextInt(5) == 0 ? Optional.empty()
                        : Optional.of(policy(name, random.nextInt(50)));
                entries.add(new PolicyEntry(name, policy, 1 + random.nextInt(3), clusters.get(random.nextInt(3))));
            }
            // the naive oracle: per name, the entry with the largest revision, ties to the largest cluster id, then
            // to the larger policy text (a deletion being the smallest)
            Map<String, PolicyEntry> winners = new HashMap<>();
            for (PolicyEntry e : entries) {
                PolicyEntry w = winners.get(e.name());
                if (w == null || e.revision() > w.revision()
                        || (e.revision() == w.revision() && e.origin().value().compareTo(w.origin().value()) > 0)
                        || (e.revision() == w.revision() && e.origin().equals(w.origin())
                            && text(e).compareTo(text(w)) > 0)) {
                    winners.put(e.name(), e);
                }
            }
            List<PolicyEntry> shuffled = new ArrayList<>(entries);
            shuffled.addAll(entries.subList(0, 4)); // repeats
            Collections.shuffle(shuffled, random);
            PolicyBook one = PolicyBook.EMPTY.mergeAll(entries);
            PolicyBook other = PolicyBook.EMPTY.mergeAll(shuffled);
            assertEquals(one, other);
            assertEquals(one.version(), other.version());
            assertEquals(new HashMap<>(winners), new HashMap<>(one.entries()));
        }
    }
}
