package io.isthmus.loadtest.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The policy benchmark's driver ({@code loadtest/bench-policy.sh} runs it; see loadtest/README.md). Commands:
 *
 * <pre>
 * decisions   --rules 1,100,10000 [--seconds 3] [--rounds 3] [--port-share 50]
 *             decisions per second on one thread (needs the policy classes: the gateway jar on the class path)
 * rules       --rules N [--port-share 50] --json FILE [--nft-sets FILE] [--nft-rules FILE] [--allow-labels FILE]
 *             writes the rule set as {"items": [...]}, as nftables rulesets (BenchRules) and the metrics labels of
 *             its Allow rules (one a line)
 * apply       --admin URL --file FILE          POST /api/v1/policies; prints the book version it answers
 * clear       --admin URL [--prefix bench-]    DELETE every policy in force whose name has the prefix; prints the version
 * enforced    --admins NAME=URL,... --version V [--tunnels NAME,...] [--timeout-ms 60000]
 *             until every gateway holds book version V (status policy.version) and the named ones' tunnels
 *             enforce it (status tunnel.policy); prints how long it took; fails after the timeout
 * propagation --origin NAME=URL --receivers NAME=URL,... [--tunnels NAME,...] [--changes 100] [--poll-ms 2]
 *             N policy changes, one at a time, at the origin; per receiver the time from sending the POST until it
 *             holds the new version (and until its tunnel enforces it); p50/p99/max
 * </pre>
 */
public final class PolicyBench {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    private PolicyBench() {
    }

    public static void main(String[] args) throws Throwable {
        if (args.length == 0) {
            System.err.println("usage: PolicyBench decisions|rules|apply|clear|enforced|propagation --option value ...");
            System.exit(2);
        }
        Map<String, String> options = options(args);
        try {
            switch (args[0]) {
                case "decisions" -> Decisions.run(integers(required(options, "rules")),
                        integer(options, "seconds", 3), integer(options, "rounds", 3), integer(options, "port-share", 50));
                case "rules" -> rules(options);
                case "apply" -> System.out.println(apply(URI.create(required(options, "admin")),
                        Files.readString(Path.of(required(options, "file")))));
                case "clear" -> System.out.println(clear(URI.create(required(options, "admin")),
                        options.getOrDefault("prefix", "bench-")));
                case "enforced" -> enforced(pairs(required(options, "admins")), required(options, "version"),
                        list(options.getOrDefault("tunnels", "")), integer(options, "timeout-ms", 60_000));
                case "propagation" -> Propagation.run(pairs(required(options, "origin")),
                        pairs(required(options, "receivers")), list(options.getOrDefault("tunnels", "")),
                        integer(options, "changes", 100), integer(options, "poll-ms", 2));
                default -> throw new IllegalArgumentException("unknown command '" + args[0] + "'");
            }
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("policy bench " + args[0] + ": " + e.getMessage());
            System.exit(1);
        }
    }

    private static void rules(Map<String, String> options) throws IOException {
        BenchRules rules = new BenchRules(integer(options, "rules", 10_000), "east", "west", "10.1.0.0/24",
                "10.2.0.0/24", 5201, integer(options, "port-share", 50));
        Files.writeString(Path.of(required(options, "json")), rules.policiesJson());
        if (options.containsKey("nft-sets")) {
            Files.writeString(Path.of(options.get("nft-sets")), rules.nftSets("isthmus_bench"));
        }
        if (options.containsKey("nft-rules")) {
            Files.writeString(Path.of(options.get("nft-rules")), rules.nftRules("isthmus_bench"));
        }
        if (options.containsKey("allow-labels")) {
            Files.write(Path.of(options.get("allow-labels")), rules.allowLabels());
        }
        long ports = java.util.stream.IntStream.range(0, rules.count())
                .filter(i -> rules.kind(i) instanceof BenchRules.PortDeny).count();
        System.out.printf(Locale.ROOT, "%d rules in %d policies: %d port rules (the flow's peers, other ports), %d CIDR "
                        + "rules (other addresses), %d Allow%n", rules.count(), rules.policyNames().size(), ports,
                rules.count() - ports - Math.min(2, rules.count()), Math.min(2, rules.count()));
    }

