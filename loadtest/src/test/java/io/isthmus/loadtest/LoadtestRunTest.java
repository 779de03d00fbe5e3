package io.isthmus.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * loadtest/run as a user calls it: it lists its scenarios, refuses what it cannot do with a message, and runs every
 * scenario briefly (--brief, 1 s of load, the jars of this build) to a results folder with its summary. Runs in the
 * package phase (it needs this module's jar and libraries and the gateway's jar); as root, since CI is: the tunnel,
 * policy, xdp and cni scenarios create network namespaces. Figures are not judged, only that each run completed.
 */
class LoadtestRunTest {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> SCENARIOS = List.of("dns", "peering", "peering-load", "ipam-http", "gatling", "ipam",
            "ipam-failover", "cni", "tunnel", "policy", "xdp");

    /**
     * The scenarios to run briefly: all, or those named in the system property {@code isthmus.loadtest.scenarios}
     * (comma-separated; Maven passes {@code -Disthmus.loadtest.scenarios=peering-load} on to the test JVM).
     */
    static Stream<String> scenariosToRun() {
        String only = System.getProperty("isthmus.loadtest.scenarios", "").strip();
        if (only.isEmpty()) {
            return SCENARIOS.stream();
        }
        List<String> chosen = Stream.of(only.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
        for (String scenario : chosen) {
            if (!SCENARIOS.contains(scenario)) {
                throw new IllegalArgumentException("isthmus.loadtest.scenarios names '" + scenario
                        + "', not a scenario (" + String.join(", ", SCENARIOS) + ")");
            }
        }
        return chosen.stream();
    }

    record Run(int exit, String stdout, String stderr) {
    }

    private static Run run(Path results, long timeoutSeconds, String... args) throws Exception {
        List<String> command = Stream.concat(Stream.of("bash", ROOT.resolve("loadtest/run").toString()), Stream.of(args)).toList();
        Path out = Files.createTempFile(results, "run", ".out");
        Path err = Files.createTempFile(results, "run", ".err");
        ProcessBuilder builder = new ProcessBuilder(command).directory(ROOT.toFile())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        builder.environment().put("ISTHMUS_BENCH_RESULTS", results.toString());
        Process process = builder.start();
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
            process.waitFor(30, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " ran past " + timeoutSeconds + " s: "
                    + Files.readString(err, StandardCharsets.UTF_8));
        }
        return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void withoutArgumentsItListsEveryScenario(@TempDir Path results) throws Exception {
        Run list = run(results, 30);
        assertEquals(0, list.exit(), list.stderr());
        for (String scenario : SCENARIOS) {
            assertTrue(list.stdout().lines().anyMatch(l -> l.strip().startsWith(scenario + " ")),
                    scenario + " is not listed:\n" + list.stdout());
        }
    }

    @Test
    void itRefusesWhatItCannotDoAndSaysWhy(@TempDir Path results) throws Exception {
        Run unknown = run(results, 30, "gatling-grpc");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.stderr().contains("unknown scenario 'gatling-grpc'"), unknown.stderr());
        Run target = run(results, 30, "dns", "--target", "http://127.0.0.1:1");
        assertEquals(2, target.exit());
        assertTrue(target.stderr().contains("only ipam-http, gatling and peering-load load a running gateway"),
                target.stderr());
        Run duration = run(results, 30, "ipam-http", "--duration", "0");
        assertEquals(2, duration.exit());
        assertTrue(duration.stderr().contains("--duration takes whole seconds 1..600, got '0'"), duration.stderr());
    }

    @ParameterizedTest
    @MethodSource("scenariosToRun")
    void eachScenarioRunsBrieflyToItsResultsFolder(String scenario, @TempDir Path results) throws Exception {
        Run run = run(results, 420, scenario, "--brief", "--duration", "1", "--no-build", "--timeout", "360");
        assertEquals(0, run.exit(), scenario + " failed; its stderr:\n" + tail(run.stderr()));
        Path folder;
        try (Stream<Path> runs = Files.list(results.resolve(scenario))) {
            List<Path> all = runs.toList();
            assertEquals(1, all.size(), "one results folder per run: " + all);
            folder = all.getFirst();
        }
        assertTrue(folder.getFileName().toString().matches("\\d{8}T\\d{6}Z(-\\d+)?"), "a UTC timestamp: " + folder);
        JsonNode summary = JSON.readTree(folder.resolve("summary.json").toFile());
        assertEquals(scenario, summary.path("scenario").asText());
        assertEquals("ok", summary.path("status").asText(), summary.toString());
        assertEquals(0, summary.path("exit").asInt(-1));
        assertTrue(summary.path("output").size() > 0, "the figures are in the summary: " + summary);
        String stdout = Files.readString(folder.resolve("stdout.txt"));
        assertEquals(run.stdout(), stdout, "stdout.txt holds what the script printed");
        String markdown = Files.readString(folder.resolve("summary.md"));
        assertTrue(markdown.contains("| status | ok (exit 0) |"), markdown);
        assertTrue(markdown.contains(stdout.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElseThrow()), markdown);
        assertTrue(Files.readString(folder.resolve("command.txt")).startsWith("loadtest/bench-"));
        if (scenario.equals("gatling")) {
            try (Stream<Path> files = Files.walk(folder.resolve("gatling"))) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().equals("index.html")),
                        "Gatling's HTML report is in the results folder");
            }
            assertTrue(stdout.contains("percentage of failed events is less than or equal to 0.0 : true"), stdout);
        }
        if (scenario.equals("peering-load")) {
            // its own report beside the summary: the HTML page and the figures, with every assertion passed
            String html = Files.readString(folder.resolve("index.html"));
            assertTrue(html.contains("<svg") && html.contains("PASS") && !html.contains("FAIL"), "index.html");
            assertTrue(!html.contains("<script") && !html.contains("<link")
                    && !html.matches("(?s).*(src|href)\\s*=\\s*\"https?:.*"), "self-contained: nothing fetched from elsewhere");
            JsonNode stats = JSON.readTree(folder.resolve("stats.json").toFile());
            assertTrue(stats.path("passed").asBoolean(false), stats.path("assertions").toString());
            assertEquals(2, stats.path("scenarios").size(), "an open and a closed scenario: " + stats.path("scenarios"));
            for (JsonNode s : stats.path("scenarios")) {
                assertTrue(s.path("ok").asLong() > 0, "changes answered in " + s.path("name") + ": " + s);
                assertTrue(s.path("propagationMs").path("p99").isNumber(), s.toString());
            }
            assertEquals(true, summary.path("figures").path("passed").asBoolean(false),
                    "the driver's JSON line is the summary's figures: " + summary.path("figures"));
        }
    }

    private static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
