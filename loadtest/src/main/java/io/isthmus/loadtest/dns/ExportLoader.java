package io.isthmus.loadtest.dns;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Exports services {@code from..to} of a {@link BenchZone} through a gateway's admin API
 * ({@code POST /api/v1/exports}), from {@code parallelism} threads that each keep one HTTP/1.1 connection, so at
 * most that many requests are in flight. A request that fails with 5xx or an I/O error is retried a few times
 * (the gateway answers 503 while its registry is busy); a 4xx is a real failure and stops the load.
 */
public final class ExportLoader {
    private static final int ATTEMPTS = 5;
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final URI exportsUri;
    private final BenchZone zone;
    private final int parallelism;
    private final PrintStream log;
    private final HttpClient client;

    public ExportLoader(URI admin, BenchZone zone, int parallelism, PrintStream log) {
        if (parallelism < 1 || parallelism > 64) {
            throw new IllegalArgumentException("parallelism must be 1..64, got " + parallelism);
        }
        this.exportsUri = admin.resolve("/api/v1/exports");
        this.zone = zone;
        this.parallelism = parallelism;
        this.log = log;
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    /** The outcome: how many services were stored and the failures, one line each (empty when all went well). */
    public record Result(int exported, List<String> failures, Duration took) {
        public double perSecond() {
            return exported / Math.max(1e-9, took.toNanos() / 1e9);
        }
    }

    public Result export(int from, int to) throws InterruptedException {
        long start = System.nanoTime();
        AtomicInteger next = new AtomicInteger(from);
        AtomicInteger done = new AtomicInteger();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        int total = to - from + 1;
        int reportEvery = Math.max(1000, total / 10);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < parallelism; i++) {
            workers.add(Thread.ofPlatform().name("export-" + i).daemon(true).start(() -> {
                for (int n = next.getAndIncrement(); n <= to && failures.isEmpty(); n = next.getAndIncrement()) {
                    String failure = exportOne(n);
                    if (failure != null) {
                        failures.add(failure);
                        return;
                    }
                    int count = done.incrementAndGet();
                    if (count % reportEvery == 0 && count < total) {
                        log.printf("  exported %,d of %,d%n", count, total);
                    }
                }
            }));
        }
        for (Thread worker : workers) {
            worker.join();
        }
        return new Result(done.get(), List.copyOf(failures), Duration.ofNanos(System.nanoTime() - start));
    }

    /** Null when stored, else why not. */
    private String exportOne(int n) {
        HttpRequest request = HttpRequest.newBuilder(exportsUri)
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(zone.exportJson(n)))
                .build();
        String last = "";
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            try {
                HttpResponse<String> response = client.send(request, HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                if (status == 200) {
                    return null;
                }
                last = "HTTP " + status + ": " + response.body().strip();
                if (status < 500) {
                    break;
                }
            } catch (IOException e) {
                last = e.toString();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
            try {
                Thread.sleep(200L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted";
            }
        }
        return BenchZone.serviceName(n) + ": " + last;
    }
}
