package io.isthmus.api;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServicePortTest {

    @Test
    void parsesBarePortAsUnnamedTcp() {
        assertEquals(new ServicePort("", 80, Protocol.TCP), ServicePort.parse("80"));
    }

    @Test
    void parsesPortWithProtocol() {
        assertEquals(new ServicePort("", 80, Protocol.TCP), ServicePort.parse("80/TCP"));
        assertEquals(new ServicePort("", 132, Protocol.SCTP), ServicePort.parse("132/SCTP"));
    }

    @Test
    void parsesNamedPortWithProtocol() {
        ServicePort port = ServicePort.parse("http:80/TCP");
        assertEquals("http", port.name());
        assertEquals(80, port.port());
        assertEquals(Protocol.TCP, port.protocol());
    }

    @Test
    void parsesProtocolInAnyCase() {
        assertEquals(new ServicePort("", 53, Protocol.UDP), ServicePort.parse("53/udp"));
        assertEquals(new ServicePort("dns", 53, Protocol.UDP), ServicePort.parse("dns:53/Udp"));
    }

    @Test
    void parsesTheExtremePortNumbers() {
        assertEquals(1, ServicePort.parse("1").port());
        assertEquals(65535, ServicePort.parse("65535").port());
    }

    @Test
    void ignoresSurroundingWhitespace() {
        assertEquals(new ServicePort("http", 80, Protocol.TCP), ServicePort.parse("  http:80/TCP "));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "99999"})
    void rejectsPortNumberOutOfRange(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ServicePort.parse(text));
        assertEquals("port", e.field());
        assertEquals(text, e.value());
        assertTrue(e.reason().contains("between 1 and 65535"), e.reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"abc", "", "80/", ":80", "http:", "80/TCP/UDP", "123456", "-1", "http:80:81", "80 /TCP"})
    void rejectsTextThatIsNotOfThePortForm(String text) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ServicePort.parse(text));
        assertEquals("port", e.field());
        assertEquals(text, e.value());
        assertTrue(e.reason().contains("[NAME:]PORT[/PROTOCOL]"), e.reason());
    }

    @Test
    void rejectsNullAsMalformed() {
        assertThrows(InvalidFieldException.class, () -> ServicePort.parse(null));
    }

    @Test
    void rejectsUnknownProtocol() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ServicePort.parse("80/XYZ"));
        assertEquals("port", e.field());
        assertEquals("XYZ", e.value());
        assertTrue(e.reason().contains("TCP, UDP or SCTP"), e.reason());
    }

    @Test
    void rejectsPortNameThatIsNotADnsLabel() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> ServicePort.parse("Http:80"));
        assertEquals("port name", e.field());
        assertEquals("Http", e.value());
    }

    @Test
    void treatsNullNameAsUnnamed() {
        assertEquals("", new ServicePort(null, 80, Protocol.TCP).name());
    }

    @Test
    void constructorRejectsOutOfRangePortAndMissingProtocol() {
        assertEquals("port", assertThrows(InvalidFieldException.class,
                () -> new ServicePort("", 0, Protocol.TCP)).field());
        assertEquals("port", assertThrows(InvalidFieldException.class,
                () -> new ServicePort("", 65536, Protocol.TCP)).field());
        assertEquals("port protocol", assertThrows(InvalidFieldException.class,
                () -> new ServicePort("", 80, null)).field());
    }

    @Test
    void printsInTheFormItParses() {
        assertEquals("http:80/TCP", new ServicePort("http", 80, Protocol.TCP).toString());
        assertEquals("53/UDP", new ServicePort("", 53, Protocol.UDP).toString());
        for (String text : new String[]{"http:80/TCP", "53/UDP", "sctp:9/SCTP"}) {
            assertEquals(text, ServicePort.parse(text).toString());
        }
    }
}
