package io.isthmus.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A DNS response reduced to what the tests check, the same whether dnsjava or dig asked: rcode mnemonic,
 * header flags in lower case ("qr", "aa", "tc"...), the question as echoed, the sections (the additional one
 * without the OPT), and the OPT if any.
 */
record Reply(String rcode, Set<String> flags, List<Question> question, List<Rr> answer, List<Rr> authority,
             List<Rr> additional, Opt opt) {

    record Question(String name, String type) {
    }

    /** One resource record; A and AAAA rdata are normalized so "fd00::1" and "fd00:0:0:0:0:0:0:1" compare equal. */
    record Rr(String name, long ttl, String type, String rdata) {
        Rr {
            type = type.toUpperCase(Locale.ROOT);
            rdata = rdata.trim().replaceAll("\\s+", " ");
            if (type.equals("A") || type.equals("AAAA")) {
                rdata = InetAddress.ofLiteral(rdata).getHostAddress();
            }
        }

        /** Normalizes "TYPE rdata" as written in a case table the way replies are normalized. */
        static String normalize(String typeAndData) {
            String[] parts = typeAndData.split(" ", 2);
            return new Rr(".", 0, parts[0], parts[1]).typeAndData();
        }

        /** "TYPE rdata", what the case tables list. */
        String typeAndData() {
            return type + " " + rdata;
        }
    }

    /** The OPT pseudo-record of a response. */
    record Opt(int version, int udpPayload) {
    }

    boolean has(String flag) {
        return flags.contains(flag);
    }
}
