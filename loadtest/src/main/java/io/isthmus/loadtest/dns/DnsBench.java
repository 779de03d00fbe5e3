package io.isthmus.loadtest.dns;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The Java side of {@code loadtest/bench-dns.sh}: the steps that are easier to get right in Java than in shell.
 * <pre>
 * export     --admin URL --from N --to M [--parallel P]    POST services N..M to a gateway's admin API
 * zone-file  --out FILE --count N [--ttl S]                the equivalent zone for NSD (or any RFC 1035 server)
 * query-file --out FILE --count N [--missing-percent P] [--seed S]   the dnsperf input, shuffled
 * report     --title T --server NAME FILE... --server NAME FILE... [--qps-file F]
 *            reads dnsperf -v outputs, prints qps, average, p50, p99 per server and the first/second ratio
 * </pre>
 * Every command also takes {@code --zone} (default clusterset.local) and {@code --namespace} (default bench).
 * Exit status: 0 done, 1 the step failed, 2 bad arguments.
 */
public final class DnsBench {
    private DnsBench() {
    }

    public static void main(String[] args) {
        PrintStream out = System.out;
        if (args.length == 0) {
            usage("a command is required");
        }
        try {
            Args options = Args.parse(args);
            BenchZone zone = new BenchZone(options.one("zone", "clusterset.local"), options.one("namespace", "bench"));
            int status = switch (args[0]) {
                case "export" -> export(options, zone, out);
                case "zone-file" -> {
                    zone.writeZoneFile(Path.of(options.required("out")), options.integer("count", 1000),
                            options.integer("ttl", 5));
                    yield 0;
                }
                case "query-file" -> {
                    zone.writeQueryFile(Path.of(options.required("out")), options.integer("count", 1000),
                            options.integer("missing-percent", 5), options.integer("seed", 42));
                    yield 0;
                }
                case "report" -> report(options, out);
                default -> {
                    usage("unknown command " + args[0]);
                    yield 2;
                }
            };
            System.exit(status);
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        } catch (IOException e) {
            System.err.println("dns-bench: " + e.getMessage());
            System.exit(1);
        } catch (InterruptedException e) {
            System.err.println("dns-bench: interrupted");
            System.exit(1);
        }
    }

    private static int export(Args options, BenchZone zone, PrintStream out) throws InterruptedException {
        int from = options.integer("from", 1);
        int to = options.integer("to", 1000);
        if (from < 1 || to < from || to > BenchZone.MAX_SERVICES) {
            throw new IllegalArgumentException("--from/--to must satisfy 1 <= from <= to <= " + BenchZone.MAX_SERVICES);
        }
        ExportLoader loader = new ExportLoader(URI.create(options.required("admin")), zone,
                options.integer("parallel", 8), out);
        ExportLoader.Result result = loader.export(from, to);
        if (!result.failures().isEmpty()) {
            System.err.println("dns-bench: exported " + result.exported() + " of " + (to - from + 1)
                    + " services; failed: " + String.join("; ", result.failures()));
            return 1;
        }
        out.printf(Locale.ROOT, "  exported %s..%s (%,d services) in %.1f s (%,.0f/s)%n", BenchZone.serviceName(from),
                BenchZone.serviceName(to), result.exported(), result.took().toMillis() / 1000.0, result.perSecond());
        return 0;
    }

