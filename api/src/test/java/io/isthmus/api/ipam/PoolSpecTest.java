package io.isthmus.api.ipam;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.net.InetAddress;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PoolSpecTest {
    private static final Cidr V4 = Cidr.parse("c", "10.8.0.0/24");
    private static final Cidr V6 = Cidr.parse("c", "fd00:8::/64");

    static InetAddress ip(String text) {
        return IpLiteral.parse("ip", text);
    }

    private static void refused(String field, String value, Executable build) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, build);
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
    }

    @Test
    void aDualStackPoolKeepsIpv4First() {
        PoolSpec spec = PoolSpec.of("pods", V6, V4);
        assertEquals(List.of(V4, V6), spec.cidrs());
        assertEquals(V4, spec.ipv4().orElseThrow());
        assertEquals(V6, spec.ipv6().orElseThrow());
    }

    @Test
    void theNameMustBeADnsLabel() {
        refused("pool.name", "Pods_1", () -> PoolSpec.of("Pods_1", V4));
        refused("pool.name", "", () -> PoolSpec.of("", V4));
    }

    @Test
    void aPoolNeedsOneCidrPerFamilyAtMost() {
        refused("pool.cidr", "", () -> new PoolSpec("p", List.of(), null, null, null, null));
        InvalidFieldException two = assertThrows(InvalidFieldException.class,
                () -> PoolSpec.of("p", V4, Cidr.parse("c", "10.9.0.0/24")));
        assertEquals("pool.cidr", two.field());
    }

    @Test
    void excludedRangesMustLieInsideThePool() {
        PoolSpec ok = PoolSpec.of("p", V4).withExclude(List.of(AddressRange.parse("x", "10.8.0.10-10.8.0.20")));
        assertEquals(1, ok.exclude().size());
        refused("pool.exclude[1]", "10.8.0.250-10.8.1.5", () -> PoolSpec.of("p", V4).withExclude(List.of(
                AddressRange.parse("x", "10.8.0.1"), AddressRange.parse("x", "10.8.0.250-10.8.1.5"))));
        refused("pool.exclude[0]", "fd00:9::1", () -> PoolSpec.of("p", V4, V6).withExclude(List.of(
                AddressRange.parse("x", "fd00:9::1"))));
    }

    @Test
    void reservedAddressesMustLieInsideThePool() {
        refused("pool.reserved[0]", "10.9.0.1", () -> PoolSpec.of("p", V4).withReserved(List.of(ip("10.9.0.1"))));
    }

    @Test
    void theGatewayMustBeAnAllocatableAddressOfThePoolOnePerFamily() {
        refused("pool.gateway[0]", "10.9.0.1", () -> PoolSpec.of("p", V4).withGateways(List.of(ip("10.9.0.1"))));
        refused("pool.gateway[0]", "10.8.0.0", () -> PoolSpec.of("p", V4).withGateways(List.of(ip("10.8.0.0"))));
        refused("pool.gateway[0]", "10.8.0.255", () -> PoolSpec.of("p", V4).withGateways(List.of(ip("10.8.0.255"))));
        refused("pool.gateway[1]", "10.8.0.2", () -> PoolSpec.of("p", V4).withGateways(List.of(ip("10.8.0.1"), ip("10.8.0.2"))));
        PoolSpec dual = PoolSpec.of("p", V4, V6).withGateways(List.of(ip("10.8.0.1"), ip("fd00:8::1")));
        assertEquals(ip("fd00:8::1"), dual.gateway(false).orElseThrow());
    }

    @Test
    void routesNeedAFamilyThePoolHas() {
        refused("pool.route[0]", "::/0", () -> PoolSpec.of("p", V4).withRoutes(List.of(Route.parse("r", "::/0"))));
        assertEquals("0.0.0.0/0 via 10.8.0.1", Route.parse("r", "0.0.0.0/0 via 10.8.0.1").toString());
        refused("route", "0.0.0.0/0 via fd00::1", () -> Route.parse("route", "0.0.0.0/0 via fd00::1"));
        refused("route", "10.0.0.0/33", () -> Route.parse("route", "10.0.0.0/33"));
    }

    @Test
    void overlapIsAnySharedAddress() {
        assertTrue(PoolSpec.of("a", V4).overlaps(PoolSpec.of("b", Cidr.parse("c", "10.8.0.128/25"))));
        assertFalse(PoolSpec.of("a", V4).overlaps(PoolSpec.of("b", Cidr.parse("c", "10.8.1.0/24"))));
        assertTrue(PoolSpec.of("a", V4, V6).overlaps(PoolSpec.of("b", Cidr.parse("c", "fd00:8::/80"))));
    }

    @Test
    void addressRangesParseAndCheckOrderAndFamily() {
        assertEquals("10.8.0.0-10.8.0.15", AddressRange.parse("x", "10.8.0.0/28").toString());
        assertTrue(AddressRange.parse("x", "10.8.0.1-10.8.0.9").contains(ip("10.8.0.5")));
        refused("x", "10.8.0.9-10.8.0.1", () -> AddressRange.parse("x", "10.8.0.9-10.8.0.1"));
        refused("x", "10.8.0.1-fd00::1", () -> AddressRange.parse("x", "10.8.0.1-fd00::1"));
        refused("x", "ten", () -> AddressRange.parse("x", "ten"));
    }
}
