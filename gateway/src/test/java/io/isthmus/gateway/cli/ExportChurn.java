package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

/**
 * A client that keeps changing one cluster's exports through its replicas' admin APIs, as a controller would:
 * new exports, and now and then an unexport of an older one. It talks to one replica and moves to the next on a
 * connection failure (or a 503), retrying the same change there, so every change is acknowledged in the end.
 * It remembers what was acknowledged, and when, to check afterwards that nothing acknowledged was lost.
 */
final class ExportChurn implements Runnable {
    record Ack(long at, String name, boolean exported) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> adminUrls;
    private final String namespace;
    private final int ipOctet;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1)).build();
    /** name -> IP of every export whose last acknowledged change was an export. */
    private final Map<String, String> exported = new ConcurrentHashMap<>();
    private final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private volatile int replica;
    private volatile boolean stopped;
    private volatile boolean gaveUp;
    private volatile Thread thread;

    ExportChurn(List<String> adminUrls, String namespace, int ipOctet) {
        this.adminUrls = List.copyOf(adminUrls);
        this.namespace = namespace;
        this.ipOctet = ipOctet;
    }

    ExportChurn start() {
        thread = Thread.ofPlatform().name("churn-" + namespace).daemon().start(this);
        return this;
    }

    /** Stops after the change in flight is acknowledged. */
    void stop() throws InterruptedException {
        stopped = true;
        thread.join(Duration.ofSeconds(30));
    }

    @Override
    public void run() {
        try {
            churn();
        } catch (RuntimeException e) {
            failures.add("the churn stopped: " + e.getMessage());
            gaveUp = true;
        }
    }

    private void churn() {
        List<String> live = new ArrayList<>();
        for (int i = 0; !stopped && i < 100_000; i++) {
            if (i % 3 == 2 && live.size() > 4) {
                String name = live.removeFirst();
                unexport(name);
            } else {
                String name = "svc-" + i;
                export(name, "10." + ipOctet + "." + (i / 250) + "." + (i % 250 + 1));
                live.add(name);
            }
        }
    }

    private void export(String name, String ip) {
        String body = "{\"namespace\":\"%s\",\"name\":\"%s\",\"ports\":[\"80/TCP\"],\"ips\":[\"%s\"]}"
                .formatted(namespace, name, ip);
        int status = sendRetrying("api/v1/exports", request -> request.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
        if (status != 200) {
            throw new IllegalStateException("export " + name + " refused with " + status + ": " + failures);
        }
        exported.put(name, ip);
        acks.add(new Ack(System.nanoTime(), name, true));
    }

    /**
     * A 404 can mean the change already happened (an attempt on a replica that then died) or that this replica
     * does not yet show an export acknowledged by another one just before it died: ask again until it has caught
     * up (2 s, far longer than the journal's polling) before taking the 404 as "already gone".
     */
    private void unexport(String name) {
        long notFoundSince = -1;
        while (true) {
            int status = sendRetrying("api/v1/exports/" + namespace + "/" + name, HttpRequest.Builder::DELETE);
            if (status == 200) {
                break;
            }
            if (status != 404) {
                throw new IllegalStateException("unexport " + name + " refused with " + status + ": " + failures);
            }
            notFoundSince = notFoundSince < 0 ? System.nanoTime() : notFoundSince;
            if (System.nanoTime() - notFoundSince > Duration.ofSeconds(2).toNanos()) {
                break;
            }
            sleep(100);
        }
        exported.remove(name);
        acks.add(new Ack(System.nanoTime(), name, false));
    }

    /** Sends until some replica answers other than 503 (for at most 30 s); returns its status. */
    private int sendRetrying(String path, UnaryOperator<HttpRequest.Builder> method) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            int status = send(path, method);
            if (status > 0 && status != 503) {
                return status;
            }
            sleep(20);
        }
        throw new IllegalStateException("no replica acknowledged a change to " + path + " within 30 s: " + failures);
    }

    /** The status, or -1 after moving to the next replica because this one failed. */
    private int send(String path, UnaryOperator<HttpRequest.Builder> method) {
        String url = adminUrls.get(replica % adminUrls.size());
        try {
            HttpRequest request = method.apply(HttpRequest.newBuilder(URI.create(url + "/" + path))
                    .timeout(Duration.ofSeconds(3))).build();
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 503) {
                failures.add(url + ": 503 " + response.body().strip());
                replica++;
            } else if (response.statusCode() != 200 && response.statusCode() != 404) {
                failures.add(url + ": " + response.statusCode() + " " + response.body().strip());
            }
            return response.statusCode();
        } catch (IOException e) {
            failures.add(url + ": " + e);
            replica++;
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** name -> IP of what must be exported now, sorted by name. */
    Map<String, String> expected() {
        return new TreeMap<>(exported);
    }

    /** The first change acknowledged after {@code nanoTime}, if any. */
    Ack firstAckAfter(long nanoTime) {
        return acks.stream().filter(ack -> ack.at() > nanoTime).findFirst().orElse(null);
    }

    /** The first export acknowledged after {@code nanoTime}, if any. */
    Ack firstExportAfter(long nanoTime) {
        return acks.stream().filter(ack -> ack.at() > nanoTime && ack.exported()).findFirst().orElse(null);
    }

    /** True when a change could not be made at all (no replica acknowledged it within 30 s). */
    boolean gaveUp() {
        return gaveUp;
    }

    int acknowledged() {
        return acks.size();
    }

    List<String> failures() {
        return List.copyOf(failures);
    }

    String ipOf(String name) {
        return exported.get(name);
    }

    /** Waits until the replica at {@code adminUrl} serves exactly {@code expected} (name -> IP) of {@code cluster}'s namespace. */
    static void awaitServed(String adminUrl, String cluster, String namespace, Map<String, String> expected,
                            Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, String> served;
        do {
            served = served(adminUrl, cluster, namespace);
            if (served.equals(expected)) {
                return;
            }
            Thread.sleep(200);
        } while (System.nanoTime() < deadline);
        Map<String, String> missing = new TreeMap<>(expected);
        served.keySet().forEach(missing::remove);
        Map<String, String> extra = new TreeMap<>(served);
        expected.keySet().forEach(extra::remove);
        throw new AssertionError(adminUrl + " does not serve " + cluster + "'s acknowledged exports: "
                + expected.size() + " expected, " + served.size() + " served; missing " + missing + "; extra " + extra);
    }

    private static Map<String, String> served(String adminUrl, String cluster, String namespace) throws Exception {
        Map<String, String> served = new TreeMap<>();
        for (JsonNode service : JSON.readTree(AdminClient.anonymous(adminUrl).get("api/v1/imports").body())) {
            if (!service.path("namespace").asText().equals(namespace)) {
                continue;
            }
            for (JsonNode backends : service.path("clusters")) {
                if (backends.path("cluster").asText().equals(cluster)) {
                    served.put(service.path("name").asText(), backends.path("ips").path(0).asText());
                }
            }
        }
        return served;
    }
}
