package io.isthmus.loadtest.ipam;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Allocate/release load through the admin HTTP API of a running gateway: C closed-loop clients, each allocating an
 * address for an owner of its own ({@code POST /api/v1/ipam/pools/NAME/allocations}) and releasing it again
 * ({@code .../releases}, mode forget), for a fixed time. Prints one line per operation (count, errors, rate,
 * p50/p99/max) and the same figures as one JSON object on the last line, for the runner's summary.
 *
 * <pre>java -cp isthmus-loadtest.jar io.isthmus.loadtest.ipam.IpamHttpBench --admin URL --pool NAME [--clients C] [--seconds S]</pre>
 */
public final class IpamHttpBench {
    private static final int MAX_CLIENTS = 256;
    private static final int MAX_SECONDS = 600;

    record Options(URI admin, String pool, int clients, int seconds) {
        static Options parse(String... args) {
            URI admin = null;
            String pool = null;
            int clients = 8;
            int seconds = 10;
            for (int i = 0; i < args.length; i += 2) {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("option " + args[i] + " needs a value");
                }
                String value = args[i + 1];
                switch (args[i]) {
                    case "--admin" -> admin = URI.create(value.endsWith("/") ? value : value + "/");
                    case "--pool" -> pool = value;
                    case "--clients" -> clients = bounded("--clients", value, MAX_CLIENTS);
                    case "--seconds" -> seconds = bounded("--seconds", value, MAX_SECONDS);
                    default -> throw new IllegalArgumentException("unknown option " + args[i]);
                }
            }
            if (admin == null || pool == null || !pool.matches("[a-z0-9][a-z0-9-]*")) {
                throw new IllegalArgumentException("--admin URL and --pool NAME (lower case, digits, '-') are required, got pool '" + pool + "'");
            }
            return new Options(admin, pool, clients, seconds);
        }

        private static int bounded(String name, String value, int max) {
            try {
                int n = Integer.parseInt(value);
                if (n >= 1 && n <= max) {
                    return n;
                }
            } catch (NumberFormatException ignored) {
                // reported below with the option's name
            }
            throw new IllegalArgumentException(name + " takes 1.." + max + ", got '" + value + "'");
        }
    }

    /** Latencies (ns) and errors of one operation, kept by one client thread. */
    static final class Tally {
        long[] nanos = new long[1024];
        int count;
        long errors;
        String firstError;

        void ok(long elapsed) {
            if (count == nanos.length) {
                nanos = Arrays.copyOf(nanos, count * 2);
            }
            nanos[count++] = elapsed;
        }

        void error(String what) {
            errors++;
            if (firstError == null) {
                firstError = what;
            }
        }

        static Tally merge(List<Tally> tallies) {
            Tally all = new Tally();
            for (Tally t : tallies) {
                for (int i = 0; i < t.count; i++) {
                    all.ok(t.nanos[i]);
                }
                all.errors += t.errors;
                if (all.firstError == null) {
                    all.firstError = t.firstError;
                }
            }
            Arrays.sort(all.nanos, 0, all.count);
            return all;
        }

        /** Nearest-rank percentile in milliseconds ({@code p} in 0..1); NaN without samples. */
        double millis(double p) {
            if (count == 0) {
                return Double.NaN;
            }
            int rank = (int) Math.ceil(p * count);
            return nanos[Math.clamp(rank - 1, 0, count - 1)] / 1e6;
        }
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ipam-http: " + e.getMessage());
            System.exit(2);
            return;
        }
        System.exit(run(options, System.out));
    }

    static int run(Options options, PrintStream out) throws InterruptedException {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        URI allocations = options.admin().resolve("api/v1/ipam/pools/" + options.pool() + "/allocations");
        URI releases = options.admin().resolve("api/v1/ipam/pools/" + options.pool() + "/releases");
        AtomicBoolean stop = new AtomicBoolean();
        List<Tally> allocated = new ArrayList<>();
        List<Tally> released = new ArrayList<>();
        List<Thread> clients = new ArrayList<>();
        for (int c = 0; c < options.clients(); c++) {
            Tally a = new Tally();
            Tally r = new Tally();
            allocated.add(a);
            released.add(r);
            String owner = "{\"namespace\":\"bench\",\"name\":\"ipam-http-" + c + "\"}";
            clients.add(Thread.ofPlatform().name("ipam-http-" + c).start(() -> {
                while (!stop.get()) {
                    call(http, allocations, "{\"owner\":" + owner + "}", a);
                    call(http, releases, "{\"owner\":" + owner + ",\"mode\":\"forget\"}", r);
                }
            }));
        }
        long started = System.nanoTime();
        Thread.sleep(options.seconds() * 1000L);
        stop.set(true);
        for (Thread client : clients) {
            client.join(Duration.ofSeconds(30));
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        Tally a = Tally.merge(allocated);
        Tally r = Tally.merge(released);
        out.printf(Locale.ROOT, "ipam-http: %d clients, %.1f s, pool %s at %s%n", options.clients(), seconds,
                options.pool(), options.admin());
        out.printf(Locale.ROOT, "%-9s %8s %7s %9s %8s %8s %8s%n", "operation", "ok", "errors", "per s", "p50 ms", "p99 ms", "max ms");
        line(out, "allocate", a, seconds);
        line(out, "release", r, seconds);
        for (Tally t : List.of(a, r)) {
            if (t.firstError != null) {
                out.println("first error: " + t.firstError);
            }
        }
        out.printf(Locale.ROOT, "{\"clients\":%d,\"seconds\":%.3f,%s,%s}%n", options.clients(), seconds,
                json("allocate", a, seconds), json("release", r, seconds));
        return a.count == 0 ? 1 : 0;
    }

    private static void call(HttpClient http, URI uri, String body, Tally tally) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long start = System.nanoTime();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 == 2) {
                tally.ok(System.nanoTime() - start);
            } else {
                tally.error("HTTP " + response.statusCode() + " from " + uri.getPath() + ": " + response.body());
            }
        } catch (IOException e) {
            tally.error(e + " from " + uri);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void line(PrintStream out, String operation, Tally t, double seconds) {
        out.printf(Locale.ROOT, "%-9s %8d %7d %9.1f %8.2f %8.2f %8.2f%n", operation, t.count, t.errors, t.count / seconds,
                t.millis(0.5), t.millis(0.99), t.millis(1.0));
    }

    private static String json(String operation, Tally t, double seconds) {
        return String.format(Locale.ROOT, "\"%s\":{\"ok\":%d,\"errors\":%d,\"per_second\":%.1f,\"p50_ms\":%s,\"p99_ms\":%s,\"max_ms\":%s}",
                operation, t.count, t.errors, t.count / seconds, number(t.millis(0.5)), number(t.millis(0.99)), number(t.millis(1.0)));
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "null" : String.format(Locale.ROOT, "%.3f", value);
    }
}
