package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A throwaway NSD on 127.0.0.1 and a free port, serving one zone from a private directory: a real upstream for the
 * forwarding tests. Needs {@code /usr/sbin/nsd} (Debian package nsd) and fails the test without it. {@link #close}
 * stops NSD and its children and deletes the directory.
 */
final class Nsd implements AutoCloseable {
    static final Path NSD = Path.of("/usr/sbin/nsd");
    private static final Duration START_PATIENCE = Duration.ofSeconds(10);

    private final Path directory;
    private final Process process;
    private final InetSocketAddress address;

    private Nsd(Path directory, Process process, InetSocketAddress address) {
        this.directory = directory;
        this.process = process;
        this.address = address;
    }

    /** Serves {@code zone} (a name like {@code example.test.}) with {@code zoneFile} as its contents. */
    static Nsd serve(String zone, String zoneFile) throws IOException, InterruptedException {
        assertTrue(Files.isExecutable(NSD), "the forwarding tests need " + NSD + " (Debian package nsd)");
        IOException last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            Path directory = Files.createTempDirectory("isthmus-nsd-");
            int port = freePort();
            Files.writeString(directory.resolve("zone"), zoneFile);
            Files.writeString(directory.resolve("nsd.conf"), config(directory, port, zone));
            Process process = new ProcessBuilder(NSD.toString(), "-d", "-c", directory.resolve("nsd.conf").toString())
                    .redirectErrorStream(true).redirectOutput(directory.resolve("out.log").toFile()).start();
            Nsd nsd = new Nsd(directory, process, new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            if (nsd.awaitAnswering(zone)) {
                return nsd;
            }
            last = new IOException("nsd did not answer on port " + port + ": " + nsd.log());
            nsd.close(); // a port taken between our probe and nsd's bind, say: try another
        }
        throw last;
    }

    private static String config(Path directory, int port, String zone) {
        return String.join("\n",
                "server:",
                "  ip-address: 127.0.0.1@" + port,
                "  port: " + port,
                "  username: \"\"",
                "  chroot: \"\"",
                "  zonesdir: \"" + directory + "\"",
                "  database: \"\"",
                "  pidfile: \"" + directory.resolve("nsd.pid") + "\"",
                "  logfile: \"" + directory.resolve("nsd.log") + "\"",
                "  xfrdfile: \"" + directory.resolve("xfrd.state") + "\"",
                "  zonelistfile: \"" + directory.resolve("zone.list") + "\"",
                "  xfrdir: \"" + directory + "\"",
                "  server-count: 1",
                "  verbosity: 1",
                "  hide-version: yes",
                "remote-control:",
                "  control-enable: no",
                "zone:",
                "  name: " + zone,
                "  zonefile: zone",
                "");
    }

    /** A port free for both UDP and TCP a moment ago. */
    private static int freePort() throws IOException {
        for (int attempt = 0; ; attempt++) {
            try (ServerSocket tcp = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int port = tcp.getLocalPort();
                try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
                    return udp.getLocalPort();
                } catch (IOException e) {
                    if (attempt > 20) {
                        throw e;
                    }
                }
            }
        }
    }

    private boolean awaitAnswering(String zone) throws InterruptedException {
        long deadline = System.nanoTime() + START_PATIENCE.toNanos();
        SimpleResolver resolver = new SimpleResolver(address);
        resolver.setTimeout(Duration.ofMillis(200));
        while (System.nanoTime() < deadline && process.isAlive()) {
            try {
                Message reply = resolver.send(Message.newQuery(
                        Record.newRecord(Name.fromString(zone), Type.SOA, DClass.IN)));
                if (reply.getRcode() == Rcode.NOERROR) {
                    return true;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(50);
        }
        return false;
    }

    InetSocketAddress address() {
        return address;
    }

    /** SIGSTOP to NSD and its children: the port stays bound and nothing answers, so clients time out. */
    void pause() {
        if (!signal("-STOP")) {
            throw new IllegalStateException("could not stop nsd: " + log());
        }
    }

    /** SIGCONT: answering again. */
    void resume() {
        if (!signal("-CONT")) {
            throw new IllegalStateException("could not continue nsd: " + log());
        }
    }

    /** Sends {@code signal} to NSD and its children, by their process ids; whether kill succeeded. */
    private boolean signal(String signal) {
        List<String> pids = Stream.concat(Stream.of(process.toHandle()), process.descendants())
                .filter(ProcessHandle::isAlive).map(p -> Long.toString(p.pid())).toList();
        if (pids.isEmpty()) {
            return false;
        }
        try {
            Process kill = new ProcessBuilder(Stream.concat(Stream.of("kill", signal), pids.stream()).toList())
                    .redirectErrorStream(true).start();
            return kill.waitFor(5, TimeUnit.SECONDS) && kill.exitValue() == 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    String log() {
        try {
            return Files.readString(directory.resolve("out.log"))
                    + (Files.exists(directory.resolve("nsd.log")) ? Files.readString(directory.resolve("nsd.log")) : "");
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() {
        List<ProcessHandle> children = process.descendants().toList();
        signal("-CONT"); // a stopped process would not act on SIGTERM
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        children.forEach(child -> {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        });
        try (Stream<Path> files = Files.walk(directory)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // a temp directory left behind is no reason to fail a test
        }
    }
}