    private static int report(Args options, PrintStream out) throws IOException {
        List<List<String>> servers = options.groups("server");
        if (servers.size() < 2) {
            throw new IllegalArgumentException("report needs two --server NAME FILE... groups");
        }
        List<DnsperfRun.Merged> merged = new ArrayList<>();
        for (List<String> group : servers) {
            if (group.size() < 2) {
                throw new IllegalArgumentException("--server needs a name and at least one dnsperf output file");
            }
            List<DnsperfRun> runs = new ArrayList<>();
            for (String file : group.subList(1, group.size())) {
                runs.add(DnsperfRun.read(Path.of(file)));
            }
            merged.add(DnsperfRun.Merged.of(group.getFirst(), runs));
        }
        out.println(options.one("title", "dnsperf"));
        out.printf(Locale.ROOT, "  %-10s %10s %8s %8s %8s %9s %8s  %-22s %s%n",
                "server", "qps", "avg ms", "p50 ms", "p99 ms", "p99.9 ms", "lost", "qps of each run", "answers");
        for (DnsperfRun.Merged m : merged) {
            String runs = java.util.Arrays.stream(m.runQps())
                    .mapToObj(q -> String.format(Locale.ROOT, "%,.0f", q)).collect(Collectors.joining(" / "));
            String answers = m.rcodes().entrySet().stream()
                    .map(e -> e.getKey() + " " + String.format(Locale.ROOT, "%.1f%%",
                            100.0 * e.getValue() / Math.max(1, m.sortedMicros().length)))
                    .collect(Collectors.joining(", "));
            out.printf(Locale.ROOT, "  %-10s %,10.0f %8s %8s %8s %9s %8d  %-22s %s%n", m.server(), m.qps(),
                    ms(m.averageMillis()), ms(m.percentileMillis(0.50)), ms(m.percentileMillis(0.99)),
                    ms(m.percentileMillis(0.999)), m.lost(), runs, answers);
        }
        DnsperfRun.Merged a = merged.get(0);
        DnsperfRun.Merged b = merged.get(1);
        out.printf(Locale.ROOT, "  %s/%s: qps %sx, avg latency %sx, p99 latency %sx%n", a.server(), b.server(),
                ratio(a.qps(), b.qps()), ratio(a.averageMillis(), b.averageMillis()),
                ratio(a.percentileMillis(0.99), b.percentileMillis(0.99)));
        String qpsFile = options.one("qps-file", "");
        if (!qpsFile.isEmpty()) {
            StringBuilder lines = new StringBuilder();
            for (DnsperfRun.Merged m : merged) {
                lines.append(m.server()).append(' ').append(Math.round(m.qps())).append(' ')
                        .append(String.format(Locale.ROOT, "%.3f", m.percentileMillis(0.99))).append('\n');
            }
            Files.writeString(Path.of(qpsFile), lines, StandardCharsets.US_ASCII);
        }
        return 0;
    }

    static String ms(double millis) {
        if (Double.isNaN(millis)) {
            return "-";
        }
        return Double.isInfinite(millis) ? "lost" : String.format(Locale.ROOT, "%.3f", millis);
    }

    static String ratio(double a, double b) {
        if (Double.isNaN(a) || Double.isNaN(b) || Double.isInfinite(a) || Double.isInfinite(b) || b == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2f", a / b);
    }

    private static void usage(String problem) {
        System.err.println("dns-bench: " + problem);
        System.err.println("usage: dns-bench export --admin URL --from N --to M [--parallel P]");
        System.err.println("       dns-bench zone-file --out FILE --count N [--ttl S]");
        System.err.println("       dns-bench query-file --out FILE --count N [--missing-percent P] [--seed S]");
        System.err.println("       dns-bench report --title T --server NAME FILE... --server NAME FILE... [--qps-file F]");
        System.err.println("       (all: [--zone clusterset.local] [--namespace bench])");
        System.exit(2);
    }

    /** {@code --name value...} options after the command; a name may repeat (each occurrence is one group). */
    record Args(Map<String, List<List<String>>> values) {
        static Args parse(String[] args) {
            Map<String, List<List<String>>> values = new LinkedHashMap<>();
            List<String> current = null;
            for (int i = 1; i < args.length; i++) {
                String arg = args[i];
                if (arg.startsWith("--")) {
                    current = new ArrayList<>();
                    values.computeIfAbsent(arg.substring(2), k -> new ArrayList<>()).add(current);
                } else if (current == null) {
                    throw new IllegalArgumentException("unexpected argument " + arg);
                } else {
                    current.add(arg);
                }
            }
            return new Args(values);
        }

        List<List<String>> groups(String name) {
            return values.getOrDefault(name, List.of());
        }

        String one(String name, String fallback) {
            List<List<String>> groups = groups(name);
            if (groups.isEmpty()) {
                return fallback;
            }
            List<String> last = groups.getLast();
            if (last.size() != 1) {
                throw new IllegalArgumentException("--" + name + " takes one value");
            }
            return last.getFirst();
        }

        String required(String name) {
            String value = one(name, "");
            if (value.isEmpty()) {
                throw new IllegalArgumentException("--" + name + " is required");
            }
            return value;
        }

        int integer(String name, int fallback) {
            String value = one(name, "");
            if (value.isEmpty()) {
                return fallback;
            }
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--" + name + " must be a whole number, got " + value);
            }
        }
    }
}
