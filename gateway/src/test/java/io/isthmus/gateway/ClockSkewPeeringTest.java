package io.isthmus.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.pki.ClustersetCa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real gateways in this JVM, peered over mutual TLS, west's wall clock 3 s ahead of east's (an offset
 * {@link Clock} handed to its wiring): each estimates the other's skew from the heartbeats to within 50 ms and shows
 * it in its status and /metrics, and the propagation of export changes either way comes out as the milliseconds it
 * takes here, not the 3 s between the clocks (uncorrected, west's changes would seem 3 s late at east, and east's
 * 3 s early at west, clamped to 0).
 */
class ClockSkewPeeringTest {
    private static final Duration WEST_AHEAD = Duration.ofSeconds(3);
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private final List<Gateway> running = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AfterEach
    void stop() {
        running.reversed().forEach(Gateway::close);
        http.close();
    }

    @Test
    void eachSideSeesTheOthersClockOffsetAndTimesPropagationOnItsOwnClock() throws Exception {
        Gateway east = start("east", List.of(), Clock.systemUTC());
        Gateway west = start("west", List.of(east), Clock.offset(Clock.systemUTC(), WEST_AHEAD));
        // Wait for an estimate from a fast enough exchange: its error is at most half the round trip.
        awaitTrue("both sides estimate the skew to within 20 ms", Duration.ofSeconds(30),
                () -> boundMillis(east) < 20 && boundMillis(west) < 20);

        JsonNode atEast = upLink(status(east));
        JsonNode atWest = upLink(status(west));
        double eastSees = atEast.path("clockSkewMillis").asDouble();
        double westSees = atWest.path("clockSkewMillis").asDouble();
        assertEquals(3_000, eastSees, 50, "east's view of west's clock: " + atEast);
        assertEquals(-3_000, westSees, 50, "west's view of east's clock: " + atWest);
        // and within the bound each reports (plus 1 ms for reading the clocks)
        assertEquals(3_000, eastSees, atEast.path("clockSkewBoundMillis").asDouble() + 1, atEast.toString());
        assertEquals(-3_000, westSees, atWest.path("clockSkewBoundMillis").asDouble() + 1, atWest.toString());
        assertEquals(3.0, metric(east, "isthmus_peering_clock_skew_seconds{peer=\"west\"}"), 0.05);
        assertEquals(-3.0, metric(west, "isthmus_peering_clock_skew_seconds{peer=\"east\"}"), 0.05);

        // Changes both ways, one at a time, each after the snapshot that opened the stream: deltas.
        for (int i = 0; i < 5; i++) {
            export(west, "w" + i, "10.96.1." + (i + 1));
            export(east, "e" + i, "10.96.2." + (i + 1));
            Thread.sleep(150);
        }
        awaitTrue("five deltas timed on each side", Duration.ofSeconds(10),
                () -> metric(east, "isthmus_peering_propagation_seconds_count{peer=\"west\"}") >= 5
                        && metric(west, "isthmus_peering_propagation_seconds_count{peer=\"east\"}") >= 5);
        for (var side : List.of(new Object[] {east, "west"}, new Object[] {west, "east"})) {
            Gateway at = (Gateway) side[0];
            String peer = (String) side[1];
            double count = metric(at, "isthmus_peering_propagation_seconds_count{peer=\"" + peer + "\"}");
            double mean = metric(at, "isthmus_peering_propagation_seconds_sum{peer=\"" + peer + "\"}") / count;
            double clamped = metric(at, "isthmus_peering_propagation_clamped_total{peer=\"" + peer + "\"}");
            clamped = Double.isNaN(clamped) ? 0 : clamped; // a counter shows once counted
            System.out.printf("propagation from %s: %.0f deltas, mean %.1f ms, %.0f clamped at 0%n", peer, count,
                    mean * 1e3, clamped);
            assertTrue(mean < 1.0, "mean propagation from " + peer + " " + mean + " s: the 3 s skew was not corrected");
            assertTrue(clamped < count, "every delta from " + peer + " came out negative: corrected the wrong way");
        }
    }

    private Gateway start(String cluster, List<Gateway> dial, Clock clock) {
        ClustersetCa ca = dir.resolve("ca").toFile().exists() ? ClustersetCa.load(dir.resolve("ca"))
                : ClustersetCa.init(dir.resolve("ca"));
        Path data = dir.resolve(cluster);
        ca.issue(ClusterId.of(cluster), Duration.ofDays(1)).writeTo(data.resolve("tls"));
        StringBuilder peers = new StringBuilder();
        for (Gateway gateway : dial) {
            peers.append(peers.isEmpty() ? "" : ", ").append("\"127.0.0.1:").append(gateway.peeringAddress().getPort()).append('"');
        }
        Gateway gateway = Gateway.start(TestGateways.config(cluster, data, data,
                "peering { peers = [" + peers + "], heartbeat-interval = 200ms, reconnect-max-backoff = 1s }"), clock);
        running.add(gateway);
        return gateway;
    }

    /** The error bound of the gateway's up link's estimate, in ms; infinite while it has none. */
    private static double boundMillis(Gateway gateway) {
        return gateway.mesh().links().values().stream()
                .filter(link -> link.state() == LinkState.UP && link.clockSkew() != null)
                .mapToDouble(link -> link.clockSkew().bound().toNanos() / 1e6).min().orElse(Double.POSITIVE_INFINITY);
    }

    private static JsonNode upLink(JsonNode status) {
        for (JsonNode link : status.path("peers")) {
            if ("up".equals(link.path("state").asText()) && link.has("clockSkewMillis")) {
                return link;
            }
        }
        throw new AssertionError("no up link with a skew estimate: " + status.path("peers"));
    }

    private JsonNode status(Gateway gateway) throws Exception {
        return JSON.readTree(get(gateway, "api/v1/status"));
    }

    private String get(Gateway gateway, String path) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(admin(gateway).resolve(path))
                .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        return response.body();
    }

    private void export(Gateway gateway, String name, String ip) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(admin(gateway).resolve("api/v1/exports"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"namespace\": \"shop\", \"name\": \"" + name
                        + "\", \"ports\": [\"80/TCP\"], \"ips\": [\"" + ip + "\"]}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertTrue(response.statusCode() / 100 == 2, response.statusCode() + " " + response.body());
    }

    /** One sample's value from the gateway's /metrics as Prometheus text; NaN when it is absent. */
    private double metric(Gateway gateway, String series) {
        try {
            return get(gateway, "metrics").lines().filter(line -> line.startsWith(series + " "))
                    .mapToDouble(line -> Double.parseDouble(line.substring(series.length() + 1))).findFirst()
                    .orElse(Double.NaN);
        } catch (Exception e) {
            throw new AssertionError("cannot read /metrics: " + e, e);
        }
    }

    private static URI admin(Gateway gateway) {
        return URI.create("http://127.0.0.1:" + gateway.adminAddress().getPort() + "/");
    }

    private static void awaitTrue(String what, Duration timeout, BooleanSupplier check) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (check.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        fail("not within " + timeout + ": " + what);
    }
}
