package io.isthmus.dns;

import org.xbill.DNS.Opcode;

/**
 * One question to put to the server, independent of the client that puts it.
 *
 * @param edns null to send no OPT record
 */
record Ask(String qname, String qtype, Edns edns, int opcode) {
    /** dig's default advertised size, used by both clients so they ask the same thing. */
    static final Edns DEFAULT_EDNS = new Edns(0, 1232);

    record Edns(int version, int payload) {
    }

    static Ask of(String qname, String qtype) {
        return new Ask(qname, qtype, DEFAULT_EDNS, Opcode.QUERY);
    }

    Ask withoutEdns() {
        return new Ask(qname, qtype, null, opcode);
    }

    Ask withEdns(int version, int payload) {
        return new Ask(qname, qtype, new Edns(version, payload), opcode);
    }

    Ask withOpcode(int opcode) {
        return new Ask(qname, qtype, edns, opcode);
    }

    @Override
    public String toString() {
        return qname + " " + qtype + (edns == null ? " noedns" : " edns" + edns.version() + "/" + edns.payload())
                + (opcode == Opcode.QUERY ? "" : " opcode=" + Opcode.string(opcode));
    }
}
