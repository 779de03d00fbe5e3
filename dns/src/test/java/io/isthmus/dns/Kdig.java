package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.xbill.DNS.Opcode;

/**
 * Runs Knot's {@code kdig} and parses its default text output into a {@link Reply}. A missing kdig fails the test
 * (Debian package knot-dnsutils). kdig cannot set an opcode, so questions with one are left to the other clients;
 * and it sends names in lower case, so it cannot show that we echo the question's case.
 */
final class Kdig {
    static final Path KDIG = Path.of("/usr/bin/kdig");
    private static final Pattern HEADER = Pattern.compile(";; ->>HEADER<<- opcode: (\\S+); status: (\\S+); id: (\\d+)");
    private static final Pattern FLAGS = Pattern.compile(";; Flags:([a-z ]*);");
    private static final Pattern EDNS = Pattern.compile(";; Version: (\\d+); flags:[^;]*; UDP size: (\\d+) B");

    private Kdig() {
    }

    static void requireKdig() {
        assertTrue(Files.isExecutable(KDIG), "the DNS tests need " + KDIG + " (Debian package knot-dnsutils)");
    }

    static boolean canAsk(Ask ask) {
        return ask.opcode() == Opcode.QUERY;
    }

    static Reply ask(InetSocketAddress server, Ask ask, Over over) {
        return askAll(server, List.of(ask), over).getFirst();
    }

    /** Every question from one kdig process, one exchange each, in turn; replies in the order asked. */
    static List<Reply> askAll(InetSocketAddress server, List<Ask> asks, Over over) {
        requireKdig();
        List<String> command = new ArrayList<>(List.of(KDIG.toString(),
                "@" + server.getAddress().getHostAddress(), "-p", Integer.toString(server.getPort()),
                "+retry=0", "+timeout=3"));
        switch (over) {
            case UDP -> command.add("+ignore");
            case TCP -> command.add("+tcp");
            case UDP_THEN_TCP -> { } // kdig's default; an explicit +notcp would turn the TCP retry off too
        }
        for (Ask ask : asks) {
            command.addAll(List.of(ask.qname(), ask.qtype()));
            if (ask.edns() == null) {
                command.add("+noedns");
            } else {
                command.addAll(List.of("+edns=" + ask.edns().version(), "+bufsize=" + ask.edns().payload()));
            }
        }
        return Dig.parseAll(Dig.run(command), asks, command, Kdig::parse);
    }

    static Reply parse(String text, List<String> command) {
        return new ClientOutput("kdig", HEADER, FLAGS, EDNS, 2).parse(text, command);
    }
}
