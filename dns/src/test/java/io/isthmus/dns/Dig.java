package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.xbill.DNS.Opcode;

/**
 * Runs the real {@code dig} and parses its default text output into a {@link Reply}. A missing dig fails the
 * test (it is part of the test setup, not optional).
 */
final class Dig {
    static final Path DIG = Path.of("/usr/bin/dig");
    private static final Pattern HEADER = Pattern.compile(";; ->>HEADER<<- opcode: (\\S+), status: (\\S+), id: (\\d+)");
    private static final Pattern FLAGS = Pattern.compile(";; flags:([a-z ]*);");
    private static final Pattern EDNS = Pattern.compile("; EDNS: version: (\\d+), flags:[^;]*; udp: (\\d+)");

    private Dig() {
    }

    static void requireDig() {
        assertTrue(Files.isExecutable(DIG), "the DNS tests need " + DIG + " (Debian package bind9-dnsutils)");
    }

    static Reply ask(InetSocketAddress server, Ask ask, boolean tcp) {
        return ask(server, ask, tcp ? Over.TCP : Over.UDP);
    }

    static Reply ask(InetSocketAddress server, Ask ask, Over over) {
        return askAll(server, List.of(ask), over).getFirst();
    }

    /**
     * Puts every question to the server from one dig process (one exchange each, in turn), which saves a process
     * start per question; the replies come back in the order asked.
     */
    static List<Reply> askAll(InetSocketAddress server, List<Ask> asks, Over over) {
        requireDig();
        List<String> command = new ArrayList<>(List.of(DIG.toString(),
                "@" + server.getAddress().getHostAddress(), "-p", Integer.toString(server.getPort()),
                "+tries=1", "+time=3"));
        command.add(switch (over) {
            case UDP -> "+ignore"; // show TC instead of retrying over TCP
            case TCP -> "+tcp";
            case UDP_THEN_TCP -> "+notcp";
        });
        for (Ask ask : asks) {
            // Options after a name apply to that question alone.
            command.addAll(List.of(ask.qname(), ask.qtype()));
            if (ask.edns() == null) {
                command.add("+noedns");
            } else {
                command.addAll(List.of("+edns=" + ask.edns().version(), "+bufsize=" + ask.edns().payload(),
                        "+noednsnegotiation"));
            }
            if (ask.opcode() != Opcode.QUERY) {
                command.add("+opcode=" + ask.opcode());
            }
        }
        return parseAll(run(command), asks, command, Dig::parse);
    }

    /** Splits the output of several exchanges at their headers and parses each, checking it answers its question. */
    static List<Reply> parseAll(String text, List<Ask> asks, List<String> command,
                                java.util.function.BiFunction<String, List<String>, Reply> parser) {
        String[] chunks = text.split("(?m)^(?=;; ->>HEADER<<-)");
        List<Reply> replies = new ArrayList<>();
        for (String chunk : chunks) {
            if (chunk.startsWith(";; ->>HEADER<<-")) {
                replies.add(parser.apply(chunk, command));
            }
        }
        if (replies.size() != asks.size()) {
            fail(asks.size() + " questions but " + replies.size() + " replies: " + command + "\n" + text);
        }
        for (int i = 0; i < asks.size(); i++) {
            List<Reply.Question> question = replies.get(i).question();
            if (question.size() == 1 && !question.getFirst().name().equalsIgnoreCase(asks.get(i).qname())) {
                fail("reply " + i + " is for " + question + ", not " + asks.get(i) + ": " + command + "\n" + text);
            }
        }
        return replies;
    }

    /** Runs a dig-like client to the end; a non-zero exit fails the test. */
    static String run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("did not finish: " + command);
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                fail("exited " + process.exitValue() + ": " + command + "\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static final ClientOutput FORMAT = new ClientOutput("dig", HEADER, FLAGS, EDNS, 1);

    static Reply parse(String text, List<String> command) {
        return FORMAT.parse(text, command);
    }
}
