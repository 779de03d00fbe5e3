package io.isthmus.gateway.config;

import io.isthmus.api.InvalidFieldException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.InetSocketAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HostPortTest {

    @Test
    void parsesHostAndPort() {
        assertEquals(new HostPort("10.1.0.5", 7071), HostPort.parse("peer", "10.1.0.5:7071"));
        assertEquals(new HostPort("gw.east.example", 1), HostPort.parse("peer", "gw.east.example:1"));
        assertEquals(new HostPort("localhost", 65535), HostPort.parse("peer", " localhost:65535 "));
    }

    @Test
    void parsesBracketedIpv6() {
        assertEquals(new HostPort("::1", 7071), HostPort.parse("peer", "[::1]:7071"));
        assertEquals(new HostPort("fd00::5", 80), HostPort.parse("peer", "[fd00::5]:80"));
    }

    @Test
    void rejectsUnbracketedIpv6() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> HostPort.parse("peer", "::1:7071"));
        assertEquals("peer", e.field());
        assertEquals("::1:7071", e.value());
        assertTrue(e.reason().contains("brackets"), e.reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"nohost", "host:", ":7071", "", "[]:7071", "ho st:80", "host/x:80"})
    void rejectsTextWithoutHostOrPort(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> HostPort.parse("peer", text));
        assertEquals("peer", e.field());
        assertEquals(text, e.value());
    }

    @ParameterizedTest
    @ValueSource(strings = {"host:0", "host:65536", "host:99999", "host:-1"})
    void rejectsPortOutOfRange(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> HostPort.parse("peer", text));
        assertEquals(text, e.value());
        assertTrue(e.reason().contains("between 1 and 65535"), e.reason());
    }

    @Test
    void rejectsPortThatIsNotANumber() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> HostPort.parse("peer", "host:http"));
        assertTrue(e.reason().contains("not a number"), e.reason());
    }

    @Test
    void rejectsNullAsEmpty() {
        assertEquals("", assertThrows(InvalidFieldException.class, () -> HostPort.parse("peer", null)).value());
    }

    @Test
    void constructorAllowsPortZeroForListeningButNotOutOfRange() {
        assertEquals(0, new HostPort("127.0.0.1", 0).port());
        assertEquals("port", assertThrows(InvalidFieldException.class, () -> new HostPort("h", 65536)).field());
        assertEquals("host", assertThrows(InvalidFieldException.class, () -> new HostPort(" ", 80)).field());
        assertEquals("host", assertThrows(InvalidFieldException.class, () -> new HostPort(null, 80)).field());
    }

    @Test
    void printsIpv6InBracketsSoItParsesBack() {
        assertEquals("[::1]:7071", new HostPort("::1", 7071).toString());
        assertEquals("10.0.0.1:80", new HostPort("10.0.0.1", 80).toString());
        for (String text : new String[]{"[fd00::5]:7071", "10.0.0.1:80", "gw.example:443"}) {
            assertEquals(text, HostPort.parse("peer", text).toString());
        }
    }

    @Test
    void formatsBoundSocketAddresses() throws Exception {
        assertEquals("-", HostPort.format(null));
        assertEquals("127.0.0.1:7070", HostPort.format(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 7070)));
        assertEquals("[0:0:0:0:0:0:0:1]:7070",
                HostPort.format(new InetSocketAddress(InetAddress.getByName("::1"), 7070)));
    }

    @Test
    void makesAnUnresolvedLookingSocketAddressOfALiteral() {
        InetSocketAddress address = new HostPort("127.0.0.1", 7070).toSocketAddress();
        assertEquals(7070, address.getPort());
        assertEquals("127.0.0.1", address.getHostString());
    }
}
