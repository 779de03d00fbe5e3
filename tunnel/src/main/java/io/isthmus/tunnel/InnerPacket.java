package io.isthmus.tunnel;

/**
 * Reads what the data plane needs from an inner IP packet in a byte array, without copying: its version, whether
 * its length is consistent, where its addresses are, and a hash of its flow.
 */
public final class InnerPacket {
    public static final int IPV4_HEADER = 20;
    public static final int IPV6_HEADER = 40;

    private InnerPacket() {
    }

    /** 4 or 6, or 0 when the packet is too short to tell or is neither. */
    public static int version(byte[] packet, int at, int length) {
        if (length < 1) {
            return 0;
        }
        int version = (packet[at] & 0xFF) >>> 4;
        return version == 4 || version == 6 ? version : 0;
    }

    /** Whether the packet is at least as long as its IP header and the length it declares (extra bytes are padding). */
    public static boolean complete(byte[] packet, int at, int length, int version) {
        if (version == 4) {
            if (length < IPV4_HEADER) {
                return false;
            }
            int headerLength = (packet[at] & 0x0F) * 4;
            int total = (packet[at + 2] & 0xFF) << 8 | packet[at + 3] & 0xFF;
            return headerLength >= IPV4_HEADER && total >= headerLength && total <= length;
        }
        if (length < IPV6_HEADER) {
            return false;
        }
        int payload = (packet[at + 4] & 0xFF) << 8 | packet[at + 5] & 0xFF;
        return IPV6_HEADER + payload <= length;
    }

    public static int sourceOffset(int version) {
        return version == 4 ? 12 : 8;
    }

    public static int destinationOffset(int version) {
        return version == 4 ? 16 : 24;
    }

    /**
     * A hash of the packet's flow: addresses, protocol and, for TCP and UDP without fragments or IPv6 extension
     * headers, the ports. Packets of one flow hash alike, so a queue chosen by it keeps their order.
     */
    public static int flowHash(byte[] packet, int at, int length) {
        int version = version(packet, at, length);
        if (version == 0 || !complete(packet, at, length, version)) {
            return 0;
        }
        int addressBytes = version == 4 ? 8 : 32;
        int from = at + sourceOffset(version);
        int hash = 0x9E3779B9;
        for (int i = 0; i < addressBytes; i++) {
            hash = (hash ^ (packet[from + i] & 0xFF)) * 0x01000193;
        }
        int protocol;
        int transport;
        if (version == 4) {
            protocol = packet[at + 9] & 0xFF;
            transport = at + (packet[at] & 0x0F) * 4;
            boolean fragment = ((packet[at + 6] & 0x3F) | packet[at + 7]) != 0;
            if (fragment) {
                transport = -1;
            }
        } else {
            protocol = packet[at + 6] & 0xFF;
            transport = at + IPV6_HEADER;
        }
        hash = (hash ^ protocol) * 0x01000193;
        if ((protocol == 6 || protocol == 17) && transport >= 0 && transport + 4 <= at + length) {
            for (int i = 0; i < 4; i++) {
                hash = (hash ^ (packet[transport + i] & 0xFF)) * 0x01000193;
            }
        }
        return hash ^ (hash >>> 16);
    }
}
