package io.isthmus.gateway.exports;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.ServiceKey;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static io.isthmus.gateway.exports.TestExports.T0;
import static io.isthmus.gateway.exports.TestExports.clusterSetIp;
import static io.isthmus.gateway.exports.TestExports.headless;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ExportSetTest {
    private final ServiceExport cart = clusterSetIp("shop", "cart", "10.96.0.10", T0, "http:80/TCP", "dns:53/UDP");
    private final ServiceExport db = headless("shop", "db", List.of("10.0.0.5", "fd00::5"), T0.plusNanos(123_456_789),
            "pg:5432/TCP");
    private final ServiceExport web = headless("app", "web", List.of(), T0, "8080/SCTP");

    @Test
    void emptySetHasVersionZeroAndNoExports() {
        assertEquals(0, ExportSet.EMPTY.version());
        assertEquals(0, ExportSet.EMPTY.size());
        assertTrue(ExportSet.EMPTY.exports().isEmpty());
        assertTrue(ExportSet.EMPTY.find(cart.key()).isEmpty());
    }

    @Test
    void withMakesANewSetAndLeavesTheOldOneAlone() {
        ExportSet one = ExportSet.EMPTY.with(cart, 1);
        ExportSet two = one.with(db, 2);
        assertEquals(0, ExportSet.EMPTY.size());
        assertEquals(1, one.version());
        assertEquals(List.of(cart), one.exports());
        assertEquals(2, two.version());
        assertEquals(2, two.size());
        assertEquals(db, two.find(db.key()).orElseThrow());
        assertTrue(one.find(db.key()).isEmpty());
    }

    @Test
    void withReplacesTheExportOfTheSameKey() {
        ServiceExport moved = clusterSetIp("shop", "cart", "10.96.0.99", T0, "http:80/TCP");
        ExportSet set = ExportSet.EMPTY.with(cart, 1).with(moved, 2);
        assertEquals(List.of(moved), set.exports());
    }

    @Test
    void withoutMakesANewSetAndLeavesTheOldOneAlone() {
        ExportSet both = new ExportSet(5, List.of(cart, db));
        ExportSet withoutCart = both.without(cart.key(), 6);
        assertEquals(List.of(cart, db), both.exports());
        assertEquals(5, both.version());
        assertEquals(List.of(db), withoutCart.exports());
        assertEquals(6, withoutCart.version());
    }

    @Test
    void withoutAnUnknownKeyOnlyChangesTheVersion() {
        ExportSet set = new ExportSet(5, List.of(cart));
        assertEquals(new ExportSet(6, List.of(cart)), set.without(new ServiceKey("x", "y"), 6));
    }

    @Test
    void exportsAreListedInKeyOrderAndCannotBeChanged() {
        ExportSet set = new ExportSet(3, List.of(db, web, cart));
        assertEquals(List.of(web, cart, db), set.exports());
        assertThrows(UnsupportedOperationException.class, () -> set.exports().clear());
    }

    @Test
    void constructorCopiesItsInput() {
        List<ServiceExport> exports = new ArrayList<>(List.of(cart));
        ExportSet set = new ExportSet(1, exports);
        exports.add(db);
        assertEquals(1, set.size());
    }

    @Test
    void constructorKeepsTheLastExportOfAKey() {
        ServiceExport moved = clusterSetIp("shop", "cart", "10.96.0.99", T0, "http:80/TCP");
        assertEquals(List.of(moved), new ExportSet(1, List.of(cart, moved)).exports());
    }

    @Test
    void setsAreEqualWhenVersionAndExportsAre() {
        ExportSet a = new ExportSet(4, List.of(cart, db));
        ExportSet b = ExportSet.EMPTY.with(db, 1).with(cart, 4);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, new ExportSet(5, List.of(cart, db)));
        assertNotEquals(a, new ExportSet(4, List.of(cart)));
        assertNotEquals(a, null);
        assertNotEquals(a, "ExportSet");
        assertEquals(ExportSet.EMPTY, new ExportSet(0, List.of()));
    }

    @Test
    void nextVersionIsOneMoreOrTheWallClockWhicheverIsLater() {
        ExportSet set = new ExportSet(T0.toEpochMilli(), List.of());
        assertEquals(T0.toEpochMilli() + 1, set.nextVersion(T0));
        assertEquals(T0.toEpochMilli() + 1, set.nextVersion(T0.minusSeconds(3600)));
        assertEquals(T0.toEpochMilli() + 5000, set.nextVersion(T0.plusSeconds(5)));
        assertEquals(1, ExportSet.EMPTY.nextVersion(Instant.EPOCH));
    }

    @Test
    void roundTripsThroughJson() throws Exception {
        ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule());
        ExportSet set = new ExportSet(T0.toEpochMilli() + 7, List.of(cart, db, web));
        String text = json.writeValueAsString(set);
        assertEquals(set, json.readValue(text, ExportSet.class));
        assertEquals(ExportSet.EMPTY, json.readValue(json.writeValueAsString(ExportSet.EMPTY), ExportSet.class));
    }

    @Test
    void writesVersionAndExportsAsJsonFields() throws Exception {
        ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule());
        JsonNode tree = json.readTree(json.writeValueAsString(new ExportSet(9, List.of(cart))));
        List<String> fields = new ArrayList<>();
        tree.fieldNames().forEachRemaining(fields::add);
        assertEquals(List.of("version", "exports"), fields);
        assertEquals(9, tree.get("version").asLong());
        assertEquals(1, tree.get("exports").size());
        assertEquals("cart", tree.get("exports").get(0).get("key").get("name").asText());
        assertEquals("10.96.0.10", tree.get("exports").get(0).get("endpoints").get(0).get("ip").asText());
    }

    @Test
    void printsVersionAndExports() {
        String text = new ExportSet(9, List.of(cart)).toString();
        assertTrue(text.contains("version=9"), text);
        assertTrue(text.contains("shop"), text);
    }

    @Test
    void aDiffBetweenTwoVersionsOfOneSetNamesExactlyWhatChanged() {
        ExportSet big = ExportSet.EMPTY;
        for (int i = 0; i < 5_000; i++) {
            big = big.with(clusterSetIp("bench", "svc-" + i, "10.96." + i / 250 + "." + i % 250, T0, "80"), i + 1);
        }
        ServiceExport moved = clusterSetIp("bench", "svc-42", "10.112.0.1", T0, "80");
        ExportSet next = big.with(moved, 6_000).without(new ServiceKey("bench", "svc-7"), 6_001).with(cart, 6_002);
        List<String> changes = new ArrayList<>();
        ExportSet.diff(big, next, (key, before, after) -> changes.add(key + (before == null ? " added" : after == null
                ? " removed" : " changed")));
        assertEquals(List.of("bench/svc-42 changed", "bench/svc-7 removed", "shop/cart added"), changes);
        assertEquals(5_000, next.size(), "one added, one removed");
        assertEquals(5_000, big.size(), "the old version is unchanged");
    }

    @Test
    void changesAppliedTogetherGiveTheSetTheyGiveOneByOne() {
        ExportSet one = new ExportSet(1, List.of(cart, db));
        ExportSet together = one.withChanges(5, List.of(web, cart.offeredOnlyTo(List.of(new io.isthmus.api.ClusterId("west")))),
                List.of(db.key()));
        ExportSet oneByOne = one.without(db.key(), 2).with(web, 3)
                .with(cart.offeredOnlyTo(List.of(new io.isthmus.api.ClusterId("west"))), 5);
        assertEquals(oneByOne, together);
        assertEquals(1, together.restrictedCount(), "cart is offered to west only");
        assertEquals(0, together.with(cart, 6).restrictedCount());
        assertEquals(1, new ExportSet(7, together.exports()).restrictedCount());
    }
}
