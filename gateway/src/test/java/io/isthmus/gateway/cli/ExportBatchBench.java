package io.isthmus.gateway.cli;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.gateway.pki.ClustersetCa;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The bulk-export benchmark (not a test): one gateway (embedded H2 journal, auth off), {@code isthmus export -f}
 * with N exports per round, timed from the CLI call to its acknowledgement (the change is in the journal), then to
 * the last service answering in the gateway's DNS; and, for comparison, {@code --singles} exports one CLI call each.
 * Prints figures; exits non-zero only when something did not work.
 *
 * <pre>
 * ExportBatchBench [--services 10000] [--rounds 3] [--singles 300]
 * </pre>
 */
public final class ExportBatchBench {
    private ExportBatchBench() {
    }

    public static void main(String[] args) throws Exception {
        int services = 10_000;
        int rounds = 3;
        int singles = 300;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--services" -> services = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--singles" -> singles = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Path dir = Files.createTempDirectory("export-bench");
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        try (Gateway east = TestGateways.start("east", dir, dir, "")) {
            String admin = "http://127.0.0.1:" + east.adminAddress().getPort();
            int dnsPort = east.dns().localAddress().getPort();
            // Warm-up: the first call pays for class loading and the JIT on both sides.
            run(admin, write(dir, "warm", 200, "warm"));
            for (int round = 1; round <= rounds; round++) {
                String namespace = "bulk-" + round;
                Path file = write(dir, namespace, services, namespace);
                long started = System.nanoTime();
                run(admin, file);
                long acked = System.nanoTime();
                String last = "svc-" + (services - 1) + "." + namespace + ".svc.clusterset.local";
                Dns.awaitA(dnsPort, last, a -> !a.addresses().isEmpty(), Duration.ofSeconds(60));
                long answered = System.nanoTime();
                System.out.printf("round %d: %,d exports acknowledged in %,d ms (%,.0f/s); last one in DNS after %,d ms%n",
                        round, services, (acked - started) / 1_000_000, services / ((acked - started) / 1e9),
                        (answered - started) / 1_000_000);
            }
            long started = System.nanoTime();
            for (int i = 0; i < singles; i++) {
                Cli cli = Cli.run("export", "--admin", admin, "--namespace", "single", "--name", "svc-" + i,
                        "--port", "http:80/TCP", "--ip", "10.98." + (i / 250) + "." + (i % 250));
                if (cli.exitCode() != 0) {
                    throw new IllegalStateException(cli.toString());
                }
            }
            long took = System.nanoTime() - started;
            System.out.printf("one CLI call per export (in-process CLI): %,d exports in %,d ms (%,.0f/s)%n", singles,
                    took / 1_000_000, singles / (took / 1e9));
        }
        System.exit(0);
    }

    private static void run(String admin, Path file) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = IsthmusCli.run(new PrintWriter(out, true), new PrintWriter(err, true),
                "export", "--admin", admin, "-f", file.toString());
        if (code != 0) {
            throw new IllegalStateException("export -f failed (" + code + "): " + out + err);
        }
    }

    private static Path write(Path dir, String name, int services, String namespace) throws Exception {
        List<String> exports = new ArrayList<>(services);
        for (int i = 0; i < services; i++) {
            exports.add("{\"namespace\":\"" + namespace + "\",\"name\":\"svc-" + i + "\",\"ports\":[\"http:80/TCP\","
                    + "\"grpc:9090/TCP\"],\"ips\":[\"10." + (100 + i / 62_500) + "." + (i / 250 % 250) + "."
                    + (i % 250) + "\"]}");
        }
        return Files.writeString(dir.resolve(name + ".json"), "{\"exports\":[" + String.join(",", exports) + "]}");
    }
}
