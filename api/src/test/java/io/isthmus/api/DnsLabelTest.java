package io.isthmus.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DnsLabelTest {

    @Test
    void returnsTheValueWhenItIsALabel() {
        assertEquals("shop-1", DnsLabel.require("namespace", "shop-1"));
        assertEquals("a".repeat(DnsLabel.MAX_LENGTH), DnsLabel.require("namespace", "a".repeat(63)));
    }

    @Test
    void rejectsEmptyLabelNamingTheField() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> DnsLabel.require("namespace", ""));
        assertEquals("namespace", e.field());
        assertEquals("invalid namespace '': must not be empty", e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Shop", "shop_cart", "-shop", "shop-", "shop.cart", "shop/cart"})
    void rejectsLabelWithCharactersOrEndsOutsideRfc1123(String value) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> DnsLabel.require("name", value));
        assertEquals("name", e.field());
        assertEquals(value, e.value());
        assertTrue(e.getMessage().startsWith("invalid name '" + value + "': must be a DNS label"), e.getMessage());
    }

    @Test
    void rejectsLabelLongerThan63Characters() {
        assertThrows(InvalidFieldException.class, () -> DnsLabel.require("name", "a".repeat(64)));
    }

    @Test
    void serviceKeyNamesTheFieldThatIsWrong() {
        InvalidFieldException ns = assertThrows(InvalidFieldException.class, () -> new ServiceKey("Shop", "cart"));
        assertEquals("namespace", ns.field());
        InvalidFieldException name = assertThrows(InvalidFieldException.class, () -> new ServiceKey("shop", "cart_1"));
        assertEquals("name", name.field());
        assertEquals("shop/cart", new ServiceKey("shop", "cart").toString());
    }

    @Test
    void ordersServiceKeysByNamespaceThenName() {
        assertTrue(new ServiceKey("a", "z").compareTo(new ServiceKey("b", "a")) < 0);
        assertTrue(new ServiceKey("a", "b").compareTo(new ServiceKey("a", "a")) > 0);
        assertEquals(0, new ServiceKey("a", "b").compareTo(new ServiceKey("a", "b")));
    }
}
