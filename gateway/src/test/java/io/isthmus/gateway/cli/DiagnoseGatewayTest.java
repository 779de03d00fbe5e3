package io.isthmus.gateway.cli;

import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.TestGateways;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code isthmus diagnose} against a real gateway: every gateway check answers from its admin API. Its certificate
 * (from the test CA) is valid for one day, which the certificate check must call a failure, so diagnose exits 1.
 */
class DiagnoseGatewayTest {
    @Test
    void everyGatewayCheckAnswersAndACertificateExpiringTomorrowFails(@TempDir Path dir) {
        new TestPki(dir.resolve("ca")).issue("east", dir.resolve("data").resolve("tls"));
        try (Gateway gateway = TestGateways.start("east", dir, dir.resolve("data"), """
                plan {
                  members = [east]
                  supernets.pod = [{cidr = "10.129.0.0/16", segment-prefix = 24}]
                }
                """)) {
            Cli diagnose = Cli.run("diagnose", "--sysfs-root", dir.toString(), "--sample-seconds", "0",
                    "--admin", "http://127.0.0.1:" + gateway.adminAddress().getPort());
            String out = diagnose.out();
            assertEquals(1, diagnose.exitCode(), diagnose.toString());
            assertTrue(out.contains("clock skew: unknown: the gateway has no peer links"), out);
            assertTrue(out.contains("certificates: FAIL: a certificate expires within 7 days"), out);
            assertTrue(out.contains("  this cluster's certificate: FAIL: expires in 23 h")
                    || out.contains("  this cluster's certificate: FAIL: expires in 24 h"), out);
            assertTrue(out.contains("cidr overlaps: ok: none among 0 segments and registered CIDRs"), out);
            assertTrue(out.contains("mtu: not checked: the gateway runs no tunnel"), out);
            assertTrue(out.contains("links: unknown: no peer link is up and the tunnel has no peers"), out);
        }
    }
}
