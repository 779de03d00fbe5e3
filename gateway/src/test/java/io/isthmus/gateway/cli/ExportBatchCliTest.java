package io.isthmus.gateway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import io.isthmus.gateway.pki.ClustersetCa;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code isthmus export -f FILE} and {@code POST /api/v1/exports/batch} against a real gateway: many exports and
 * withdrawals in one change, all or none, errors naming the entry; what was stored shows in the exports API and
 * in the gateway's DNS.
 */
class ExportBatchCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    Path dir;
    private Gateway east;
    private String admin;

    @BeforeEach
    void start() throws Exception {
        ClustersetCa ca = ClustersetCa.init(dir.resolve("ca"));
        ca.issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("tls"));
        east = TestGateways.start("east", dir, dir, "");
        admin = "http://127.0.0.1:" + east.adminAddress().getPort();
    }

    @AfterEach
    void stop() {
        east.close();
    }

    @Test
    void aFileOfExportsIsOneChangeThatShowsInTheApiAndInDns() throws Exception {
        Path file = write("batch.json", batch(exports(0, 300), List.of()));

        Cli cli = Cli.run("export", "--admin", admin, "-f", file.toString());

        assertEquals(0, cli.exitCode(), cli::toString);
        assertTrue(cli.out().startsWith("cluster east: exported 300, unchanged 0, withdrawn 0, not exported 0 (version "),
                cli::toString);
        assertEquals(300, ownExports().size());
        int dnsPort = east.dns().localAddress().getPort();
        Dns.Answer answer = Dns.awaitA(dnsPort, "svc-299.bulk.svc.clusterset.local",
                a -> a.addresses().equals(List.of("10.97.1.49")), Duration.ofSeconds(10));
        assertEquals(List.of("10.97.1.49"), answer.addresses(), "the last export of the file answers in DNS");
        assertEquals("10.97.0.7", Dns.dig(dnsPort, "+short", "svc-7.bulk.svc.clusterset.local", "A").strip());

        // Again, with one more and two withdrawn: one change, counted.
        Path next = write("next.json", batch(exports(2, 301), List.of("bulk/svc-0", "bulk/svc-1", "bulk/none")));
        Cli again = Cli.run("export", "--admin", admin, "--file", next.toString());
        assertEquals(0, again.exitCode(), again::toString);
        assertTrue(again.out().startsWith("cluster east: exported 1, unchanged 298, withdrawn 2, not exported 1"),
                again::toString);
        assertEquals(299, ownExports().size());
    }

    @Test
    void aBadEntryIsNamedAndNothingOfTheFileIsStored() throws Exception {
        List<String> exports = new ArrayList<>(exports(0, 3));
        exports.set(1, "{\"namespace\":\"bulk\",\"name\":\"svc-1\",\"ports\":[\"80/TCP\"],\"ips\":[\"10.0.0.256\"]}");
        Path file = write("bad.json", batch(exports, List.of()));

        Cli cli = Cli.run("export", "--admin", admin, "-f", file.toString());

        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().startsWith("isthmus: invalid " + file + ": exports[1].ips[0] '10.0.0.256'"), cli::toString);
        assertEquals(0, ownExports().size());

        // The gateway checks the same, for callers that are not the CLI, and refuses duplicates whole.
        HttpResponse<String> bad = post(batch(exports, List.of()));
        assertEquals(400, bad.statusCode());
        assertEquals("exports[1].ips[0]", JSON.readTree(bad.body()).path("field").asText(), bad.body());
        HttpResponse<String> twice = post(batch(exports(0, 2), List.of("bulk/svc-1")));
        assertEquals(400, twice.statusCode());
        assertEquals("unexports[0]", JSON.readTree(twice.body()).path("field").asText(), twice.body());
        assertTrue(JSON.readTree(twice.body()).path("error").asText().contains("exports[1]"), twice.body());
        HttpResponse<String> unknown = post("{\"export\":[]}");
        assertEquals(400, unknown.statusCode());
        assertEquals("export", JSON.readTree(unknown.body()).path("field").asText(), unknown.body());
        assertEquals(0, ownExports().size());
    }

    @Test
    void theFileIsGivenAloneNotWithTheOptionsOfOneExport() throws Exception {
        Path file = write("one.json", batch(exports(0, 1), List.of()));
        Cli cli = Cli.run("export", "--admin", admin, "-f", file.toString(), "--namespace", "shop");
        assertEquals(2, cli.exitCode(), cli::toString);
        assertTrue(cli.err().contains("--file"), cli::toString);
        Cli none = Cli.run("export", "--admin", admin, "--namespace", "shop", "--name", "cart");
        assertEquals(2, none.exitCode(), none::toString);
        assertTrue(none.err().startsWith("isthmus: invalid --port"), none::toString);
    }

    private static List<String> exports(int from, int to) {
        List<String> out = new ArrayList<>();
        for (int i = from; i < to; i++) {
            out.add("{\"namespace\":\"bulk\",\"name\":\"svc-" + i + "\",\"ports\":[\"http:80/TCP\"],\"ips\":[\"10.97."
                    + (i / 250) + "." + (i % 250) + "\"]}");
        }
        return out;
    }

    private static String batch(List<String> exports, List<String> unexports) {
        return "{\"exports\":[" + String.join(",", exports) + "],\"unexports\":["
                + String.join(",", unexports.stream().map(k -> "\"" + k + "\"").toList()) + "]}";
    }

    private Path write(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    private HttpResponse<String> post(String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/exports/batch"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode ownExports() throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/exports")).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        JsonNode exports = JSON.readTree(response.body());
        assertTrue(exports.isArray(), response.body());
        return exports;
    }
}
