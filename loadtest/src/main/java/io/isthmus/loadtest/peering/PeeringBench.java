package io.isthmus.loadtest.peering;

import java.io.IOException;
import java.io.PrintStream;
import java.security.GeneralSecurityException;
import java.util.Locale;

/**
 * The Java side of {@code loadtest/bench-peering.sh}: the measured steps, each a command that prints its
 * section of the report. The script starts and stops the gateway processes; these commands watch and drive
 * them through their admin API, their DNS port and (for {@code scale}) their peering port.
 * <pre>
 * await-links      --admins NAME=URL,...                        until every gateway has an up link to every other
 * await-sync       --origin NAME --origin-admin URL --receivers NAME=URL,...
 *                                                               until the receivers hold all of origin's exports
 * propagation      --origin-admin URL --receivers NAME=DNSPORT,... --services N --changes N
 *                                                               one export change at a time, ack to DNS answer
 * resync-receiver  --name NAME --admin URL --dns PORT --origin NAME --origin-admin URL --probe svc-N
 *                  --launched-at-ms T                           a restarted receiver, from ready to all imports
 * await-withdrawn  --origin NAME --receivers NAME=URL,...       until the receivers stop serving origin (TTL)
 * resync-exporter  --name NAME --admin URL --dns PORT --probe svc-N --launched-at-ms T
 *                  --receivers NAME=URL,... --receiver-dns NAME=PORT,...
 *                                                               a restarted exporter, from ready to served again
 * scale            --peering PORT --admin URL --dns PORT --tls-dir DIR --pid PID --clusters 10,25,50
 *                  [--services 50] [--window-s 10] [--change-ms 1000] [--clk-tck 100]
 *                                                               simulated clusters against one gateway
 * </pre>
 * {@code --probe svc-N} names a service whose address is still the one the benchmark gave it first
 * ({@code BenchZone.ip(N)}): the DNS answer the restarted side must give again. Common: {@code --zone} (clusterset.local), {@code --namespace} (bench), {@code --poll-ms} (2: how often the
 * DNS probe asks again), {@code --timeout-s}. Exit status: 0 done (slow figures included), 1 something did not
 * start or answer, 2 bad arguments.
 */
public final class PeeringBench {
    private PeeringBench() {
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        if (args.length == 0) {
            usage("a command is required");
        }
        int status;
        try {
            Options options = Options.parse(args, 1);
            Steps steps = new Steps(options, out);
            status = switch (args[0]) {
                case "await-links" -> steps.awaitLinks();
                case "await-sync" -> steps.awaitSync();
                case "propagation" -> steps.propagation();
                case "resync-receiver" -> steps.resyncReceiver();
                case "await-withdrawn" -> steps.awaitWithdrawn();
                case "resync-exporter" -> steps.resyncExporter();
                case "scale" -> new ScaleRun(options, out).run();
                default -> {
                    usage("unknown command " + args[0]);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
            status = 2;
        } catch (Failure e) {
            System.err.println("peering-bench: " + e.getMessage());
            status = 1;
        } catch (IOException | GeneralSecurityException e) {
            System.err.println("peering-bench: " + e);
            status = 1;
        } catch (InterruptedException e) {
            System.err.println("peering-bench: interrupted");
            status = 1;
        }
        out.flush();
        // Pekko and Netty threads would keep the JVM; the steps have released what they opened.
        System.exit(status);
    }

    /** Something did not start or answer: the benchmark cannot go on (exit 1). Never a slow figure. */
    static final class Failure extends Exception {
        Failure(String message) {
            super(message);
        }
    }

    static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }

    private static void usage(String problem) {
        System.err.println("peering-bench: " + problem);
        System.err.println("usage: peering-bench COMMAND --option value ... (commands: await-links, await-sync, "
                + "propagation, resync-receiver, await-withdrawn, resync-exporter, scale; see PeeringBench's javadoc "
                + "or loadtest/README.md)");
        System.exit(2);
    }
}
