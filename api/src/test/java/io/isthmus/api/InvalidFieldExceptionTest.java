package io.isthmus.api;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;

class InvalidFieldExceptionTest {

    @Test
    void messageNamesFieldValueAndReason() {
        InvalidFieldException e = new InvalidFieldException("cluster-id", "East_1", "must be a DNS label");
        assertEquals("invalid cluster-id 'East_1': must be a DNS label", e.getMessage());
        assertEquals("cluster-id", e.field());
        assertEquals("East_1", e.value());
        assertEquals("must be a DNS label", e.reason());
    }

    @Test
    void keepsNonStringValuesAsTheirText() {
        InvalidFieldException e = new InvalidFieldException("port", 70000, "too big");
        assertEquals("70000", e.value());
        assertEquals("invalid port '70000': too big", e.getMessage());
        assertEquals("[1, 2]", new InvalidFieldException("ip", List.of(1, 2), "x").value());
        assertEquals("null", new InvalidFieldException("ip", null, "x").value());
    }

    @Test
    void asRenamesTheFieldAndKeepsValueAndReason() {
        InvalidFieldException original = new InvalidFieldException("cluster-id", "East_1", "must be a DNS label");
        InvalidFieldException renamed = original.as("isthmus.cluster-id");
        assertNotSame(original, renamed);
        assertEquals("isthmus.cluster-id", renamed.field());
        assertEquals("East_1", renamed.value());
        assertEquals("must be a DNS label", renamed.reason());
        assertEquals("invalid isthmus.cluster-id 'East_1': must be a DNS label", renamed.getMessage());
        assertEquals("cluster-id", original.field());
    }

    @Test
    void isAnIllegalArgumentException() {
        assertInstanceOf(IllegalArgumentException.class, new InvalidFieldException("f", "v", "r"));
    }
}
