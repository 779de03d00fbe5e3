package io.isthmus.dns;

/**
 * A query in the shape nearly every client sends, read straight from the bytes without building a dnsjava
 * {@code Message}: opcode QUERY, QR clear, one IN-class question with an uncompressed name, no answer or
 * authority records, and at most an EDNS version 0 OPT with no options but cookies and padding, ending exactly
 * where the message ends. {@link #parse} returns null for anything else, which then takes the full dnsjava path
 * (and gets FORMERR, NOTIMP, BADVERS, ... there).
 *
 * @param flags          the flags word as sent (RD and CD are copied into the response)
 * @param lowerName      the question's name as lower-case wire bytes, the zone table's key
 * @param questionLength bytes of the question (name, type and class), which start at offset 12
 * @param optFlags       the OPT's flags word (bit 15 is DO), or -1 when the query had no OPT
 * @param udpPayload     the OPT's UDP payload size, or 0 without OPT
 */
record WireQuery(int id, int flags, byte[] lowerName, int qtype, int questionLength, int optFlags, int udpPayload) {
    private static final int HEADER = 12;
    private static final int CLASS_IN = 1;
    private static final int TYPE_OPT = 41;
    private static final int OPTION_COOKIE = 10;
    private static final int OPTION_PADDING = 12;
    private static final int MAX_NAME = 255;

    boolean hasOpt() {
        return optFlags >= 0;
    }

    static WireQuery parse(byte[] m) {
        int length = m.length;
        if (length < HEADER + 5) {
            return null;
        }
        int flags = u16(m, 2);
        // QR clear and opcode QUERY (bits 11-14); the other bits are not ours to judge here.
        if ((flags & 0xF800) != 0 || u16(m, 4) != 1 || u16(m, 6) != 0 || u16(m, 8) != 0) {
            return null;
        }
        int additional = u16(m, 10);
        if (additional > 1) {
            return null;
        }
        byte[] name = new byte[Math.min(MAX_NAME, length - HEADER)];
        int at = HEADER;
        int n = 0;
        while (true) {
            if (at >= length) {
                return null;
            }
            int label = m[at] & 0xFF;
            if (label > 63) {
                return null; // a compression pointer or an extended label type: dnsjava decides
            }
            if (n + 1 + label > MAX_NAME || at + 1 + label > length) {
                return null;
            }
            name[n++] = (byte) label;
            at++;
            if (label == 0) {
                break;
            }
            for (int i = 0; i < label; i++) {
                byte b = m[at++];
                name[n++] = b >= 'A' && b <= 'Z' ? (byte) (b + ('a' - 'A')) : b;
            }
        }
        if (at + 4 > length) {
            return null;
        }
        int qtype = u16(m, at);
        if (u16(m, at + 2) != CLASS_IN) {
            return null;
        }
        at += 4;
        int questionLength = at - HEADER;
        byte[] lowerName = n == name.length ? name : java.util.Arrays.copyOf(name, n);
        if (additional == 0) {
            return at == length ? new WireQuery(u16(m, 0), flags, lowerName, qtype, questionLength, -1, 0) : null;
        }
        // The OPT: root owner, type 41, class = UDP size, TTL = extended rcode, version, flags; then the options.
        if (at + 11 > length || m[at] != 0 || u16(m, at + 1) != TYPE_OPT || m[at + 6] != 0) {
            return null;
        }
        int udpPayload = u16(m, at + 3);
        int optFlags = u16(m, at + 7);
        int rdataEnd = at + 11 + u16(m, at + 9);
        if (rdataEnd != length || !optionsAreHarmless(m, at + 11, rdataEnd)) {
            return null;
        }
        return new WireQuery(u16(m, 0), flags, lowerName, qtype, questionLength, optFlags, udpPayload);
    }

    /** Cookies (RFC 7873, of a valid length; we do not do them, so ignore them) and padding; nothing else. */
    private static boolean optionsAreHarmless(byte[] m, int from, int to) {
        int at = from;
        while (at < to) {
            if (at + 4 > to) {
                return false;
            }
            int code = u16(m, at);
            int size = u16(m, at + 2);
            at += 4 + size;
            if (at > to) {
                return false;
            }
            boolean cookie = code == OPTION_COOKIE && (size == 8 || (size >= 16 && size <= 40));
            if (!cookie && code != OPTION_PADDING) {
                return false;
            }
        }
        return true;
    }

    private static int u16(byte[] b, int at) {
        return (b[at] & 0xFF) << 8 | b[at + 1] & 0xFF;
    }
}
