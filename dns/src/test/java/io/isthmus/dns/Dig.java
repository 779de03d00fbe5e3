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
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
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
        List<String> command = new ArrayList<>(List.of(DIG.toString(),
                "@" + server.getAddress().getHostAddress(), "-p", Integer.toString(server.getPort()),
                "+tries=1", "+time=3"));
        command.add(tcp ? "+tcp" : "+ignore"); // +ignore: show TC instead of retrying over TCP
        if (ask.edns() == null) {
            command.add("+noedns");
        } else {
            command.addAll(List.of("+edns=" + ask.edns().version(), "+bufsize=" + ask.edns().payload(),
                    "+noednsnegotiation"));
        }
        if (ask.opcode() != Opcode.QUERY) {
            command.add("+opcode=" + ask.opcode());
        }
        command.addAll(List.of("-c", "IN", "-t", ask.qtype(), "-q", ask.qname()));
        return parse(run(command), command);
    }

    static String run(List<String> command) {
        requireDig();
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                fail("dig did not finish: " + command);
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                fail("dig exited " + process.exitValue() + ": " + command + "\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static Reply parse(String text, List<String> command) {
        String rcode = null;
        Set<String> flags = new LinkedHashSet<>();
        Reply.Opt opt = null;
        List<Reply.Question> question = new ArrayList<>();
        List<Reply.Rr> answer = new ArrayList<>();
        List<Reply.Rr> authority = new ArrayList<>();
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
                section = new ArrayList<>(); // not checked: only the OPT would be there
            } else if (line.isBlank()) {
                inQuestion = false;
                section = null;
            } else if (inQuestion) {
                String[] f = line.substring(1).trim().split("\\s+");
                question.add(new Reply.Question(f[0], f[2].toUpperCase(Locale.ROOT)));
            } else if (section != null && !line.startsWith(";")) {
                String[] f = line.trim().split("\\s+", 5);
                section.add(new Reply.Rr(f[0], Long.parseLong(f[1]), f[3], f.length > 4 ? f[4] : ""));
            }
        }
        if (rcode == null) {
            fail("dig printed no header: " + command + "\n" + text);
        }
        return new Reply(rcode, flags, question, answer, authority, opt);
    }
}
