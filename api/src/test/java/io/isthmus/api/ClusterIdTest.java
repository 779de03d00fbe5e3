package io.isthmus.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClusterIdTest {

    @ParameterizedTest
    @ValueSource(strings = {"east", "a", "0", "us-east-1", "a1b2", "9lives"})
    void acceptsClusterIdThatIsADnsLabel(String value) {
        assertEquals(value, ClusterId.of(value).value());
        assertEquals(value, ClusterId.of(value).toString());
    }

    @Test
    void acceptsClusterIdOfExactly63Characters() {
        String value = "a".repeat(63);
        assertEquals(value, ClusterId.of(value).value());
    }

    @Test
    void rejectsEmptyClusterId() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ClusterId.of(""));
        assertEquals("cluster-id", e.field());
        assertEquals("", e.value());
        assertTrue(e.reason().contains("empty"), e.reason());
    }

    @Test
    void rejectsNullClusterIdAsEmpty() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ClusterId.of(null));
        assertEquals("cluster-id", e.field());
        assertEquals("", e.value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"East", "EAST", "east_1", "-east", "east-", "-", "east.1", "east 1", "eäst", " east"})
    void rejectsClusterIdThatIsNotADnsLabel(String value) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ClusterId.of(value));
        assertEquals("cluster-id", e.field());
        assertEquals(value, e.value());
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @Test
    void rejectsClusterIdOf64Characters() {
        String value = "a".repeat(64);
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ClusterId.of(value));
        assertEquals(value, e.value());
        assertTrue(e.reason().contains("63"), e.reason());
    }

    @Test
    void ordersClusterIdsByName() {
        assertTrue(ClusterId.of("east").compareTo(ClusterId.of("west")) < 0);
        assertTrue(ClusterId.of("west").compareTo(ClusterId.of("east")) > 0);
        assertEquals(0, ClusterId.of("east").compareTo(ClusterId.of("east")));
        assertEquals(ClusterId.of("east"), new ClusterId("east"));
    }
}
