package io.isthmus.tunnel;

/**
 * The data-plane datagram, carried over UDP (IPv4 or IPv6):
 *
 * <pre>
 *  0       1       2       3       4                               8
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * | type  | lane  |version| zero  |   receiver index (big-endian) |
 * +-------+-------+-------+-------+-------+-------+-------+-------+
 * |                 counter (64-bit, big-endian)                  |
 * +---------------------------------------------------------------+
 * |   AEAD ciphertext of the inner IP packet (empty for keepalive) |
 * |   ... 16-byte tag                                             |
 * +---------------------------------------------------------------+
 * </pre>
 *
 * The lane (0..15) names the sender's counter: each sender thread has its own, and the receiver a replay window
 * per lane. The 16 header bytes are the AEAD's associated data; the nonce is the lane as a 32-bit big-endian
 * number followed by the counter, so (lane, counter) never repeats under a key. Every packet, keepalives too, is
 * sealed; there is no unsealed type. The version is the one the session's key exchange agreed on ({@link #VERSION}
 * at most); gateways from before versions sent 0 there, and a session with one of them still does.
 */
public final class WireFormat {
    public static final int HEADER_BYTES = 16;
    public static final int OVERHEAD = HEADER_BYTES + Suite.TAG_BYTES;
    /** An inner IP packet. */
    public static final byte TYPE_DATA = 1;
    /** An empty sealed packet: confirms a new session to the responder, proves the path works. */
    public static final byte TYPE_KEEPALIVE = 2;
    /** Headers as gateways wrote them before the wire had a version: byte 2 zero. */
    public static final int VERSION_UNVERSIONED = 0;
    /** The newest wire version this build writes and reads. */
    public static final int VERSION = 1;

    private WireFormat() {
    }

    static void writeHeader(byte[] to, int at, byte type, int lane, int version, int receiverIndex, long counter) {
        to[at] = type;
        to[at + 1] = (byte) lane;
        to[at + 2] = (byte) version;
        to[at + 3] = 0;
        writeInt(to, at + 4, receiverIndex);
        writeInt(to, at + 8, (int) (counter >>> 32));
        writeInt(to, at + 12, (int) counter);
    }

    /**
     * The type, or 0 when the reserved byte is not zero, the lane is out of range, the version is newer than this
     * build's or the type is unknown. Whether the version is the session's is the caller's check.
     */
    static byte type(byte[] from, int at) {
        byte type = from[at];
        if ((from[at + 1] & 0xFF) >= Session.LANES || (from[at + 2] & 0xFF) > VERSION || from[at + 3] != 0
                || (type != TYPE_DATA && type != TYPE_KEEPALIVE)) {
            return 0;
        }
        return type;
    }

    static int version(byte[] from, int at) {
        return from[at + 2] & 0xFF;
    }

    static int lane(byte[] from, int at) {
        return from[at + 1] & 0xFF;
    }

    static int receiverIndex(byte[] from, int at) {
        return readInt(from, at + 4);
    }

    static long counter(byte[] from, int at) {
        return ((long) readInt(from, at + 8) << 32) | (readInt(from, at + 12) & 0xFFFF_FFFFL);
    }

    static void writeInt(byte[] to, int at, int value) {
        to[at] = (byte) (value >>> 24);
        to[at + 1] = (byte) (value >>> 16);
        to[at + 2] = (byte) (value >>> 8);
        to[at + 3] = (byte) value;
    }

    static int readInt(byte[] from, int at) {
        return (from[at] & 0xFF) << 24 | (from[at + 1] & 0xFF) << 16 | (from[at + 2] & 0xFF) << 8 | from[at + 3] & 0xFF;
    }
}
