package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.isthmus.gateway.Gateway;
import io.isthmus.gateway.config.GatewayConfigLoader;
import io.isthmus.gateway.peering.LinkState;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509v2CRLBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509CRL;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * peering.revocation.stale-crl = refuse, between two real gateways: east holds a CRL of the clusterset CA whose
 * nextUpdate is past, so it refuses every new peering handshake (both ways) and says why; west (warn, the default)
 * would peer. A fresh CRL pushed with `isthmus mesh crl` ends the refusal and the link comes up.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StaleCrlPeeringTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private TestPki pki;
    private final List<Gateway> gateways = new ArrayList<>();
    private int base;
    private Instant staleNextUpdate;

    @BeforeAll
    void start(@TempDir Path tempDir) throws Exception {
        dir = tempDir;
        base = FreePorts.block(20);
        pki = new TestPki(dir.resolve("ca"));
        List<String> clusters = List.of("east", "west");
        for (int i = 0; i < 2; i++) {
            pki.issue(clusters.get(i), dir.resolve(clusters.get(i)).resolve("tls"));
        }
        staleNextUpdate = Instant.now().minus(Duration.ofDays(1)).truncatedTo(ChronoUnit.SECONDS);
        Files.writeString(dir.resolve("east/tls/ca.crl"), staleCrl(staleNextUpdate));
        for (int i = 0; i < 2; i++) {
            Path data = dir.resolve(clusters.get(i));
            gateways.add(Gateway.start(GatewayConfigLoader.fromConfig(ConfigFactory.parseString("""
                    isthmus {
                      cluster-id = %s
                      data-dir = "%s"
                      admin.port = %d
                      admin.auth.enabled = off // not what this test is about: AdminAuthTest is
                      peering { port = %d, peers = ["127.0.0.1:%d"], reconnect-max-backoff = 1s
                                revocation.stale-crl = %s }
                      dns.port = %d
                      replicas.port = %d
                    }
                    """.formatted(clusters.get(i), data.toString().replace("\\", "/"), base + 10 * i,
                    base + 10 * i + 1, base + 10 * (1 - i) + 1, i == 0 ? "refuse" : "warn",
                    base + 10 * i + 2, base + 10 * i + 3)), dir)));
        }
    }

    @AfterAll
    void stop() {
        gateways.forEach(Gateway::close);
    }

    /** CRL number 1 of the clusterset CA, signed with its key, that was due to be replaced at {@code nextUpdate}. */
    private String staleCrl(Instant nextUpdate) throws Exception {
        PrivateKey key;
        try (PEMParser parser = new PEMParser(new StringReader(Files.readString(dir.resolve("ca/ca.key"))))) {
            key = new JcaPEMKeyConverter().getPrivateKey((PrivateKeyInfo) parser.readObject());
        }
        var builder = new JcaX509v2CRLBuilder(pki.ca().certificate(), Date.from(nextUpdate.minus(Duration.ofDays(7))));
        builder.setNextUpdate(Date.from(nextUpdate));
        builder.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.ONE));
        X509CRL crl = new JcaX509CRLConverter().getCRL(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
        StringWriter pem = new StringWriter();
        try (JcaPEMWriter writer = new JcaPEMWriter(pem)) {
            writer.writeObject(crl);
        }
        return pem.toString();
    }

    private JsonNode status(int i) throws Exception {
        return JSON.readTree(AdminClient.anonymous("http://127.0.0.1:" + (base + 10 * i)).get("api/v1/status").body());
    }

    private long upLinks(Gateway gateway) {
        return gateway.mesh() == null ? 0
                : gateway.mesh().links().values().stream().filter(l -> l.state() == LinkState.UP).count();
    }

    private static double crlStaleRejections(Gateway gateway) {
        return gateway.metricsText().lines()
                .filter(l -> l.startsWith("isthmus_peering_tls_rejected_total{rule=\"crl-stale\"}"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    private static void await(BooleanSupplier condition, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertTrue(condition.getAsBoolean(), what);
    }

    @Test
    void aRefusingGatewayPeersWithNoOneUntilItHasAFreshCrl() throws Exception {
        Gateway east = gateways.get(0);
        Gateway west = gateways.get(1);
        // Both directions are tried (east dials west, west dials east) and east refuses each handshake.
        await(() -> crlStaleRejections(east) >= 2, Duration.ofSeconds(30), "east refuses handshakes for its stale CRL");
        Thread.sleep(2_000); // several reconnect attempts (backoff at most 1 s)
        assertEquals(0, upLinks(east), "no link is up on east");
        assertEquals(0, upLinks(west), "no link is up on west");

        JsonNode revocation = status(0).path("revocation");
        assertEquals(staleNextUpdate.toString(), revocation.path("crlNextUpdate").asText(), revocation.toString());
        assertTrue(revocation.path("crlStale").asBoolean(), revocation.toString());
        assertEquals("refuse", revocation.path("staleCrl").asText(), revocation.toString());
        assertTrue(revocation.path("refusingNewPeers").asBoolean(), revocation.toString());
        assertTrue(revocation.path("detail").asText().contains("nextUpdate " + staleNextUpdate), revocation.toString());
        JsonNode westRevocation = status(1).path("revocation");
        assertEquals("warn", westRevocation.path("staleCrl").asText());
        assertEquals(false, westRevocation.path("refusingNewPeers").asBoolean());

        Cli text = Cli.run("status", "--admin", "http://127.0.0.1:" + base);
        assertEquals(0, text.exitCode(), text::toString);
        assertTrue(text.out().contains("STALE") && text.out().contains("new peering is REFUSED"), text::toString);

        Cli refresh = Cli.run("mesh", "crl", "--ca", dir.resolve("ca").toString(), "--admin", "http://127.0.0.1:" + base);
        assertEquals(0, refresh.exitCode(), refresh::toString);
        assertTrue(refresh.out().contains("signed CRL number 2") && refresh.out().contains(": took it"), refresh::toString);

        await(() -> upLinks(east) == 2 && upLinks(west) == 2, Duration.ofSeconds(30), "links up after the fresh CRL");
        JsonNode after = status(0).path("revocation");
        assertEquals(2, after.path("crlNumber").asLong(), after.toString());
        assertEquals(false, after.path("crlStale").asBoolean(), after.toString());
        assertEquals(false, after.path("refusingNewPeers").asBoolean(), after.toString());
    }
}
