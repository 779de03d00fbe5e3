package io.isthmus.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpLiteralTest {

    @Test
    void parsesIpv4() {
        InetAddress ip = IpLiteral.parse("ip", "10.96.0.10");
        assertInstanceOf(Inet4Address.class, ip);
        assertArrayEquals(new byte[]{10, 96, 0, 10}, ip.getAddress());
        assertEquals("10.96.0.10", ip.getHostAddress());
    }

    @Test
    void parsesIpv6InShortAndLongForm() {
        InetAddress shortForm = IpLiteral.parse("ip", "fd00::10");
        assertInstanceOf(Inet6Address.class, shortForm);
        assertEquals(shortForm, IpLiteral.parse("ip", "fd00:0:0:0:0:0:0:10"));
        assertTrue(IpLiteral.parse("ip", "::1").isLoopbackAddress());
    }

    @Test
    void ignoresSurroundingWhitespace() {
        assertEquals(IpLiteral.parse("ip", "10.0.0.1"), IpLiteral.parse("ip", " 10.0.0.1 "));
    }

    @Test
    void neverLooksUpAHostName() {
        // "localhost" always resolves; if a resolver were asked, this would succeed.
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("--ip", "localhost"));
        assertEquals("--ip", e.field());
        assertEquals("localhost", e.value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"example.com", "cart.shop.svc", "10.0.0.300", "256.1.1.1", "1.2.3.4.5", "10.0.0.-1",
            "fd00::1::2", "fd00:::1", "gggg::1", "10.0.0.1/24", "0x7f.0.0.1"})
    void rejectsTextThatIsNotAnIpAddress(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("ip", text));
        assertEquals("ip", e.field());
        assertEquals(text, e.value());
        assertTrue(e.reason().contains("IPv4") && e.reason().contains("IPv6"), e.reason());
    }

    @Test
    void rejectsEmptyBlankAndNull() {
        assertEquals("", assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("ip", "")).value());
        assertEquals("  ", assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("ip", "  ")).value());
        assertEquals("", assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("ip", null)).value());
    }

    /**
     * An address typed with an octet missing must not be taken as some other address: "10.96.10" would be
     * 10.96.0.10, "127.1" 127.0.0.1 and "10" 0.0.0.10 (the inet_aton shorthands {@code InetAddress.ofLiteral}
     * takes). Kubernetes and Go reject them.
     */
    @ParameterizedTest
    @ValueSource(strings = {"10.96.10", "127.1", "10"})
    void rejectsIpv4ShorthandThatIsNotADottedQuad(String text) {
        assertThrows(InvalidFieldException.class, () -> IpLiteral.parse("ip", text),
                () -> "'" + text + "' was accepted as " + IpLiteral.parse("ip", text).getHostAddress());
    }

    /** RFC 5952 §4 with its examples: lower case, no leading zeros, the longest zero run (first on a tie) as "::". */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({
            "10.244.1.5, 10.244.1.5",
            "2001:0DB8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
            "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
            "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
            "fd00:0:0:0:0:0:0:0, fd00::",
            "0:0:0:0:0:0:0:0, ::",
            "0:0:0:0:0:0:0:1, ::1",
            "fd00:0:0:1:0:0:0:7, fd00:0:0:1::7"})
    void formatsAddressesCanonically(String typed, String canonical) {
        assertEquals(canonical, IpLiteral.format(IpLiteral.parse("ip", typed)));
    }
}
