package io.isthmus.gateway.cli;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Asks a gateway's DNS server, with dnsjava's resolver or the real dig. */
final class Dns {
    private Dns() {
    }

    /** The rcode and sorted A addresses for {@code name}, asked over UDP with dnsjava. */
    record Answer(int rcode, List<String> addresses) {
        @Override
        public String toString() {
            return Rcode.string(rcode) + " " + addresses;
        }
    }

    static Answer askA(int port, String name) throws IOException {
        SimpleResolver resolver = new SimpleResolver(new InetSocketAddress("127.0.0.1", port));
        resolver.setTimeout(Duration.ofSeconds(2));
        Message response = resolver.send(Message.newQuery(Record.newRecord(Name.fromString(name + "."), Type.A, DClass.IN)));
        List<String> ips = new ArrayList<>();
        for (Record record : response.getSection(Section.ANSWER)) {
            if (record instanceof ARecord a) {
                ips.add(a.getAddress().getHostAddress());
            }
        }
        ips.sort(null);
        return new Answer(response.getRcode(), ips);
    }

    /** Polls until the answer matches, or fails with the last answer seen. */
    static Answer awaitA(int port, String name, Predicate<Answer> wanted, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Answer last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                last = askA(port, name);
                if (wanted.test(last)) {
                    return last;
                }
            } catch (IOException e) {
                last = null;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("DNS on port " + port + " did not give the expected answer for " + name
                + " within " + timeout.toSeconds() + " s; last answer: " + last);
    }

    /** Runs the real dig and returns what it printed ({@code +short} form when asked). */
    static String dig(int port, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port),
                "+time=2", "+tries=1"));
        command.addAll(List.of(args));
        Process dig = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(dig.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!dig.waitFor(10, TimeUnit.SECONDS)) {
            dig.destroyForcibly();
            throw new AssertionError("dig did not finish: " + output);
        }
        return output;
    }
}
