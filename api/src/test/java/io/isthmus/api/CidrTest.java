package io.isthmus.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CidrTest {

    @ParameterizedTest
    @CsvSource({
            "10.8.0.0/16, 10.8.0.0/16",
            "0.0.0.0/0, 0.0.0.0/0",
            "192.168.1.7/32, 192.168.1.7/32",
            "FD00:0008:0:0::/48, fd00:8::/48",
            "2001:db8:0:1:0:0:0:0/64, 2001:db8:0:1::/64",
            "::/0, ::/0",
    })
    void parsesAndPrintsTheCanonicalForm(String text, String canonical) {
        assertEquals(canonical, Cidr.parse("cidr", text).toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0/8", "fd00::/129",
            "10.0.0.0/8/8", "host.example/24", "10.0.0.0/x"})
    void refusesMalformedInputNamingTheFieldAndValue(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> Cidr.parse("pool.cidr", text));
        assertEquals("pool.cidr", e.field());
        assertEquals(text, e.value());
    }

    @Test
    void refusesHostBitsAndSuggestsTheNetwork() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> Cidr.parse("cidr", "10.8.1.0/16"));
        assertTrue(e.getMessage().contains("did you mean 10.8.0.0/16"), e.getMessage());
    }

    @Test
    void numbersAddressesFromTheNetworkAddress() throws Exception {
        Cidr cidr = Cidr.parse("cidr", "10.8.0.0/16");
        assertEquals(BigInteger.valueOf(65536), cidr.size());
        assertEquals(InetAddress.getByName("10.8.1.2"), cidr.addressAt(258));
        assertEquals(BigInteger.valueOf(258), cidr.indexOf(InetAddress.getByName("10.8.1.2")));
        assertThrows(IllegalArgumentException.class, () -> cidr.addressAt(65536));
        assertThrows(IllegalArgumentException.class, () -> cidr.indexOf(InetAddress.getByName("10.9.0.0")));

        Cidr v6 = Cidr.parse("cidr", "fd00::/64");
        assertEquals(BigInteger.ONE.shiftLeft(64), v6.size());
        assertEquals(InetAddress.getByName("fd00::1:0"), v6.addressAt(65536));
    }

    @Test
    void containmentAndOverlapFollowNesting() throws Exception {
        Cidr supernet = Cidr.parse("a", "10.0.0.0/8");
        Cidr inside = Cidr.parse("b", "10.8.0.0/16");
        Cidr outside = Cidr.parse("c", "11.0.0.0/16");
        Cidr v6 = Cidr.parse("d", "::/0");
        assertTrue(supernet.contains(inside));
        assertFalse(inside.contains(supernet));
        assertTrue(supernet.overlaps(inside) && inside.overlaps(supernet));
        assertFalse(supernet.overlaps(outside));
        assertFalse(v6.overlaps(supernet), "families never overlap");
        assertTrue(inside.contains(InetAddress.getByName("10.8.255.255")));
    }

    @Test
    void carvesSubnetsInOrder() {
        Cidr supernet = Cidr.parse("a", "10.0.0.0/8");
        assertEquals(BigInteger.valueOf(256), supernet.subnetCount(16));
        assertEquals("10.0.0.0/16", supernet.subnet(16, BigInteger.ZERO).toString());
        assertEquals("10.255.0.0/16", supernet.subnet(16, BigInteger.valueOf(255)).toString());
        assertThrows(IllegalArgumentException.class, () -> supernet.subnet(16, BigInteger.valueOf(256)));
        assertThrows(IllegalArgumentException.class, () -> supernet.subnet(7, BigInteger.ZERO));
        assertEquals("fd00:0:0:3::/64", Cidr.parse("a", "fd00::/48").subnet(64, BigInteger.valueOf(3)).toString());
    }

    @Test
    void ordersIpv4FirstThenByNetworkThenPrefix() {
        Cidr a = Cidr.parse("a", "10.0.0.0/8");
        Cidr b = Cidr.parse("b", "10.0.0.0/16");
        Cidr c = Cidr.parse("c", "9.0.0.0/8");
        Cidr d = Cidr.parse("d", "::/0");
        assertTrue(c.compareTo(a) < 0);
        assertTrue(a.compareTo(b) < 0);
        assertTrue(b.compareTo(d) < 0);
        assertEquals(a, Cidr.parse("e", "10.0.0.0/8"));
        assertEquals(a.hashCode(), Cidr.parse("e", "10.0.0.0/8").hashCode());
    }
}
