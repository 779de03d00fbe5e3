package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.IssuedCertificate;
import io.isthmus.gateway.pki.KeyFiles;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replicas' Pekko cluster admits only its own cluster's certificates. Two replicas of cluster east (separate
 * JVMs, each with an east certificate of its own from the clusterset CA) form one Pekko cluster over Artery TLS. Then
 * a rogue JVM ({@link RogueReplica}: real Pekko nodes that present whatever they hold and trust any server) tries to
 * join them through their addresses as seed nodes, as six nodes: with west's valid certificate from the same CA, a
 * self-signed east certificate, an east certificate from another CA, a revoked east certificate, no certificate, and
 * plain TCP. None is ever a member, seen from either side, and the replicas log and count each refusal. Last, the
 * same rogue harness with a valid east certificate does join: the refusals were the certificates, not the harness.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RogueReplicaTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration ATTACK = Duration.ofSeconds(20);
    private static final List<String> ROGUES = List.of("west", "selfsigned", "otherca", "revoked", "nocert", "plaintcp");

    private Path dir;
    private int base;
    private TestPki pki;
    private final List<GatewayProcess> gateways = new ArrayList<>();
    private final List<Process> rogueProcesses = new ArrayList<>();
    private BigInteger revokedSerial;
    private Path rogueLog;
    private long joinMillis;

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        base = FreePorts.block(30);
        pki = new TestPki(dir.resolve("ca"));
        // An east certificate whose key leaked: east is revoked, and its replicas get new certificates afterwards.
        IssuedCertificate leaked = pki.ca().issue(ClusterId.of("east"), Duration.ofDays(1));
        leaked.writeTo(dir.resolve("rogue/revoked"));
        revokedSerial = leaked.serial();
        pki.ca().revoke(ClusterId.of("east"));
        pki.issue("east", dir.resolve("east-a/data/tls")).issue("east", dir.resolve("east-b/data/tls"));
        GatewayProcess a = startReplica("east-a", 0, 0);
        a.awaitReady(Duration.ofSeconds(240));
        long joinStart = System.nanoTime();
        GatewayProcess b = startReplica("east-b", 1, 0);
        b.awaitReady(Duration.ofSeconds(240));
        awaitUp(0, Set.of(replicaAddress(0), replicaAddress(1)));
        awaitUp(1, Set.of(replicaAddress(0), replicaAddress(1)));
        joinMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - joinStart);
    }

    private GatewayProcess startReplica(String name, int i, int seed) throws Exception {
        Path home = dir.resolve(name);
        Files.createDirectories(home);
        Files.writeString(home.resolve("gateway.conf"), """
                isthmus {
                  cluster-id = east
                  data-dir = "data"
                  admin.port = %d
                  admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                  peering.port = %d
                  dns.port = %d
                  replicas { port = %d, seed-nodes = ["pekko://isthmus@127.0.0.1:%d"], name = %s }
                }
                """.formatted(admin(i), base + 10 * i + 1, base + 10 * i + 2, replicaPort(i), replicaPort(seed), name));
        GatewayProcess process = GatewayProcess.start(name, home.resolve("gateway.conf"), admin(i),
                home.resolve("gateway.log"), List.of("-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        gateways.add(process);
        return process;
    }

    @AfterAll
    void stop() throws Exception {
        rogueProcesses.forEach(RogueReplicaTest::stop);
        gateways.parallelStream().forEach(GatewayProcess::close);
        Path logs = Path.of("target", "rogue-replica-logs");
        Files.createDirectories(logs);
        for (GatewayProcess gateway : gateways) {
            if (Files.exists(gateway.log())) {
                Files.copy(gateway.log(), logs.resolve(gateway.name() + ".log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
        if (rogueLog != null && Files.exists(rogueLog)) {
            Files.copy(rogueLog, logs.resolve("rogue.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    @Order(1)
    void twoReplicasOfOneClusterFormOnePekkoClusterOverTls() throws Exception {
        for (int i = 0; i < 2; i++) {
            assertEquals(Map.of(replicaAddress(0), "Up", replicaAddress(1), "Up"), members(i));
        }
        String log = Files.readString(gateways.get(0).log());
        assertFalse(log.contains("replicas: refused"), "a replica of east was refused:\n" + gateways.get(0).tail(40));
        System.out.println("east-b joined east-a (start of its JVM to Up on both) in " + joinMillis + " ms");
    }

    @Test
    @Order(2)
    void noRogueNodeEverBecomesAMemberAndTheReplicasLogEachRefusal() throws Exception {
        Path rogue = dir.resolve("rogue");
        IssuedCertificate west = pki.ca().issue(ClusterId.of("west"), Duration.ofDays(1));
        KeyFiles westFiles = west.writeTo(rogue.resolve("west"));
        TestPki otherCa = new TestPki(dir.resolve("other-ca"));
        otherCa.issue("east", rogue.resolve("otherca"));
        Path selfSigned = selfSignedEast(rogue.resolve("selfsigned"));
        List<String> nodes = List.of(
                node("west", 0, "tls", westFiles.certificate(), westFiles.privateKey()),
                node("selfsigned", 1, "tls", selfSigned.resolve("east.crt"), selfSigned.resolve("east.key")),
                node("otherca", 2, "tls", rogue.resolve("otherca/east.crt"), rogue.resolve("otherca/east.key")),
                node("revoked", 3, "tls", rogue.resolve("revoked/east.crt"), rogue.resolve("revoked/east.key")),
                "nocert:" + roguePort(4) + ":tls",
                "plaintcp:" + roguePort(5) + ":tcp");
        rogueLog = dir.resolve("rogue.log");
        rogueProcesses.add(startRogue(nodes, rogueLog));

        // For the whole attack, each replica's members are exactly the two replicas, and all are Up.
        Map<String, String> expected = Map.of(replicaAddress(0), "Up", replicaAddress(1), "Up");
        long deadline = System.nanoTime() + ATTACK.toNanos();
        int polls = 0;
        while (System.nanoTime() < deadline) {
            for (int i = 0; i < 2; i++) {
                assertEquals(expected, members(i), "replica " + i + "'s members during the attack (poll " + polls + ")");
            }
            polls++;
            Thread.sleep(250);
        }
        assertTrue(rogueProcesses.getFirst().isAlive(), "the rogue JVM died:\n" + Files.readString(rogueLog));

        // The rogues' own view: each started, tried, and never saw a member, not even itself Up.
        List<String> lines = Files.readAllLines(rogueLog).stream().filter(l -> l.startsWith("ROGUE ")).toList();
        for (String name : ROGUES) {
            assertTrue(lines.stream().anyMatch(l -> l.startsWith("ROGUE " + name + " started")), name + " did not start:\n" + lines);
            List<String> views = lines.stream().filter(l -> l.startsWith("ROGUE " + name + " self=")).toList();
            assertFalse(views.isEmpty(), name + " printed no view");
            for (String view : views) {
                assertTrue(view.endsWith("members=[]"), name + " saw members: " + view);
                assertFalse(view.contains("self=Up") || view.contains("self=WeaklyUp"), name + " was up: " + view);
            }
        }

        // The replicas said why, each rogue by what distinguishes it (written from how the test made it).
        String logs = Files.readString(gateways.get(0).log()) + Files.readString(gateways.get(1).log());
        List<String> refusals = logs.lines().filter(l -> l.contains("replicas: refused")).toList();
        assertRefused(refusals, "west", "[unexpected-cluster]", "names cluster west");
        assertRefused(refusals, "self-signed east", "[untrusted-issuer]", "issued by 'CN=rogue self-signed east'");
        assertRefused(refusals, "east of another CA", "[untrusted-issuer]",
                "issued by '" + otherCa.ca().certificate().getSubjectX500Principal().getName() + "'");
        assertRefused(refusals, "revoked east", "[revoked]", "serial 0x" + revokedSerial.toString(16));
        assertRefused(refusals, "east without a certificate", "[handshake]", "Empty client certificate chain");
        assertRefused(refusals, "plain TCP", "[handshake]", "plaintext connection?");

        String metrics = AdminClient.anonymous(adminUrl(0)).get("metrics").body()
                + AdminClient.anonymous(adminUrl(1)).get("metrics").body();
        for (String rule : List.of("unexpected-cluster", "untrusted-issuer", "revoked", "handshake")) {
            assertTrue(metrics.contains("isthmus_replicas_tls_rejected_total{rule=\"" + rule + "\"}"),
                    "no refusal counted for rule " + rule);
        }
    }

    @Test
    @Order(3)
    void theSameHarnessWithAValidCertificateOfTheClusterJoins() throws Exception {
        KeyFiles east = pki.ca().issue(ClusterId.of("east"), Duration.ofDays(1)).writeTo(dir.resolve("rogue/control"));
        Path log = dir.resolve("control.log");
        Process control = startRogue(List.of(node("control", 6, "tls", east.certificate(), east.privateKey())), log);
        rogueProcesses.add(control);
        String address = "pekko://isthmus@127.0.0.1:" + roguePort(6);
        awaitUp(0, Set.of(replicaAddress(0), replicaAddress(1), address));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.readString(log).contains("ROGUE control self=Up") && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertTrue(Files.readString(log).contains("ROGUE control self=Up"), Files.readString(log));
        stop(control);
    }

    // -----------------------------------------------------------------------------------------------------------

    private static void assertRefused(List<String> refusals, String who, String rule, String detail) {
        assertTrue(refusals.stream().anyMatch(l -> l.contains(rule) && l.contains(detail)),
                "no refusal of the " + who + " rogue (" + rule + ", '" + detail + "') among:\n" + String.join("\n", refusals));
    }

    private String node(String name, int i, String transport, Path certificate, Path key) {
        return name + ":" + roguePort(i) + ":" + transport + ":" + certificate + ":" + key;
    }

    private Process startRogue(List<String> nodes, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--sun-misc-unsafe-memory-access=allow", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), RogueReplica.class.getName(),
                "pekko://isthmus@127.0.0.1:" + replicaPort(0) + ",pekko://isthmus@127.0.0.1:" + replicaPort(1)));
        command.addAll(nodes);
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    private static void stop(Process process) {
        try {
            process.getOutputStream().close(); // stdin EOF: the rogue terminates its systems and exits
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        }
    }

    /** An east gateway certificate (CN, URI SAN, both usages) signed with its own key, not by any CA. */
    private static Path selfSignedEast(Path out) throws Exception {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair keys = generator.generateKeyPair();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=rogue self-signed east");
        var builder = new JcaX509v3CertificateBuilder(subject, BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))), subject, keys.getPublic());
        builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        builder.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                new GeneralName(GeneralName.uniformResourceIdentifier, "isthmus://cluster/east")));
        X509Certificate certificate = new JcaX509CertificateConverter().getCertificate(
                builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
        Files.createDirectories(out);
        Files.writeString(out.resolve("east.crt"), pem("CERTIFICATE", certificate.getEncoded()));
        Files.writeString(out.resolve("east.key"), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
        return out;
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private int admin(int i) {
        return base + 10 * i;
    }

    private int replicaPort(int i) {
        return base + 10 * i + 3;
    }

    private int roguePort(int i) {
        return base + 20 + i;
    }

    private String replicaAddress(int i) {
        return "pekko://isthmus@127.0.0.1:" + replicaPort(i);
    }

    private String adminUrl(int i) {
        return "http://127.0.0.1:" + admin(i);
    }

    private Map<String, String> members(int i) throws Exception {
        Map<String, String> members = new TreeMap<>();
        JsonNode status = JSON.readTree(AdminClient.anonymous(adminUrl(i)).get("api/v1/status").body());
        for (JsonNode replica : status.path("replicas")) {
            members.put(replica.path("address").asText(), replica.path("status").asText());
        }
        return members;
    }

    private void awaitUp(int i, Set<String> addresses) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        Set<String> up = new TreeSet<>();
        while (System.nanoTime() < deadline) {
            up.clear();
            members(i).forEach((address, status) -> {
                if (status.equals("Up")) {
                    up.add(address);
                }
            });
            if (up.equals(addresses)) {
                return;
            }
            Thread.sleep(200);
        }
        assertEquals(new TreeSet<>(addresses), up, "members Up on replica " + i);
    }
}
