package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import io.isthmus.testing.SettableClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Joining through a real join service over HTTPS: what a token grants once, and every way it is refused. */
class JoinTest {
    private static final ClusterId EAST = ClusterId.of("east");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    @TempDir
    Path root;

    private final SettableClock clock = new SettableClock(Instant.now());
    private ClustersetCa ca;
    private JoinTokens tokens;
    private JoinService service;
    private final List<JoinService.Outcome> outcomes = new ArrayList<>();

    @BeforeEach
    void serve() {
        ca = ClustersetCa.init(root.resolve("ca"));
        tokens = new JoinTokens(ca, clock);
        service = JoinService.start(new InetSocketAddress("127.0.0.1", 0),
                ca.joinServiceIdentity(List.of("127.0.0.1"), Duration.ofMinutes(10)), tokens, outcomes::add);
    }

    @AfterEach
    void stop() {
        service.close();
    }

    private URI url() {
        return URI.create("https://127.0.0.1:" + service.address().getPort());
    }

    private JoinToken token(ClusterId cluster, List<String> peers) {
        return tokens.create(cluster, Duration.ofHours(1), Duration.ofDays(30), url(), peers);
    }

    @Test
    void aTokenGivesTheClusterItsCertificateOverAKeyMadeOnTheJoiningSide() throws Exception {
        JoinToken token = token(EAST, List.of("10.0.0.5:7071", "[fd00::7]:7071"));
        Path tls = root.resolve("east-tls");

        JoinClient.Joined joined = JoinClient.join(JoinToken.parse("token", token.text()), tls, false, TIMEOUT);

        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        X509Certificate certificate;
        X509Certificate caCertificate;
        try (var in = Files.newInputStream(tls.resolve("east.crt")); var caIn = Files.newInputStream(tls.resolve("ca.crt"))) {
            certificate = (X509Certificate) x509.generateCertificate(in);
            caCertificate = (X509Certificate) x509.generateCertificate(caIn);
        }
        assertEquals(ca.certificate(), caCertificate, "ca.crt is the clusterset CA");
        certificate.verify(caCertificate.getPublicKey());
        assertEquals("CN=east", certificate.getSubjectX500Principal().getName());
        assertTrue(certificate.getSubjectAlternativeNames().stream().anyMatch(san -> san.get(1).equals("isthmus://cluster/east")),
                "a peering identity for east: " + certificate.getSubjectAlternativeNames());
        assertEquals(Duration.ofDays(30).plusMinutes(1).toSeconds(),
                Duration.between(certificate.getNotBefore().toInstant(), certificate.getNotAfter().toInstant()).toSeconds(),
                "the validity the token was made with (from one minute back)");

        // the key in east.key is the private half of the certificate: a signature by it verifies with the certificate
        String keyPem = Files.readString(tls.resolve("east.key"));
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(
                keyPem.replaceAll("-----[A-Z ]+-----", ""))));
        Signature signer = Signature.getInstance("SHA256withECDSA");
        signer.initSign(key);
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance("SHA256withECDSA");
        verifier.initVerify(certificate);
        verifier.update(new byte[] {1, 2, 3});
        assertTrue(verifier.verify(signature));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("east.key"))));
        assertTrue(Files.exists(tls.resolve("ca.crl")));
        assertEquals(List.of("10.0.0.5:7071", "[fd00::7]:7071"), Files.readAllLines(tls.resolve("peers.joined")));
        assertEquals(certificate.getSerialNumber(), joined.certificate().getSerialNumber());

        // the CA side holds no private key but its own, and records the issue like any other
        try (Stream<Path> files = Files.walk(root.resolve("ca"))) {
            List<Path> withKeys = files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().equals("ca.key"))
                    .filter(f -> read(f).contains("PRIVATE KEY")).toList();
            assertTrue(withKeys.isEmpty(), "private keys at the CA: " + withKeys);
        }
        assertTrue(ca.issued().stream().anyMatch(e -> e.cluster().equals(EAST) && e.serial().equals(certificate.getSerialNumber())));
        assertEquals(1, outcomes.stream().filter(JoinService.Outcome::joined).count());
    }

    @Test
    void aTokenJoinsOnlyOnce() {
        JoinToken token = token(EAST, List.of());
        JoinClient.join(token, root.resolve("first"), false, TIMEOUT);

        JoinRefusedException refused = assertThrows(JoinRefusedException.class,
                () -> JoinClient.join(token, root.resolve("second"), false, TIMEOUT));
        assertTrue(refused.getMessage().contains("already used"), refused.getMessage());
        assertFalse(Files.exists(root.resolve("second").resolve("east.crt")), "nothing written on a refusal");
    }

    @Test
    void anExpiredTokenIsRefusedAndSaysWhatToDo() {
        JoinToken token = token(EAST, List.of());
        clock.set(clock.instant().plus(Duration.ofHours(1)));

        JoinRefusedException refused = assertThrows(JoinRefusedException.class,
                () -> JoinClient.join(token, root.resolve("tls"), false, TIMEOUT));
        assertTrue(refused.getMessage().contains("expired") && refused.getMessage().contains("join-token"), refused.getMessage());
    }

    @Test
    void aChangedSecretIsRefusedAndTheRealTokenStillJoins() {
        JoinToken token = token(EAST, List.of());
        byte[] otherSecret = token.secret();
        otherSecret[0] ^= 1;
        JoinToken forged = new JoinToken(token.service(), token.caSha256(), EAST, token.id(), otherSecret);

        JoinRefusedException refused = assertThrows(JoinRefusedException.class,
                () -> JoinClient.join(forged, root.resolve("forged"), false, TIMEOUT));
        assertTrue(refused.getMessage().contains("proof does not match"), refused.getMessage());
        JoinClient.join(token, root.resolve("real"), false, TIMEOUT);
        assertTrue(Files.exists(root.resolve("real").resolve("east.crt")));
    }

    @Test
    void aTokenForOneClusterCannotJoinAnother() {
        JoinToken east = token(EAST, List.of());
        JoinToken claimingWest = new JoinToken(east.service(), east.caSha256(), ClusterId.of("west"), east.id(), east.secret());

        JoinRefusedException refused = assertThrows(JoinRefusedException.class,
                () -> JoinClient.join(claimingWest, root.resolve("west"), false, TIMEOUT));
        assertTrue(refused.getMessage().contains("is for cluster east, not west"), refused.getMessage());
    }

    @Test
    void aServiceOfAnotherCaIsNotTrustedAndTheTokenIsNotSpent() {
        JoinToken token = token(EAST, List.of());
        ClustersetCa impostor = ClustersetCa.init(root.resolve("impostor"));
        JoinToken pinningTheImpostor = new JoinToken(token.service(), JoinToken.sha256(impostor.certificate()), EAST,
                token.id(), token.secret());

        PkiException untrusted = assertThrows(PkiException.class,
                () -> JoinClient.join(pinningTheImpostor, root.resolve("tls"), false, TIMEOUT));
        assertTrue(untrusted.getMessage().contains("cannot reach the join service"), untrusted.getMessage());
        assertTrue(outcomes.isEmpty(), "the request never reached the service: " + outcomes);
        JoinClient.join(token, root.resolve("tls"), false, TIMEOUT);
    }

    @Test
    void aDirectoryHoldingTheClustersCertificateIsRefusedBeforeTheTokenIsSpent() {
        Path tls = root.resolve("tls");
        ca.issue(EAST, Duration.ofDays(1)).writeTo(tls);
        JoinToken token = token(EAST, List.of());

        PkiException refused = assertThrows(PkiException.class, () -> JoinClient.join(token, tls, false, TIMEOUT));
        assertTrue(refused.getMessage().contains("--force"), refused.getMessage());
        assertTrue(outcomes.isEmpty());
        JoinClient.join(token, tls, true, TIMEOUT);
    }

    @Test
    void aRequestForAnotherSubjectIsRefused() throws Exception {
        JoinToken token = token(EAST, List.of());
        var keys = ClustersetCa.newKeyPair();
        byte[] forWest = new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
                ClustersetCa.name("west"), keys.getPublic())
                .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate()))
                .getEncoded();

        JoinRefusedException refused = assertThrows(JoinRefusedException.class,
                () -> tokens.redeem(new JoinTokens.Request(token.id(), EAST, forWest, token.proof(forWest))));
        assertTrue(refused.getMessage().contains("must be CN=east"), refused.getMessage());
        byte[] garbage = {0x30, 0x03, 0x02, 0x01, 0x01};
        JoinRefusedException malformed = assertThrows(JoinRefusedException.class,
                () -> tokens.redeem(new JoinTokens.Request(token.id(), EAST, garbage, token.proof(garbage))));
        assertTrue(malformed.getMessage().contains("not a valid PKCS#10"), malformed.getMessage());
    }

    @Test
    void aTokenSurvivesItsTextButNotAChangeToIt() {
        JoinToken token = token(EAST, List.of());
        assertEquals(token, JoinToken.parse("token", token.text()));
        assertFalse(token.toString().contains(Base64.getUrlEncoder().withoutPadding().encodeToString(token.secret())));
        var notAToken = assertThrows(IllegalArgumentException.class, () -> JoinToken.parse("TOKEN", "hello"));
        assertTrue(notAToken.getMessage().contains("TOKEN") && notAToken.getMessage().contains("isthmus-join-1."),
                notAToken.getMessage());
        String text = token.text();
        var cut = assertThrows(IllegalArgumentException.class, () -> JoinToken.parse("TOKEN", text.substring(0, text.length() - 9)));
        assertTrue(cut.getMessage().contains("damaged"), cut.getMessage());
        assertArrayEquals(token.secret(), JoinToken.parse("t", text).secret());
    }

    @Test
    void aTokenLivesAtMostSevenDays() {
        PkiException refused = assertThrows(PkiException.class,
                () -> tokens.create(EAST, Duration.ofDays(8), Duration.ofDays(1), url(), List.of()));
        assertTrue(refused.getMessage().contains("--ttl"), refused.getMessage());
    }

    private static String read(Path file) {
        try {
            return new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
