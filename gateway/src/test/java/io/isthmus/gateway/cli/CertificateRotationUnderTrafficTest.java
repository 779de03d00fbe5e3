package io.isthmus.gateway.cli;

import com.typesafe.config.ConfigFactory;
import io.isthmus.api.ServiceKey;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.peering.LinkState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Both clusters' certificates are rotated (issued again into their tls dirs) while one exports continuously: the
 * open links stay up (no redial), every export arrives, and the next handshake presents the new certificate.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CertificateRotationUnderTrafficTest {
    private final List<Gateway> gateways = new ArrayList<>();
    private TestPki pki;
    private Path dir;
    private int base;

    @BeforeAll
    void start(@TempDir Path tempDir) {
        dir = tempDir;
        base = FreePorts.block(20);
        pki = new TestPki(dir.resolve("ca"));
        List<String> clusters = List.of("east", "west");
        for (int i = 0; i < 2; i++) {
            Path data = dir.resolve(clusters.get(i));
            pki.issue(clusters.get(i), data.resolve("tls"));
            gateways.add(Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                    isthmus {
                      cluster-id = %s
                      data-dir = "%s"
                      admin.port = %d
                      admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                      peering { port = %d, peers = ["127.0.0.1:%d"], reconnect-max-backoff = 1s }
                      dns.port = %d
                      replicas.port = %d
                    }
                    """.formatted(clusters.get(i), data.toString().replace("\\", "/"), base + 10 * i,
                    base + 10 * i + 1, base + 10 * (1 - i) + 1, base + 10 * i + 2, base + 10 * i + 3)), dir)));
        }
    }

    @AfterAll
    void stop() {
        gateways.forEach(Gateway::close);
    }

    private long linkAttempts(Gateway gateway) {
        return gateway.metricsText().lines().filter(l -> l.startsWith("isthmus_peering_link_attempts_total{"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private boolean allLinksUp() {
        return gateways.stream().allMatch(g -> g.mesh() != null && g.mesh().links().values().stream()
                .filter(l -> l.state() == LinkState.UP).count() == 2);
    }

    @Test
    void rotatingBothCertificatesUnderTrafficKeepsTheLinksAndLosesNoExport() throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!allLinksUp() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(allLinksUp(), "links up before the rotation");
        long attemptsBefore = linkAttempts(gateways.get(0)) + linkAttempts(gateways.get(1));
        String admin = "http://127.0.0.1:" + base;

        int exports = 60;
        for (int i = 0; i < exports; i++) {
            Cli export = Cli.run("export", "--admin", admin, "--namespace", "rot", "--name", "svc-" + i,
                    "--port", "80/TCP", "--ip", "10.96.7." + (i + 1));
            assertEquals(0, export.exitCode(), export.toString());
            if (i == 20) {
                pki.issue("east", dir.resolve("east").resolve("tls"));
                pki.issue("west", dir.resolve("west").resolve("tls"));
            }
            Thread.sleep(50); // about 3 s of changes: the reload (every 2 s) happens in the middle of them
        }
        Gateway west = gateways.get(1);
        long until = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < until && west.mesh().directory().find(new ServiceKey("rot", "svc-" + (exports - 1))).isEmpty()) {
            Thread.sleep(100);
        }
        for (int i = 0; i < exports; i++) {
            assertTrue(west.mesh().directory().find(new ServiceKey("rot", "svc-" + i)).isPresent(), "svc-" + i + " arrived");
        }
        assertTrue(allLinksUp(), "links still up after the rotation");
        assertEquals(attemptsBefore, linkAttempts(gateways.get(0)) + linkAttempts(gateways.get(1)),
                "no link was dialled again: the rotation did not drop a peering");
        // A new handshake with east gets the rotated certificate.
        var presented = new java.util.concurrent.atomic.AtomicReference<java.security.cert.X509Certificate>();
        try (var socket = (javax.net.ssl.SSLSocket) west.tls().clientContext(presented::set).getSocketFactory()
                .createSocket("127.0.0.1", base + 1)) {
            socket.setSoTimeout(5000);
            socket.startHandshake();
        }
        var rotated = io.isthmus.gateway.pki.KeyMaterial.load(io.isthmus.gateway.pki.KeyFiles.in(
                dir.resolve("east").resolve("tls"), io.isthmus.api.ClusterId.of("east"))).serial();
        assertEquals(rotated, presented.get().getSerialNumber());
    }
}
