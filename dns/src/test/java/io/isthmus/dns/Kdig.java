package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
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
        String rcode = null;
        Set<String> flags = new LinkedHashSet<>();
        Reply.Opt opt = null;
        List<Reply.Question> question = new ArrayList<>();
        List<Reply.Rr> answer = new ArrayList<>();
        List<Reply.Rr> authority = new ArrayList<>();
        List<Reply.Rr> additional = new ArrayList<>();
        List<Reply.Rr> section = null;
        boolean inQuestion = false;
        for (String line : text.split("\n")) {
            Matcher m;
            if ((m = HEADER.matcher(line)).find()) {
                rcode = m.group(2);
            } else if ((m = FLAGS.matcher(line)).find()) {
                flags.addAll(Arrays.asList(m.group(1).trim().split("\\s+")));
            } else if ((m = EDNS.matcher(line)).find()) {
                opt = new Reply.Opt(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
            } else if (line.startsWith(";; QUESTION SECTION:")) {
                inQuestion = true;
            } else if (line.startsWith(";; ANSWER SECTION:")) {
                section = answer;
            } else if (line.startsWith(";; AUTHORITY SECTION:")) {
                section = authority;
            } else if (line.startsWith(";; ADDITIONAL SECTION:")) {
                section = additional;
            } else if (line.isBlank()) {
                inQuestion = false;
                section = null;
            } else if (inQuestion) {
                String[] f = line.substring(2).trim().split("\\s+");
                question.add(new Reply.Question(f[0], f[2].toUpperCase(Locale.ROOT)));
            } else if (section != null && !line.startsWith(";")) {
                String[] f = line.trim().split("\\s+", 5);
                section.add(new Reply.Rr(f[0], Long.parseLong(f[1]), f[3], f.length > 4 ? f[4] : ""));
            }
        }
        if (rcode == null) {
            fail("kdig printed no header: " + command + "\n" + text);
        }
        return new Reply(rcode, flags, question, answer, authority, additional, opt);
    }
}
