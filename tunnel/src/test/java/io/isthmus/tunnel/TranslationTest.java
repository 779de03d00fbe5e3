package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TranslationTest {
    private final Translation east = new Translation(List.of(
            new Translation.Mapping(Cidr.parse("r", "10.0.0.0/16"), Cidr.parse("g", "172.30.0.0/16")),
            new Translation.Mapping(Cidr.parse("r", "fd00::/64"), Cidr.parse("g", "fd99:1::/64"))));

    private static byte[] address(byte[] packet, int at, int bytes) {
        return Arrays.copyOfRange(packet, at, at + bytes);
    }

    @Test
    void anOutboundSourceBecomesItsGlobalAddressWithChecksumsStillValid() {
        byte[] tcp = Packets.tcp("10.0.3.4", "172.31.9.9", 7, 0, "payload".getBytes());
        east.outbound(tcp, 0, tcp.length, 4);
        assertArrayEquals(Packets.address("172.30.3.4").getAddress(), address(tcp, 12, 4));
        assertArrayEquals(Packets.address("172.31.9.9").getAddress(), address(tcp, 16, 4), "destination untouched");
        assertTrue(Packets.checksumsValid(tcp, 0, tcp.length));

        byte[] v6 = Packets.tcp("fd00::77", "fd99:2::5", 7, 0, new byte[333]);
        east.outbound(v6, 0, v6.length, 6);
        assertArrayEquals(Packets.address("fd99:1::77").getAddress(), address(v6, 8, 16));
        assertTrue(Packets.checksumsValid(v6, 0, v6.length));
    }

    @Test
    void anInboundDestinationBecomesItsRealAddress() {
        byte[] tcp = Packets.tcp("172.31.9.9", "172.30.200.1", 7, 0, new byte[101]);
        east.inbound(tcp, 0, tcp.length, 4);
        assertArrayEquals(Packets.address("10.0.200.1").getAddress(), address(tcp, 16, 4));
        assertTrue(Packets.checksumsValid(tcp, 0, tcp.length));
    }

    @Test
    void udpChecksumsAreFixedAndAMissingIpv4UdpChecksumStaysMissing() {
        byte[] udp = Packets.udp("10.0.1.1", "172.31.0.1", 1, 2, new byte[50]);
        int l4 = 20;
        long sum = Checksums.pseudoHeader(udp, 0, 4, 17, udp.length - l4);
        Checksums.put16(udp, l4 + 6, ~Checksums.fold(Checksums.add(udp, l4, udp.length - l4, sum)) & 0xFFFF);
        east.outbound(udp, 0, udp.length, 4);
        assertTrue(Packets.checksumsValid(udp, 0, udp.length));

        byte[] bare = Packets.udp("10.0.1.1", "172.31.0.1", 1, 2, new byte[50]); // checksum 0: none
        east.outbound(bare, 0, bare.length, 4);
        assertEquals(0, Checksums.get16(bare, 26));
        assertEquals(0xFFFF, Checksums.fold(Checksums.add(bare, 0, 20, 0)), "IP header checksum");
    }

    @Test
    void addressesOutsideEveryMappingAreLeftAlone() {
        byte[] tcp = Packets.tcp("10.1.0.1", "172.31.0.1", 7, 0, new byte[10]);
        byte[] before = tcp.clone();
        east.outbound(tcp, 0, tcp.length, 4);
        east.inbound(tcp, 0, tcp.length, 4);
        assertArrayEquals(before, tcp);
    }

    @Test
    void aMappingOfDifferentSizesIsRefused() {
        assertThrows(InvalidFieldException.class, () -> new Translation.Mapping(Cidr.parse("r", "10.0.0.0/16"),
                Cidr.parse("g", "172.30.0.0/24")));
    }
}
