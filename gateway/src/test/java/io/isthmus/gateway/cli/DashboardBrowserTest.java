package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The dashboard in a real browser (Debian's chromium, headless, driven by chromedriver through Selenium): three
 * gateways in their own JVMs, peered, with an address plan; east's dashboard shows the three clusters and their links,
 * an export made with the CLI appears without a reload, and a killed gateway's cluster turns red. Admin auth is off,
 * as in {@code isthmus demo} (a browser cannot send a bearer token; AdminAuthTest covers the dashboard with auth on).
 * Screenshots go to {@code target/dashboard-screenshots/}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserTest {
    private static final List<String> CLUSTERS = List.of("east", "west", "edge");
    private static final int EAST = 0;
    private static final int WEST = 1;
    private static final int EDGE = 2;
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Path SCREENSHOTS = Path.of("target", "dashboard-screenshots");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private int base;
    private final List<GatewayProcess> gateways = new ArrayList<>();
    private final List<String> podSegments = new ArrayList<>();
    private WebDriver browser;

    @BeforeAll
    void startGatewaysAndBrowser(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        Files.createDirectories(SCREENSHOTS);
        browser = startBrowser(); // first: if chromium cannot run here, say so before the slow part
        base = FreePorts.block(30);
        TestPki pki = new TestPki(dir.resolve("ca"));
        for (String cluster : CLUSTERS) {
            pki.issue(cluster, dir.resolve(cluster).resolve("data").resolve("tls"));
        }
        for (int i = 0; i < CLUSTERS.size(); i++) {
            gateways.add(start(i));
        }
        for (GatewayProcess gateway : gateways) {
            gateway.awaitReady(Duration.ofSeconds(90));
        }
        // Each cluster holds a pod segment (granted once a majority acknowledged); east carves a pool from its own and
        // gives two pods addresses, so the dashboard has a pool with usage to show.
        for (int i = 0; i < CLUSTERS.size(); i++) {
            JsonNode plan = ok(admin(i).post("api/v1/ipam/segments", JSON.createObjectNode().put("kind", "pod")));
            podSegments.add(heldPodSegment(plan, CLUSTERS.get(i)));
        }
        ObjectNode pool = JSON.createObjectNode().put("name", "pods");
        pool.putArray("cidrs").add(prefix(EAST) + ".0.0/24");
        ok(admin(EAST).post("api/v1/ipam/pools", pool));
        for (String pod : List.of("cart-0", "cart-1")) {
            ObjectNode allocation = JSON.createObjectNode();
            allocation.putObject("owner").put("namespace", "shop").put("name", pod).put("uid", pod + "-uid");
            ok(admin(EAST).post("api/v1/ipam/pools/pods/allocations", allocation));
        }
    }

    @AfterAll
    void stop() {
        if (browser != null) {
            browser.quit();
        }
        gateways.forEach(GatewayProcess::close);
    }

    @Test
    @Order(1)
    void theDashboardShowsTheThreeClustersAndTheirLinksUpWithRoundTripTimes() throws Exception {
        browser.get(dashboardUrl(EAST));
        await("the three clusters, all up", "east=up,edge=up,west=up", this::clusterStates);
        await("a link up from east to each peer", "edge=up,west=up", this::linkStates);
        await("a round-trip time on both links", true,
                () -> script("return [...document.querySelectorAll('#topology text.link-label')]"
                        + ".filter(t => / ms$/.test(t.textContent)).length === 2"));
        assertEquals("east", text("#cluster-id"));
        assertEquals("live", script("return document.getElementById('live').dataset.live"));
        assertTrue((Boolean) script("return document.querySelector('#topology g.cluster[data-cluster=east]')"
                + ".dataset.self === 'true'"), "east's own dashboard draws east as itself");
        // The links table lists every link east has (one outbound per peer, and the peers' inbound ones).
        await("east's outbound links in the table", 2L, () -> script(
                "return document.querySelectorAll('#links-table tr[data-state=up]').length >= 2 ? 2 : 0"));
        screenshot("1-three-clusters");
    }

    @Test
    @Order(2)
    void exportsMadeThroughTheCliAppearWithoutAReloadWithTheirConflict() throws Exception {
        script("window.isthmusTestMark = 'same page'");
        // east exports shop/cart; west exports shop/catalog, and shop/cart as Headless: a type conflict east wins
        // (the oldest export).
        cli("export", "--admin", adminUrl(EAST), "--namespace", "shop", "--name", "cart", "--port", "http:80/TCP",
                "--ip", prefix(EAST) + ".200.10");
        await("east's export in its exports table", true, () -> script(
                "return document.querySelector('#exports-table tr[data-service=\"shop/cart\"]') !== null"));
        cli("export", "--admin", adminUrl(WEST), "--namespace", "shop", "--name", "catalog", "--port", "80/TCP",
                "--ip", prefix(WEST) + ".200.11");
        cli("export", "--admin", adminUrl(WEST), "--namespace", "shop", "--name", "cart", "--type", "Headless",
                "--port", "http:80/TCP", "--ip", prefix(WEST) + ".200.12");
        await("west's export imported at east", "west", () -> script(
                "const row = document.querySelector('#imports-table tr[data-service=\"shop/catalog\"]');"
                        + "return row ? row.dataset.clusters : ''"));
        await("the type conflict of shop/cart", "type east west", () -> script(
                "const row = document.querySelector('#conflicts-table tr[data-service=\"shop/cart\"]');"
                        + "return row ? [...row.cells].slice(1, 4).map(c => c.textContent).join(' ') : ''"));
        await("east's export marked as in conflict", "true", () -> script(
                "const row = document.querySelector('#exports-table tr[data-service=\"shop/cart\"]');"
                        + "return row ? row.dataset.conflict : ''"));
        assertEquals("same page", script("return window.isthmusTestMark"), "the page must update without a reload");
        screenshot("2-exports-and-conflict");
    }

    @Test
    @Order(3)
    void poolUsageThePlanAndEveryViewLoadWithoutProblemsFromThisOriginOnly() throws Exception {
        await("pool pods with its two addresses", "2", () -> script(
                "const row = document.querySelector('#pools-table tr[data-pool=pods]');"
                        + "return row ? row.dataset.used : ''"));
        await("the three pod segments held", String.join(",", podSegments.stream().sorted().toList()), () -> script(
                "return [...document.querySelectorAll('#segments-table tr[data-state=held]')]"
                        + ".map(r => r.cells[2].textContent).sort().join(',')"));
        await("no view reporting a problem", "", () -> script(
                "return [...document.querySelectorAll('main .problem')].map(p => p.textContent).join(' | ')"));
        String origin = "http://127.0.0.1:" + adminPort(EAST) + "/";
        String foreign = (String) script("return performance.getEntriesByType('resource').map(e => e.name)"
                + ".filter(n => !n.startsWith('" + origin + "')).join(' ')");
        assertEquals("", foreign, "the page loads nothing from anywhere but its gateway");
        List<String> consoleErrors = browser.manage().logs().get(org.openqa.selenium.logging.LogType.BROWSER).getAll()
                .stream().filter(entry -> entry.getLevel().intValue() >= java.util.logging.Level.SEVERE.intValue())
                .map(org.openqa.selenium.logging.LogEntry::getMessage).toList();
        assertEquals(List.of(), consoleErrors, "the page's console (a failed fetch or a script error shows here)");
        screenshot("3-pools-and-plan");
    }

    @Test
    @Order(4)
    void aKilledGatewaysClusterTurnsRed() throws Exception {
        gateways.get(EDGE).kill();
        await("edge down, west still up", "edge=down,west=up", () -> script(
                "return [...document.querySelectorAll('#topology g.cluster:not([data-self=true])')]"
                        + ".map(g => g.dataset.cluster + '=' + g.dataset.state).sort().join(',')"));
        await("east's link to edge no longer up", false, () -> script(
                "return document.querySelector('#topology line.link[data-cluster=edge]').dataset.state === 'up'"));
        String fill = (String) script("return getComputedStyle("
                + "document.querySelector('#topology g.cluster[data-cluster=edge] circle')).fill");
        Matcher rgb = Pattern.compile("rgb\\((\\d+), (\\d+), (\\d+)\\)").matcher(fill);
        assertTrue(rgb.matches(), fill);
        int red = Integer.parseInt(rgb.group(1));
        int green = Integer.parseInt(rgb.group(2));
        int blue = Integer.parseInt(rgb.group(3));
        assertTrue(red >= 180 && green <= 90 && blue <= 90, "edge is drawn red, not " + fill);
        screenshot("4-edge-down");
    }

    // ---- the gateways ------------------------------------------------------------------------------------------

    private GatewayProcess start(int i) throws Exception {
        Path home = dir.resolve(CLUSTERS.get(i));
        Files.createDirectories(home);
        String peers = IntStream.range(0, CLUSTERS.size()).filter(j -> j != i)
                .mapToObj(j -> "\"127.0.0.1:" + (adminPort(j) + 1) + "\"").collect(Collectors.joining(", "));
        Path config = home.resolve("gateway.conf");
        Files.writeString(config, """
                isthmus {
                  cluster-id = "%s"
                  data-dir = "data"
                  admin { port = %d, auth.enabled = off }
                  peering { port = %d, peers = [%s], reconnect-max-backoff = 1s }
                  dns.port = %d
                  replicas.port = %d
                  plan {
                    members = [east, west, edge]
                    supernets.pod = [{cidr = "10.128.0.0/14", segment-prefix = 16}]
                  }
                }
                """.formatted(CLUSTERS.get(i), adminPort(i), adminPort(i) + 1, peers, adminPort(i) + 2, adminPort(i) + 3));
        return GatewayProcess.start(CLUSTERS.get(i), config, adminPort(i), home.resolve("gateway.log"),
                List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    }

    private int adminPort(int i) {
        return base + 10 * i;
    }

    private String adminUrl(int i) {
        return "http://127.0.0.1:" + adminPort(i);
    }

    private String dashboardUrl(int i) {
        return adminUrl(i) + "/dashboard";
    }

    private AdminClient admin(int i) {
        return AdminClient.anonymous(adminUrl(i));
    }

    private static JsonNode ok(AdminClient.Reply reply) throws Exception {
        assertTrue(reply.ok(), reply::toString);
        return JSON.readTree(reply.body());
    }

    private static String heldPodSegment(JsonNode plan, String cluster) {
        for (JsonNode segment : plan.path("segments")) {
            if (segment.path("cluster").asText().equals(cluster) && segment.path("kind").asText().equals("pod")
                    && segment.path("state").asText().equals("held")) {
                return segment.path("cidr").asText();
            }
        }
        throw new AssertionError(cluster + " holds no pod segment: " + plan.toPrettyString());
    }

    /** "10.129" of cluster i's pod segment 10.129.0.0/16. */
    private String prefix(int i) {
        String[] octets = podSegments.get(i).split("/")[0].split("\\.");
        return octets[0] + "." + octets[1];
    }

    private void cli(String... args) {
        Cli run = Cli.run(args);
        assertEquals(0, run.exitCode(), run::toString);
    }

    // ---- the browser -------------------------------------------------------------------------------------------

    /**
     * Headless chromium through Debian's chromedriver (no driver download: Selenium is given both paths). Every
     * host name but loopback resolves to nothing, so the page (and chromium itself) cannot reach out.
     */
    private WebDriver startBrowser() {
        for (Path binary : List.of(CHROMIUM, CHROMEDRIVER)) {
            if (!Files.isExecutable(binary)) {
                fail(binary + " is missing: the dashboard test needs Debian's chromium and chromium-driver "
                        + "(scripts/test installs them: isthmus_need chromium chromium-driver)");
            }
        }
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2200",
                "--user-data-dir=" + dir.resolve("chromium-profile"), "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost");
        options.setCapability("goog:loggingPrefs", java.util.Map.of("browser", "ALL")); // the page's console
        if (io.isthmus.testing.Netns.isRoot()) {
            options.addArguments("--no-sandbox"); // chromium refuses to run as root with its sandbox
        }
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .withLogFile(new File(SCREENSHOTS.toFile(), "chromedriver.log"))
                .build();
        try {
            ChromeDriver driver = new ChromeDriver(service, options);
            driver.manage().timeouts().pageLoadTimeout(WAIT).scriptTimeout(Duration.ofSeconds(10));
            return driver;
        } catch (RuntimeException e) {
            return fail("chromium could not be started headless through " + CHROMEDRIVER + " (see "
                    + SCREENSHOTS.resolve("chromedriver.log").toAbsolutePath() + "): " + e.getMessage(), e);
        }
    }

    private Object script(String js) {
        return ((JavascriptExecutor) browser).executeScript(js);
    }

    private String text(String selector) {
        return (String) script("const e = document.querySelector('" + selector + "'); return e ? e.textContent : null");
    }

    private String clusterStates() {
        return (String) script("return [...document.querySelectorAll('#topology g.cluster')]"
                + ".map(g => g.dataset.cluster + '=' + g.dataset.state).sort().join(',')");
    }

    private String linkStates() {
        return (String) script("return [...document.querySelectorAll('#topology line.link')]"
                + ".map(l => l.dataset.cluster + '=' + l.dataset.state).sort().join(',')");
    }

    /** Waits up to {@link #WAIT} until {@code actual} gives {@code expected}; on failure a screenshot and the page. */
    private void await(String what, Object expected, Supplier<Object> actual) throws Exception {
        Object[] last = {null};
        try {
            new WebDriverWait(browser, WAIT, Duration.ofMillis(250)).until(driver -> {
                last[0] = actual.get();
                return expected.equals(last[0]);
            });
        } catch (TimeoutException e) {
            screenshot("failed-" + what.replaceAll("[^a-zA-Z0-9]+", "-"));
            fail("the dashboard did not show " + what + " within " + WAIT.toSeconds() + " s: expected <" + expected
                    + "> but was <" + last[0] + ">; the page says:\n"
                    + script("return document.body.innerText") + "\nclusters: " + clusterStates());
        }
    }

    private void screenshot(String name) throws Exception {
        byte[] png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES);
        Files.write(SCREENSHOTS.resolve(name + ".png"), png);
    }
}