    /** POSTs a policy body; returns the book version the gateway answers. */
    static String apply(URI admin, String body) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(admin.resolve("/api/v1/policies"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("POST " + admin + "api/v1/policies answered " + response.statusCode() + ": "
                    + abbreviated(response.body()));
        }
        return JSON.readTree(response.body()).path("version").asText();
    }

    private static String clear(URI admin, String prefix) throws IOException, InterruptedException {
        JsonNode book = JSON.readTree(get(admin, "/api/v1/policies"));
        String version = book.path("version").asText();
        for (JsonNode policy : book.path("policies")) {
            String name = policy.path("metadata").path("name").asText();
            if (!name.startsWith(prefix)) {
                continue;
            }
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(admin.resolve("/api/v1/policies/" + name))
                    .timeout(Duration.ofSeconds(30)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IOException("DELETE " + name + " answered " + response.statusCode() + ": "
                        + abbreviated(response.body()));
            }
            version = JSON.readTree(response.body()).path("version").asText();
        }
        return version;
    }

    private static void enforced(Map<String, String> admins, String version, List<String> tunnels, int timeoutMs)
            throws IOException, InterruptedException {
        long started = System.nanoTime();
        long deadline = started + timeoutMs * 1_000_000L;
        Map<String, String> last = new LinkedHashMap<>();
        while (true) {
            boolean all = true;
            for (Map.Entry<String, String> admin : admins.entrySet()) {
                JsonNode status = status(URI.create(admin.getValue()));
                String held = status.path("policy").path("version").asText();
                String enforcedText = status.path("tunnel").path("policy").asText("");
                boolean ok = held.equals(version)
                        && (!tunnels.contains(admin.getKey()) || enforcedText.startsWith("policy " + version + " "));
                last.put(admin.getKey(), tunnels.contains(admin.getKey()) ? "holds " + held + ", its tunnel enforces "
                        + enforcedText : "holds " + held);
                all &= ok;
            }
            if (all) {
                String table = tunnels.isEmpty() ? "" : last.get(tunnels.getFirst())
                        .replaceFirst("^.*its tunnel enforces policy \\S+ ", "");
                System.out.printf(Locale.ROOT, "    book %s held at %s%s (checked after %.0f ms)%n", version,
                        String.join(", ", admins.keySet()), tunnels.isEmpty() ? ""
                                : "; enforced in the tunnels of " + String.join(", ", tunnels) + " " + table,
                        (System.nanoTime() - started) / 1e6);
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("not every gateway holds and enforces " + version + " within " + timeoutMs
                        + " ms: " + last);
            }
            Thread.sleep(50);
        }
    }

    static JsonNode status(URI admin) throws IOException, InterruptedException {
        return JSON.readTree(get(admin, "/api/v1/status"));
    }

    static String get(URI admin, String path) throws IOException, InterruptedException {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(admin.resolve(path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("GET " + admin + path.substring(1) + " answered " + response.statusCode());
        }
        return response.body();
    }

    private static String abbreviated(String text) {
        String line = text.strip().replace('\n', ' ');
        return line.length() > 400 ? line.substring(0, 400) + "..." : line;
    }

    // ---- options ------------------------------------------------------------------------------------------------

    private static Map<String, String> options(String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 1; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value, got '" + args[i] + "'");
            }
            if (values.put(args[i].substring(2), args[i + 1]) != null) {
                throw new IllegalArgumentException(args[i] + " is given twice");
            }
        }
        return values;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }

    private static int integer(Map<String, String> options, String name, int fallback) {
        String value = options.get(name);
        try {
            return value == null ? fallback : Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a whole number, got '" + value + "'");
        }
    }

    private static List<Integer> integers(String text) {
        try {
            return Arrays.stream(text.split(",")).map(String::trim).map(Integer::parseInt).toList();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--rules takes whole numbers separated by commas, got '" + text + "'");
        }
    }

    private static List<String> list(String text) {
        return Arrays.stream(text.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }

    private static Map<String, String> pairs(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String part : text.split(",")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("expected NAME=URL pairs separated by commas, got '" + part + "'");
            }
            out.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
        }
        return out;
    }
}
