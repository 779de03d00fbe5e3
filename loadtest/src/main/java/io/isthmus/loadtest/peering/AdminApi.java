package io.isthmus.loadtest.peering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * One gateway's admin HTTP API as the benchmark reads it: {@code /readyz}, {@code /api/v1/status},
 * {@code /metrics} and {@code POST /api/v1/exports}. HTTP/1.1 on a kept-alive connection.
 */
final class AdminApi {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final String name;
    private final URI base;
    private final HttpClient client = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    AdminApi(String name, URI base) {
        this.name = name;
        this.base = base;
    }

    String name() {
        return name;
    }

    URI base() {
        return base;
    }

    /** True when /readyz answers 200; false when it answers otherwise or nothing listens yet. */
    /** Empty when /readyz answers 200; otherwise what it answered (status and body) or why it could not be asked. */
    Optional<String> notReady() throws InterruptedException {
        try {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(base.resolve("readyz"))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? Optional.empty()
                    : Optional.of("HTTP " + response.statusCode() + ": " + response.body().strip());
        } catch (IOException e) {
            return Optional.of(e.toString());
        }
    }

    JsonNode status() throws IOException, InterruptedException {
        return JSON.readTree(get("api/v1/status"));
    }

    String metrics() throws IOException, InterruptedException {
        return get("metrics");
    }

    /** {@code POST /api/v1/exports}; throws unless the gateway acknowledges (200). */
    void export(String body) throws IOException, InterruptedException {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(base.resolve("api/v1/exports"))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(name + ": POST /api/v1/exports answered " + response.statusCode() + ": "
                    + response.body().strip());
        }
    }

    private String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(base.resolve(path))
                .timeout(TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException(name + ": GET /" + path + " answered " + response.statusCode());
        }
        return response.body();
    }

    /** What a status says of the exports received from {@code origin}: imports.clusters[cluster == origin]. */
    static Optional<JsonNode> importsFrom(JsonNode status, String origin) {
        for (JsonNode cluster : status.path("imports").path("clusters")) {
            if (origin.equals(cluster.path("cluster").asText())) {
                return Optional.of(cluster);
            }
        }
        return Optional.empty();
    }

    /** Whether a status shows a peer link to {@code cluster} that is up. */
    static boolean linkUp(JsonNode status, String cluster) {
        for (JsonNode peer : status.path("peers")) {
            if (cluster.equals(peer.path("cluster").asText()) && "up".equalsIgnoreCase(peer.path("state").asText())) {
                return true;
            }
        }
        return false;
    }

    /** The sum of a Prometheus counter's samples whose line starts with {@code prefix} (name and labels). */
    static double metric(String metricsText, String prefix) {
        double sum = 0;
        for (String line : metricsText.split("\n")) {
            if (line.startsWith(prefix) && (line.length() == prefix.length() || " {".indexOf(line.charAt(prefix.length())) >= 0
                    || prefix.endsWith("}"))) {
                int space = line.lastIndexOf(' ');
                try {
                    sum += Double.parseDouble(line.substring(space + 1));
                } catch (NumberFormatException ignored) {
                    // not a sample line
                }
            }
        }
        return sum;
    }
}
