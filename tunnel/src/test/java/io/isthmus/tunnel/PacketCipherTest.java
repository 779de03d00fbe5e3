package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.isthmus.testing.SettableClock;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PacketCipherTest {
    private final SettableClock clock = new SettableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final SecureRandom random = new SecureRandom();

    private Session[] pair(Suite suite) {
        KeyExchange east = new KeyExchange(KeyExchangeTest.EAST, KeyExchangeTest.WEST, suite,
                new ReceiverIndexes(random), random, clock);
        KeyExchange west = new KeyExchange(KeyExchangeTest.WEST, KeyExchangeTest.EAST, suite,
                new ReceiverIndexes(random), random, clock);
        KeyExchange.Accepted accepted = west.onOffer(east.offer()).orElseThrow();
        return new Session[] {east.onAccept(accepted.reply()), accepted.session()};
    }

    @ParameterizedTest
    @EnumSource(Suite.class)
    void aSealedPacketOpensToTheSameBytesUnderTheHeader(Suite suite) throws Exception {
        Session[] pair = pair(suite);
        byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1000, 2000, "hello".getBytes());
        byte[] datagram = new byte[plain.length + WireFormat.OVERHEAD];
        PacketCipher cipher = new PacketCipher();
        int length = cipher.seal(pair[0], WireFormat.TYPE_DATA, 3, 42, plain, 0, plain.length, datagram, 0);

        assertEquals(plain.length + WireFormat.OVERHEAD, length);
        assertEquals(WireFormat.TYPE_DATA, WireFormat.type(datagram, 0));
        assertEquals(pair[1].localIndex(), WireFormat.receiverIndex(datagram, 0));
        assertEquals(42, WireFormat.counter(datagram, 0));
        assertEquals(3, WireFormat.lane(datagram, 0));
        assertEquals(1, datagram[2], "byte 2 is the session's wire version");
        assertEquals(0, datagram[3]);
        byte[] opened = new byte[length];
        int plainLength = new PacketCipher().open(pair[1], datagram, 0, length, opened, 0);
        assertArrayEquals(plain, Arrays.copyOf(opened, plainLength));
    }

    @ParameterizedTest
    @EnumSource(Suite.class)
    void anyFlippedBitFailsAuthentication(Suite suite) throws Exception {
        Session[] pair = pair(suite);
        byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1000, 2000, new byte[100]);
        byte[] datagram = new byte[plain.length + WireFormat.OVERHEAD];
        PacketCipher cipher = new PacketCipher();
        int length = cipher.seal(pair[0], WireFormat.TYPE_DATA, 0, 7, plain, 0, plain.length, datagram, 0);
        byte[] out = new byte[length];
        for (int at : new int[] {1, 4, 8, 15, WireFormat.HEADER_BYTES, length / 2, length - 1}) {
            byte[] tampered = datagram.clone();
            tampered[at] ^= 0x01;
            assertEquals(-1, cipher.open(pair[1], tampered, 0, length, out, 0), "byte " + at + " flipped");
        }
        assertEquals(-1, cipher.open(pair[0], datagram, 0, length, out, 0), "opened with the wrong direction's key");
        assertEquals(-1, cipher.open(pair(suite)[1], datagram, 0, length, out, 0), "opened with another session");
        assertEquals(plain.length, cipher.open(pair[1], datagram, 0, length, out, 0));
    }

    @org.junit.jupiter.api.Test
    void aHeaderVersionNewerThanThisBuildOrAReservedByteIsNoTunnelHeader() throws Exception {
        Session[] pair = pair(Suite.AES_256_GCM);
        byte[] plain = Packets.udp("10.1.0.5", "10.2.0.7", 1000, 2000, new byte[10]);
        byte[] datagram = new byte[plain.length + WireFormat.OVERHEAD];
        new PacketCipher().seal(pair[0], WireFormat.TYPE_KEEPALIVE, 15, 1, plain, 0, plain.length, datagram, 0);
        assertEquals(WireFormat.TYPE_KEEPALIVE, WireFormat.type(datagram, 0));
        byte[] newer = datagram.clone();
        newer[2] = 2;
        assertEquals(0, WireFormat.type(newer, 0));
        byte[] reserved = datagram.clone();
        reserved[3] = 1;
        assertEquals(0, WireFormat.type(reserved, 0));
        byte[] old = datagram.clone();
        old[2] = 0;
        assertEquals(WireFormat.TYPE_KEEPALIVE, WireFormat.type(old, 0), "the wire from before versions still parses");
    }
}
