package io.isthmus.dns;

/**
 * The response a rate-limited query slips out with: our header with TC=1, the question, and an OPT when the query
 * had one; no records, so it is never larger than the query. Made from the query's bytes alone (nothing is looked
 * up or forwarded), so a slipped query costs next to nothing.
 */
final class SlipResponse {
    private static final int HEADER = 12;
    private static final int TYPE_OPT = 41;
    private static final int FLAG_QR = 0x80;
    private static final int FLAG_TC = 0x02;
    /** Byte 2 of the query that we keep: the opcode and RD. */
    private static final int OPCODE_AND_RD = 0x79;

    private SlipResponse() {
    }

    /**
     * The truncated response to {@code query}, or null when there is none to give: the query is not one question
     * long enough to read, or it is a response itself (those get nothing anyway).
     */
    static byte[] of(byte[] query) {
        if (query.length < HEADER || (query[2] & FLAG_QR) != 0 || count(query, 4) != 1) {
            return null;
        }
        int questionEnd = skipName(query, HEADER);
        if (questionEnd < 0 || questionEnd + 4 > query.length) {
            return null;
        }
        questionEnd += 4;
        int records = count(query, 6) + count(query, 8) + count(query, 10);
        int at = questionEnd;
        int doFlag = -1;
        for (int i = 0; i < records && doFlag < 0; i++) {
            int end = skipName(query, at);
            if (end < 0 || end + 10 > query.length) {
                break;
            }
            int type = count(query, end);
            if (type == TYPE_OPT) {
                doFlag = query[end + 6] & 0x80;
            }
            at = end + 10 + count(query, end + 8);
        }
        byte[] out = new byte[questionEnd + (doFlag >= 0 ? 11 : 0)];
        System.arraycopy(query, 0, out, 0, questionEnd);
        out[2] = (byte) (FLAG_QR | (query[2] & OPCODE_AND_RD) | FLAG_TC);
        out[3] = 0; // NOERROR, no RA: we recurse for nobody here
        out[6] = out[7] = out[8] = out[9] = 0;
        out[10] = 0;
        out[11] = (byte) (doFlag >= 0 ? 1 : 0);
        if (doFlag >= 0) {
            int o = questionEnd;
            out[o + 1] = 0; // root name
            out[o + 2] = TYPE_OPT;
            out[o + 3] = (byte) (QueryProcessor.ADVERTISED_UDP_PAYLOAD >>> 8);
            out[o + 4] = (byte) QueryProcessor.ADVERTISED_UDP_PAYLOAD;
            out[o + 7] = (byte) doFlag; // RFC 3225 §3: DO is copied
        }
        return out;
    }

    private static int count(byte[] wire, int at) {
        return (wire[at] & 0xFF) << 8 | (wire[at + 1] & 0xFF);
    }

    /** Where the name at {@code at} ends (after its root label or pointer), or -1 when it runs off the message. */
    private static int skipName(byte[] wire, int at) {
        int labels = 0;
        while (at < wire.length && labels++ < 128) {
            int length = wire[at] & 0xFF;
            if (length == 0) {
                return at + 1;
            }
            if ((length & 0xC0) == 0xC0) {
                return at + 2 <= wire.length ? at + 2 : -1;
            }
            if ((length & 0xC0) != 0) {
                return -1;
            }
            at += 1 + length;
        }
        return -1;
    }
}
