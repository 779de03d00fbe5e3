package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.isthmus.api.Cidr;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CidrTableTest {
    private static Map.Entry<Cidr, String> route(String cidr, String value) {
        return Map.entry(Cidr.parse("route", cidr), value);
    }

    private final CidrTable<String> table = new CidrTable<>(List.of(
            route("10.0.0.0/8", "wide"), route("10.2.0.0/16", "west"), route("10.2.3.0/24", "west-svc"),
            route("fd00::/8", "v6-wide"), route("fd00:2::/32", "v6-west"), route("192.168.1.7/32", "host")));

    private String lookup(String address) {
        return table.lookup(Packets.address(address).getAddress());
    }

    @Test
    void theLongestMatchingPrefixWins() {
        assertEquals("wide", lookup("10.9.9.9"));
        assertEquals("west", lookup("10.2.9.9"));
        assertEquals("west-svc", lookup("10.2.3.200"));
        assertEquals("host", lookup("192.168.1.7"));
        assertEquals("v6-west", lookup("fd00:2::1"));
        assertEquals("v6-wide", lookup("fd00:3::1"));
    }

    @Test
    void addressesOutsideEveryNetworkHaveNoRoute() {
        assertNull(lookup("11.0.0.1"));
        assertNull(lookup("192.168.1.8"));
        assertNull(lookup("fe80::1"));
    }

    @Test
    void aDefaultRouteMatchesEverythingOfItsFamily() {
        CidrTable<String> defaults = new CidrTable<>(List.of(route("0.0.0.0/0", "all")));
        assertEquals("all", defaults.lookup(Packets.address("8.8.8.8").getAddress()));
        assertNull(defaults.lookup(Packets.address("2001:db8::1").getAddress()));
    }

    @Test
    void aNetworkGivenTwiceIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> new CidrTable<>(List.of(route("10.0.0.0/8", "a"), route("10.0.0.0/8", "b"))));
    }
}
