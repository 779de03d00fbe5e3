package io.isthmus.loadtest.gatling;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.OpenInjectionStep;
import io.gatling.javaapi.core.ClosedInjectionStep;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * The admin and IPAM HTTP API under three loads at once, each a Gatling scenario:
 * <ul>
 *   <li>export churn: a service exported ({@code POST /api/v1/exports}) and withdrawn again ({@code DELETE});
 *   <li>an allocate/release storm: throw-away owners (allocate, release {@code forget}) and fixed-IP owners (a
 *       StatefulSet's pod: allocate, release {@code keep-fixed}, allocate again, which must give the same address,
 *       then release {@code forget});
 *   <li>reads of {@code /api/v1/status} while the others run.
 * </ul>
 * Settings (system properties): {@code isthmus.target} (admin URL, required), {@code isthmus.pool} (default bench),
 * {@code isthmus.seconds} (default 10), {@code isthmus.profile} ({@code open}: arrivals per second, or
 * {@code closed}: concurrent users; default open), {@code isthmus.rate} (users per second per scenario, or
 * concurrent users, default 20), {@code isthmus.p99-ms} (the assertion on the 99th percentile, default 250) and
 * {@code isthmus.max-failed-percent} (default 0). Assertions fail the run (Gatling exits non-zero) and are in the report.
 */
public class AdminApiSimulation extends Simulation {
    private static final String TARGET = required("isthmus.target");
    private static final String POOL = System.getProperty("isthmus.pool", "bench");
    private static final int SECONDS = positive("isthmus.seconds", 10);
    private static final String PROFILE = System.getProperty("isthmus.profile", "open").toLowerCase(Locale.ROOT);
    private static final int RATE = positive("isthmus.rate", 20);
    private static final int P99_MS = positive("isthmus.p99-ms", 250);
    private static final double MAX_FAILED_PERCENT = Double.parseDouble(System.getProperty("isthmus.max-failed-percent", "0"));
    /** Every virtual user gets names of its own: a service, an owner. */
    private static final AtomicLong NEXT = new AtomicLong();

    private static String required(String key) {
        String value = System.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("-D" + key + " is required (the gateway's admin URL)");
        }
        return value;
    }

    private static int positive(String key, int fallback) {
        String text = System.getProperty(key, Integer.toString(fallback));
        try {
            int value = Integer.parseInt(text);
            if (value > 0) {
                return value;
            }
        } catch (NumberFormatException ignored) {
            // the message below names the value
        }
        throw new IllegalArgumentException("-D" + key + " must be a positive whole number, got '" + text + "'");
    }

    private final HttpProtocolBuilder protocol = http.baseUrl(TARGET)
            .contentTypeHeader("application/json").acceptHeader("application/json")
            .shareConnections();

    /** A number of this user's own, and from it an address for its export (10.99.0.0/16). */
    private static ChainBuilder numbered() {
        return exec(session -> {
            long n = NEXT.incrementAndGet();
            return session.set("n", n).set("ip", "10.99." + (n / 250 % 250) + "." + (n % 250 + 1));
        });
    }

    private final ScenarioBuilder exportChurn = scenario("export churn").exec(numbered(),
            http("export").post("/api/v1/exports")
                    .body(StringBody("{\"namespace\":\"gatling\",\"name\":\"svc-#{n}\",\"type\":\"ClusterSetIP\","
                            + "\"ports\":[\"80/TCP\"],\"ips\":[\"#{ip}\"]}"))
                    .check(status().is(200)),
            http("unexport").delete("/api/v1/exports/gatling/svc-#{n}").check(status().in(200, 204)));

    /** A pod is one incarnation (its uid); a StatefulSet's pod is its name, which keeps its address. */
    private static String owner(String kind) {
        return "{\"namespace\":\"gatling\",\"kind\":\"" + kind + "\",\"name\":\"" + kind.toLowerCase(Locale.ROOT)
                + "-#{n}\",\"uid\":\"uid-#{n}\"}";
    }

    private final ScenarioBuilder allocateStorm = scenario("allocate/release storm").exec(numbered(),
            http("allocate").post("/api/v1/ipam/pools/" + POOL + "/allocations")
                    .body(StringBody("{\"owner\":" + owner("Pod") + "}"))
                    .check(status().is(200), jsonPath("$.addresses[0]").exists()),
            http("release").post("/api/v1/ipam/pools/" + POOL + "/releases")
                    .body(StringBody("{\"owner\":" + owner("Pod") + ",\"mode\":\"forget\"}"))
                    .check(status().is(200)));

    private final ScenarioBuilder fixedOwners = scenario("fixed-IP owners").exec(numbered(),
            http("allocate fixed").post("/api/v1/ipam/pools/" + POOL + "/allocations")
                    .body(StringBody("{\"owner\":" + owner("StatefulSetPod") + "}"))
                    .check(status().is(200), jsonPath("$.addresses[0]").saveAs("first")),
            http("release keep-fixed").post("/api/v1/ipam/pools/" + POOL + "/releases")
                    .body(StringBody("{\"owner\":" + owner("StatefulSetPod") + ",\"mode\":\"keep-fixed\"}"))
                    .check(status().is(200)),
            http("allocate fixed again").post("/api/v1/ipam/pools/" + POOL + "/allocations")
                    .body(StringBody("{\"owner\":" + owner("StatefulSetPod") + "}"))
                    .check(status().is(200), jsonPath("$.addresses[0]").isEL("#{first}")),
            http("release fixed").post("/api/v1/ipam/pools/" + POOL + "/releases")
                    .body(StringBody("{\"owner\":" + owner("StatefulSetPod") + ",\"mode\":\"forget\"}"))
                    .check(status().is(200)));

    private final ScenarioBuilder statusReads = scenario("status reads").exec(
            http("status").get("/api/v1/status").check(status().is(200), jsonPath("$.clusterId").exists()));

    private PopulationBuilder inject(ScenarioBuilder scenario) {
        Duration during = Duration.ofSeconds(SECONDS);
        return switch (PROFILE) {
            case "open" -> scenario.injectOpen(List.<OpenInjectionStep>of(constantUsersPerSec(RATE).during(during)));
            case "closed" -> scenario.injectClosed(List.<ClosedInjectionStep>of(
                    constantConcurrentUsers(RATE).during(during)));
            default -> throw new IllegalArgumentException("-Disthmus.profile must be open or closed, got '" + PROFILE + "'");
        };
    }

    {
        setUp(inject(exportChurn), inject(allocateStorm), inject(fixedOwners), inject(statusReads))
                .protocols(protocol)
                .maxDuration(Duration.ofSeconds(SECONDS + 60L))
                .assertions(global().failedRequests().percent().lte(MAX_FAILED_PERCENT),
                        global().responseTime().percentile(99.0).lt(P99_MS));
    }
}
