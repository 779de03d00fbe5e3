package io.isthmus.gateway.config;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GatewayConfigLoaderTest {
    private static final Path BASE = Path.of("/etc/isthmus");

    private static GatewayConfig load(String hocon) {
        return GatewayConfigLoader.fromConfig(ConfigFactory.parseString(hocon), BASE);
    }

    private static InvalidFieldException rejects(String hocon) {
        return assertThrows(InvalidFieldException.class, () -> load(hocon));
    }

    private static void assertMentions(InvalidFieldException e, String field, String value) {
        assertEquals(field, e.field(), e.getMessage());
        assertEquals(value, e.value(), e.getMessage());
        assertTrue(e.getMessage().contains(field), e.getMessage());
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
    }

    @Test
    void appliesTheDefaultsOfReferenceConf() {
        GatewayConfig config = load("isthmus.cluster-id = east");
        assertEquals(ClusterId.of("east"), config.clusterId());
        assertEquals(BASE.resolve("data"), config.dataDir());
        assertEquals(new HostPort("127.0.0.1", 7070), config.admin());
        assertEquals(new HostPort("127.0.0.1", 7071), config.peering().listen());
        assertEquals(List.of(), config.peering().peers());
        assertEquals(Duration.ofSeconds(1), config.peering().heartbeatInterval());
        assertEquals(Duration.ofMillis(200), config.peering().reconnectMinBackoff());
        assertEquals(Duration.ofSeconds(5), config.peering().reconnectMaxBackoff());
        assertEquals(new HostPort("127.0.0.1", 5353), config.dns().listen());
        assertEquals("clusterset.local", config.dns().zone());
        assertEquals(Duration.ofSeconds(5), config.dns().ttl());
        assertEquals(new HostPort("127.0.0.1", 7073), config.replicas().listen());
        assertEquals(List.of(), config.replicas().seedNodes());
    }

    @Test
    void readsEverySettingGiven() {
        GatewayConfig config = load("""
                isthmus {
                  cluster-id = west
                  data-dir = "/var/lib/isthmus"
                  admin { host = "0.0.0.0", port = 8070 }
                  peering {
                    host = "10.0.0.1"
                    port = 8071
                    peers = ["10.1.0.5:7071", "gw.east.example:7071"]
                    heartbeat-interval = 250ms
                    reconnect-min-backoff = 1s
                    reconnect-max-backoff = 1m
                  }
                  dns { host = "::1", port = 0, zone = "Mesh.Example.", ttl = 30s }
                  replicas { host = "10.0.0.1", port = 8073, seed-nodes = ["pekko://isthmus@10.0.0.2:8073"] }
                }
                """);
        assertEquals(ClusterId.of("west"), config.clusterId());
        assertEquals(Path.of("/var/lib/isthmus"), config.dataDir());
        assertEquals(new HostPort("0.0.0.0", 8070), config.admin());
        assertEquals(new HostPort("10.0.0.1", 8071), config.peering().listen());
        assertEquals(List.of(new HostPort("10.1.0.5", 7071), new HostPort("gw.east.example", 7071)),
                config.peering().peers());
        assertEquals(Duration.ofMillis(250), config.peering().heartbeatInterval());
        assertEquals(Duration.ofSeconds(1), config.peering().reconnectMinBackoff());
        assertEquals(Duration.ofMinutes(1), config.peering().reconnectMaxBackoff());
        assertEquals(new HostPort("::1", 0), config.dns().listen());
        assertEquals("mesh.example", config.dns().zone());
        assertEquals(Duration.ofSeconds(30), config.dns().ttl());
        assertEquals(new HostPort("10.0.0.1", 8073), config.replicas().listen());
        assertEquals(List.of("pekko://isthmus@10.0.0.2:8073"), config.replicas().seedNodes());
    }

    @Test
    void ignoresSettingsOutsideTheIsthmusBlock() {
        GatewayConfig config = load("isthmus.cluster-id = east\npekko.loglevel = DEBUG\nsomething-else = 1");
        assertEquals(ClusterId.of("east"), config.clusterId());
    }

    @Test
    void rejectsMissingClusterId() {
        InvalidFieldException e = rejects("isthmus.admin.port = 7070");
        assertEquals("isthmus.cluster-id", e.field());
        assertTrue(e.reason().contains("required"), e.reason());
    }

    @Test
    void rejectsEmptyConfigForWantOfAClusterId() {
        assertEquals("isthmus.cluster-id", rejects("").field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"East", "east_1", "-east", "east-", "east.1"})
    void rejectsClusterIdThatIsNotADnsLabel(String value) {
        InvalidFieldException e = rejects("isthmus.cluster-id = \"" + value + "\"");
        assertMentions(e, "isthmus.cluster-id", value);
    }

    @Test
    void rejectsClusterIdLongerThan63Characters() {
        String value = "a".repeat(64);
        assertMentions(rejects("isthmus.cluster-id = " + value), "isthmus.cluster-id", value);
    }

    @Test
    void rejectsUnknownTopLevelSettingNamingItsFullPath() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, clusterid = west }");
        assertMentions(e, "isthmus.clusterid", "west");
        assertTrue(e.reason().contains("unknown setting"), e.reason());
    }

    @Test
    void rejectsUnknownNestedSettingNamingItsFullPath() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, dns.zonee = \"x.example\" }");
        assertMentions(e, "isthmus.dns.zonee", "x.example");
    }

    @Test
    void rejectsUnknownSettingEvenWhenEverythingElseIsValid() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, peering { peers = [], heartbeat = 1s } }");
        assertEquals("isthmus.peering.heartbeat", e.field());
    }

    @Test
    void rejectsAValueWhereABlockBelongs() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, dns = \"127.0.0.1:53\" }");
        assertMentions(e, "isthmus.dns", "127.0.0.1:53");
        assertTrue(e.reason().contains("block"), e.reason());
    }

    @Test
    void rejectsAListWhereABlockBelongs() {
        assertEquals("isthmus.admin", rejects("isthmus { cluster-id = east, admin = [1, 2] }").field());
    }

    @Test
    void rejectsAValueWhereTheIsthmusBlockBelongs() {
        InvalidFieldException e = rejects("isthmus = east");
        assertEquals("isthmus", e.field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"nohost", "host:", ":7071", "host:99999", "host:0", "host:http", "::1:7071", "ho st:7071",
            "[::1]"})
    void rejectsMalformedPeerAddressNamingTheSettingAndValue(String peer) {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, peering.peers = [\"10.0.0.1:7071\", \""
                + peer + "\"] }");
        assertMentions(e, "isthmus.peering.peers", peer);
    }

    @Test
    void rejectsPeersThatAreNotAList() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, peering.peers = \"10.0.0.1:7071\" }");
        assertMentions(e, "isthmus.peering.peers", "10.0.0.1:7071");
    }

    @Test
    void acceptsBracketedIpv6Peer() {
        GatewayConfig config = load("isthmus { cluster-id = east, peering.peers = [\"[fd00::5]:7071\", \"[::1]:7072\"] }");
        assertEquals(List.of(new HostPort("fd00::5", 7071), new HostPort("::1", 7072)), config.peering().peers());
        assertEquals("[fd00::5]:7071", config.peering().peers().getFirst().toString());
    }

    @Test
    void rejectsDurationThatIsNotADuration() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, peering.heartbeat-interval = soon }");
        assertMentions(e, "isthmus.peering.heartbeat-interval", "soon");
        assertTrue(e.reason().contains("duration"), e.reason());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0s", "-1s"})
    void rejectsDurationThatIsNotPositive(String value) {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, peering.reconnect-min-backoff = " + value + " }");
        assertMentions(e, "isthmus.peering.reconnect-min-backoff", value);
        assertTrue(e.reason().contains("greater than zero"), e.reason());
    }

    @Test
    void rejectsTtlWithFractionalSeconds() {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, dns.ttl = 1500ms }");
        assertMentions(e, "isthmus.dns.ttl", "1500ms");
        assertTrue(e.reason().contains("whole seconds"), e.reason());
    }

    @Test
    void rejectsTtlLongerThanADay() {
        assertEquals("isthmus.dns.ttl", rejects("isthmus { cluster-id = east, dns.ttl = 86401s }").field());
        assertEquals(Duration.ofDays(1), load("isthmus { cluster-id = east, dns.ttl = 1d }").dns().ttl());
    }

    @Test
    void acceptsTtlInWholeSecondsWrittenInMilliseconds() {
        assertEquals(Duration.ofSeconds(2), load("isthmus { cluster-id = east, dns.ttl = 2000ms }").dns().ttl());
    }

    @Test
    void rejectsReconnectMaxBelowMin() {
        InvalidFieldException e = rejects("""
                isthmus { cluster-id = east, peering { reconnect-min-backoff = 2s, reconnect-max-backoff = 1s } }
                """);
        assertEquals("isthmus.peering.reconnect-max-backoff", e.field());
        assertTrue(e.reason().contains("reconnect-min-backoff"), e.reason());
    }

    @Test
    void acceptsReconnectMaxEqualToMin() {
        GatewayConfig config = load("isthmus { cluster-id = east, peering { reconnect-min-backoff = 2s, reconnect-max-backoff = 2s } }");
        assertEquals(config.peering().reconnectMinBackoff(), config.peering().reconnectMaxBackoff());
    }

    @Test
    void acceptsSeedNodesOfThePekkoAddressForm() {
        GatewayConfig config = load("""
                isthmus { cluster-id = east, replicas.seed-nodes = ["pekko://isthmus@10.1.0.5:7073", "pekko://isthmus@gw-0.east:7073"] }
                """);
        assertEquals(List.of("pekko://isthmus@10.1.0.5:7073", "pekko://isthmus@gw-0.east:7073"),
                config.replicas().seedNodes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.1.0.5:7073", "pekko://other@10.1.0.5:7073", "akka://isthmus@10.1.0.5:7073",
            "pekko://isthmus@10.1.0.5", "pekko://isthmus@10.1.0.5:7073/user"})
    void rejectsSeedNodeOfAnotherForm(String seed) {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, replicas.seed-nodes = [\"" + seed + "\"] }");
        assertMentions(e, "isthmus.replicas.seed-nodes", seed);
    }

    @Test
    void replicaNameDefaultsToEmptyAndTakesADnsLabel() {
        assertEquals("", load("isthmus { cluster-id = east }").replicas().name());
        assertEquals("gw-0", load("isthmus { cluster-id = east, replicas.name = gw-0 }").replicas().name());
    }

    @ParameterizedTest
    @ValueSource(strings = {"GW_0", "gw.0", "-gw"})
    void rejectsReplicaNameThatIsNotADnsLabel(String name) {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, replicas.name = \"" + name + "\" }");
        assertMentions(e, "isthmus.replicas.name", name);
    }

    /** The peers' ports are range-checked (host:99999 is rejected); a seed node's port must be too. */
    @Test
    void rejectsSeedNodeWithPortOutOfRange() {
        String seed = "pekko://isthmus@10.1.0.5:99999";
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> load("isthmus { cluster-id = east, replicas.seed-nodes = [\"" + seed + "\"] }"),
                "a seed node with port 99999 was accepted");
        assertEquals("isthmus.replicas.seed-nodes", e.field());
    }

    @Test
    void resolvesRelativeDataDirAgainstBaseDir() {
        assertEquals(Path.of("/etc/isthmus/state/east"),
                load("isthmus { cluster-id = east, data-dir = \"state/east\" }").dataDir());
        assertEquals(Path.of("/etc/state"), load("isthmus { cluster-id = east, data-dir = \"../state\" }").dataDir());
    }

    @Test
    void keepsAbsoluteDataDir() {
        assertEquals(Path.of("/var/lib/isthmus"),
                load("isthmus { cluster-id = east, data-dir = \"/var/lib/isthmus\" }").dataDir());
    }

    @Test
    void leavesRelativeDataDirRelativeWithoutBaseDir() {
        GatewayConfig config = GatewayConfigLoader.fromConfig(
                ConfigFactory.parseString("isthmus { cluster-id = east, data-dir = \"./state\" }"), null);
        assertEquals(Path.of("state"), config.dataDir());
    }

    @Test
    void rejectsEmptyDataDir() {
        assertEquals("isthmus.data-dir", rejects("isthmus { cluster-id = east, data-dir = \" \" }").field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"70000", "-1", "http"})
    void rejectsListenPortOutOfRangeOrNotANumber(String port) {
        InvalidFieldException e = rejects("isthmus { cluster-id = east, admin.port = \"" + port + "\" }");
        assertEquals("isthmus.admin.port", e.field());
        assertTrue(e.getMessage().contains(port), e.getMessage());
    }

    @Test
    void rejectsEmptyListenHost() {
        assertEquals("isthmus.replicas.host", rejects("isthmus { cluster-id = east, replicas.host = \"\" }").field());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ".", "Bad_Zone.local", "a..b", "-a.local"})
    void rejectsZoneThatIsNotADomainName(String zone) {
        assertEquals("isthmus.dns.zone", rejects("isthmus { cluster-id = east, dns.zone = \"" + zone + "\" }").field());
    }

    @Test
    void lowerCasesTheZoneAndDropsTheTrailingDot() {
        assertEquals("mesh.example", load("isthmus { cluster-id = east, dns.zone = \"MESH.Example.\" }").dns().zone());
    }

    /** The zone is lower-cased with the default locale; in Turkish, "I" lower-cases to a dotless 'ı'. */
    @Test
    void lowerCasesTheZoneWhateverTheDefaultLocale() {
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.forLanguageTag("tr-TR"));
            assertEquals("isthmus.local", load("isthmus { cluster-id = east, dns.zone = \"ISTHMUS.LOCAL\" }").dns().zone());
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void loadReadsAFileAndResolvesDataDirAgainstItsDirectory(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("gateway.conf");
        Files.writeString(file, """
                # a comment
                isthmus {
                  cluster-id = east
                  data-dir = journal
                  dns.ttl = 10s
                }
                """);
        GatewayConfig config = GatewayConfigLoader.load(file);
        assertEquals(ClusterId.of("east"), config.clusterId());
        assertEquals(dir.toAbsolutePath().resolve("journal"), config.dataDir());
        assertEquals(Duration.ofSeconds(10), config.dns().ttl());
    }

    @Test
    void loadRejectsAMissingFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope.conf");
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> GatewayConfigLoader.load(missing));
        assertEquals("--config", e.field());
        assertEquals(missing.toString(), e.value());
        assertTrue(e.reason().contains("no such file"), e.reason());
    }

    @Test
    void loadRejectsADirectory(@TempDir Path dir) {
        assertEquals("--config", assertThrows(InvalidFieldException.class, () -> GatewayConfigLoader.load(dir)).field());
    }

    @Test
    void loadRejectsInvalidHocon(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("broken.conf");
        Files.writeString(file, "isthmus {\n  cluster-id = east\n");
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> GatewayConfigLoader.load(file));
        assertEquals("--config", e.field());
        assertEquals(file.toString(), e.value());
        assertTrue(e.reason().startsWith("not valid HOCON"), e.reason());
    }

    @Test
    void loadValidatesTheFileContents(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("typo.conf");
        Files.writeString(file, "isthmus { cluster-id = east, dns { zonee = x } }");
        assertEquals("isthmus.dns.zonee",
                assertThrows(InvalidFieldException.class, () -> GatewayConfigLoader.load(file)).field());
    }

    @Test
    void dnsDefaultsAreNoForwardingNoLocalityAndAPrivateAllowList() {
        GatewayConfig config = load("isthmus.cluster-id = east");
        assertEquals(io.isthmus.dns.Locality.OFF, config.dns().locality());
        assertEquals(false, config.dns().clusterNames());
        assertEquals(false, config.dns().forwarding().enabled());
        assertEquals(Path.of("/etc/isthmus/data/tls"), config.tlsDir());
    }

    @Test
    void readsForwardingAndLocality() {
        GatewayConfig config = load("""
                isthmus {
                  cluster-id = east
                  dns {
                    locality = prefer-local
                    cluster-names = on
                    forward { upstreams = ["10.96.0.10", "[fd00::10]:5353"], timeout = 300ms, attempts = 2,
                              cache-entries = 0, allowed-clients = ["10.0.0.0/8"] }
                  }
                }
                """);
        assertEquals(io.isthmus.dns.Locality.PREFER_LOCAL, config.dns().locality());
        assertTrue(config.dns().clusterNames());
        assertEquals(2, config.dns().forwarding().upstreams().size());
        assertEquals(53, config.dns().forwarding().upstreams().getFirst().getPort());
        assertEquals(Duration.ofMillis(300), config.dns().forwarding().timeout());
        assertEquals(2, config.dns().forwarding().attempts());
    }

    @Test
    void rejectsBadDnsSettingsNamingTheConfigKey() {
        assertMentions(rejects("isthmus { cluster-id = east, dns.locality = nearest }"), "isthmus.dns.locality", "nearest");
        assertMentions(rejects("isthmus { cluster-id = east, dns.forward.upstreams = [\"dns.example\"] }"),
                "isthmus.dns.forward.upstreams", "dns.example");
        assertMentions(rejects("isthmus { cluster-id = east, dns.forward.allowed-clients = [\"10.0.0.0/33\"] }"),
                "isthmus.dns.forward.allowed-clients", "10.0.0.0/33");
        assertEquals("isthmus.dns.forward.attempts",
                rejects("isthmus { cluster-id = east, dns.forward.attempts = 99 }").field());
        assertEquals("isthmus.dns.cluster-names",
                rejects("isthmus { cluster-id = east, dns.cluster-names = maybe }").field());
        assertMentions(rejects("isthmus { cluster-id = east, dns.rate-limit.slip = 11 }"),
                "isthmus.dns.rate-limit.slip", "11");
        assertMentions(rejects("isthmus { cluster-id = east, dns.rate-limit.ipv6-prefix-length = 96 }"),
                "isthmus.dns.rate-limit.ipv6-prefix-length", "96");
        assertMentions(rejects("isthmus { cluster-id = east, dns.rate-limit.exempt-clients = [\"10.0.0.0/40\"] }"),
                "isthmus.dns.rate-limit.exempt-clients", "10.0.0.0/40");
        assertEquals("isthmus.dns.rate-limit.burst",
                rejects("isthmus { cluster-id = east, dns.rate-limit.burst = lots }").field());
    }

    @Test
    void udpResponsesAreRateLimitedByDefaultAndTheLimitIsSettable() {
        assertEquals(io.isthmus.dns.RateLimit.DEFAULTS, load("isthmus.cluster-id = east").dns().rateLimit());
        io.isthmus.dns.RateLimit limit = load("""
                isthmus { cluster-id = east, dns.rate-limit { responses-per-second = 50, burst = 100, slip = 0,
                  ipv4-prefix-length = 32, ipv6-prefix-length = 64, table-size = 1024, exempt-clients = [] } }
                """).dns().rateLimit();
        assertEquals(new io.isthmus.dns.RateLimit(50, 100, 0, 32, 64, 1024, java.util.List.of()), limit);
        assertEquals(false, load("isthmus { cluster-id = east, dns.rate-limit.responses-per-second = 0 }")
                .dns().rateLimit().enabled());
    }

    @Test
    void theJournalIsEmbeddedH2ByDefaultOrAPostgresDatabase() {
        assertEquals(new GatewayConfig.H2Journal(), load("isthmus.cluster-id = east").journal());
        GatewayConfig.Journal journal = load("""
                isthmus { cluster-id = east, journal { kind = postgres,
                  postgres { url = "jdbc:postgresql://10.1.0.9:5432/isthmus", user = isthmus, password = s3cret } } }
                """).journal();
        assertEquals(new GatewayConfig.PostgresJournal("jdbc:postgresql://10.1.0.9:5432/isthmus", "isthmus", "s3cret"),
                journal);
        assertTrue(!journal.toString().contains("s3cret"), "the password is never printed");
    }

    @Test
    void rejectsAnUnknownJournalOrABadPostgresUrl() {
        assertMentions(rejects("isthmus { cluster-id = east, journal.kind = mysql }"), "isthmus.journal.kind", "mysql");
        assertMentions(rejects("isthmus { cluster-id = east, journal { kind = postgres, postgres.url = \"postgres://x\" } }"),
                "isthmus.journal.postgres.url", "postgres://x");
    }

    @Test
    void kubernetesIsOffByDefaultAndReadsItsSettings() {
        assertEquals(new GatewayConfig.Kubernetes(false, "", List.of(), Duration.ofSeconds(30)),
                load("isthmus.cluster-id = east").kubernetes());
        assertEquals(new GatewayConfig.Kubernetes(true, "https://10.96.0.1:443", List.of("shop", "db"), Duration.ofSeconds(10)),
                load("""
                        isthmus { cluster-id = east, kubernetes { enabled = true, master-url = "https://10.96.0.1:443",
                          namespaces = [shop, db], resync-interval = 10s } }
                        """).kubernetes());
    }

    @Test
    void oneKubernetesBlockHoldsTheApiServerAndEveryPart() {
        GatewayConfig.Kubernetes kubernetes = load("""
                isthmus { cluster-id = east, kubernetes { master-url = "https://10.96.0.1:443", peers = on,
                  ipam { pools = on, owner-source = pods } } }
                """).kubernetes();
        assertEquals(new GatewayConfig.Kubernetes(false, "https://10.96.0.1:443", List.of(), Duration.ofSeconds(30),
                true, new io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings(true,
                io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings.OwnerSource.PODS, Duration.ofSeconds(10),
                Duration.ofMinutes(10))), kubernetes);
        assertTrue(kubernetes.anyEnabled(), "ClusterPeers and IPPools need the client without the MCS sync");
        assertFalse(load("isthmus.cluster-id = east").kubernetes().anyEnabled(), "no client by default");
        assertTrue(load("isthmus { cluster-id = east, kubernetes.ipam.owner-source = pods }").kubernetes().anyEnabled(),
                "pods as owners need the client alone");
    }

    @Test
    void rejectsABadKubernetesMasterUrlOrNamespace() {
        assertMentions(rejects("isthmus { cluster-id = east, kubernetes.master-url = \"10.96.0.1:443\" }"),
                "isthmus.kubernetes.master-url", "10.96.0.1:443");
        assertMentions(rejects("isthmus { cluster-id = east, kubernetes.namespaces = [Shop_1] }"),
                "isthmus.kubernetes.namespaces", "Shop_1");
    }

    @Test
    void peeringLimitsDefaultToReferenceConf() {
        var limits = load("isthmus.cluster-id = east").peering().limits();
        assertEquals(16L * 1024 * 1024, limits.maxMessageBytes());
        assertEquals(50_000, limits.maxExportsPerPeer());
        assertEquals(5_000, limits.maxEndpointsPerExport());
        assertEquals(250_000, limits.maxEndpointsPerPeer());
        assertEquals(java.util.Set.of(), limits.importNamespaces().allowed());
        assertEquals(java.util.Set.of("kube-system", "isthmus-system"), limits.importNamespaces().denied());
        assertTrue(limits.importNamespaces().allows("shop"));
        assertTrue(!limits.importNamespaces().allows("kube-system"));
        assertTrue(!limits.importNamespaces().allows("isthmus-system"));
    }

    @Test
    void readsPeeringLimitsAndImportNamespaces() {
        var limits = load("""
                isthmus { cluster-id = east, peering {
                  limits { max-message-size = 4 MiB, max-exports-per-peer = 100, max-endpoints-per-export = 10,
                           max-endpoints-per-peer = 500 }
                  import-namespaces { allowed = [shop, db], denied = [] } } }
                """).peering().limits();
        assertEquals(4L << 20, limits.maxMessageBytes());
        assertEquals(100, limits.maxExportsPerPeer());
        assertEquals(10, limits.maxEndpointsPerExport());
        assertEquals(500, limits.maxEndpointsPerPeer());
        assertTrue(limits.importNamespaces().allows("shop"));
        assertTrue(!limits.importNamespaces().allows("web"), "only the allowed namespaces take imports");
        assertTrue(limits.importNamespaces().allows("db"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lots", "1 KiB", "2 GiB"})
    void rejectsAMessageSizeThatIsNotASizeOrOutOfRange(String value) {
        assertMentions(rejects("isthmus { cluster-id = east, peering.limits.max-message-size = \"" + value + "\" }"),
                "isthmus.peering.limits.max-message-size", value);
    }

    @ParameterizedTest
    @ValueSource(strings = {"max-exports-per-peer", "max-endpoints-per-export", "max-endpoints-per-peer"})
    void rejectsAQuotaBelowOneOrNotANumber(String quota) {
        assertMentions(rejects("isthmus { cluster-id = east, peering.limits." + quota + " = 0 }"),
                "isthmus.peering.limits." + quota, "0");
        assertMentions(rejects("isthmus { cluster-id = east, peering.limits." + quota + " = many }"),
                "isthmus.peering.limits." + quota, "many");
    }

    @Test
    void rejectsFewerEndpointsPerPeerThanPerExport() {
        assertMentions(rejects("isthmus { cluster-id = east, peering.limits { max-endpoints-per-export = 100, "
                + "max-endpoints-per-peer = 99 } }"), "isthmus.peering.limits.max-endpoints-per-peer", "99");
    }

    @Test
    void rejectsImportNamespacesThatAreNotNamespacesOrBothAllowedAndDenied() {
        assertMentions(rejects("isthmus { cluster-id = east, peering.import-namespaces.denied = [Kube_System] }"),
                "isthmus.peering.import-namespaces.denied", "Kube_System");
        assertMentions(rejects("isthmus { cluster-id = east, peering.import-namespaces.allowed = [\"shop/x\"] }"),
                "isthmus.peering.import-namespaces.allowed", "shop/x");
        assertMentions(rejects("isthmus { cluster-id = east, peering.import-namespaces.allowed = [kube-system] }"),
                "isthmus.peering.import-namespaces.allowed", "kube-system");
        assertMentions(rejects("isthmus { cluster-id = east, peering.limits.max-exports-per-pear = 5 }"),
                "isthmus.peering.limits.max-exports-per-pear", "5");
    }
}
