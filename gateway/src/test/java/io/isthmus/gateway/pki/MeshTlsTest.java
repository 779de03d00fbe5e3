package io.isthmus.gateway.pki;

import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import io.isthmus.gateway.pki.Fixtures.Spec;
import io.isthmus.gateway.pki.Tls.Client;
import io.isthmus.gateway.pki.Tls.Server;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.isthmus.gateway.pki.Fixtures.DAY;
import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.NORTH;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static io.isthmus.gateway.pki.Tls.connect;
import static io.isthmus.gateway.pki.Tls.rejection;
import static io.isthmus.gateway.pki.Tls.tryConnect;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real TLS 1.3 handshakes over loopback between gateways holding certificates of the clusterset CA. */
class MeshTlsTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private KeyMaterial eastKeys;
    private KeyMaterial westKeys;
    private MeshTrust eastTrust;
    private MeshTrust westTrust;
    private final List<CertificateRejectedException> eastRejections = new CopyOnWriteArrayList<>();

    @BeforeEach
    void mesh() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        KeyFiles east = Fixtures.issue(ca, EAST, tmp);
        KeyFiles west = Fixtures.issue(ca, WEST, tmp);
        eastKeys = KeyMaterial.load(east);
        westKeys = KeyMaterial.load(west);
        MeshTrust loaded = MeshTrust.load(east);
        eastTrust = MeshTrust.of(loaded.caCertificate(), loaded.crl(), eastRejections::add);
        westTrust = MeshTrust.load(west);
    }

    private Server eastServer() throws IOException {
        return new Server(eastTrust.serverContext(eastKeys));
    }

    /** Connects as a client holding {@code keys} and returns the reason the east server refused it. */
    private CertificateRejectedException refusedByEast(KeyMaterial keys) throws Exception {
        try (Server server = eastServer()) {
            tryConnect(westTrust.clientContext(keys), server.port());
            return rejection(server.next().requireFailure());
        }
    }

    @Test
    void twoClustersHandshakeAndEachSeesTheOthersClusterId() throws Exception {
        try (Server server = eastServer(); Client client = connect(westTrust.clientContext(westKeys), server.port())) {
            assertEquals("echo hello", client.echo("hello"));
            assertEquals(WEST, server.next().requireSuccess().peer());
            assertEquals(EAST, client.serverCluster());
            assertEquals(EAST, westTrust.verifyPeer(client.socket().getSession(), EAST));
            assertEquals("TLSv1.3", client.socket().getSession().getProtocol());
        }
        assertEquals(List.of(), eastRejections);
    }

    @Test
    void aPeerPresentingAnotherClustersCertificateFailsTheExpectedClusterCheck() throws Exception {
        try (Server server = eastServer(); Client client = connect(westTrust.clientContext(westKeys), server.port())) {
            client.echo("hello");
            var e = assertThrows(CertificateRejectedException.class,
                    () -> westTrust.verifyPeer(client.socket().getSession(), NORTH));
            assertEquals(Rule.UNEXPECTED_CLUSTER, e.rule());
            assertEquals("names cluster east but the peer claims to be cluster north", e.reason());
            assertTrue(e.getMessage().startsWith("certificate 'CN=east' (serial 0x"), e.getMessage());
        }
    }

    @Test
    void aCertificateFromAnotherCaIsRejectedAndTheMessageNamesItsIssuer() throws Exception {
        ClustersetCa other = ClustersetCa.init(tmp.resolve("other-ca"));
        KeyFiles rogueFiles = Fixtures.issue(other, WEST, tmp.resolve("rogue"));
        KeyMaterial rogue = KeyMaterial.load(rogueFiles);
        String otherName = other.certificate().getSubjectX500Principal().getName();
        String ourName = ca.certificate().getSubjectX500Principal().getName();

        // the east server refuses the rogue client
        var e = refusedByEast(rogue);
        assertEquals(Rule.UNTRUSTED_ISSUER, e.rule());
        assertEquals("issued by '" + otherName + "', not by this clusterset's CA '" + ourName + "'", e.reason());
        assertTrue(e.subject().startsWith("'CN=west'"), e.subject());
        assertEquals(List.of(e), eastRejections, "the rejection hook saw it (log line, metric)");

        // and a client of the other clusterset refuses our east server
        try (Server server = eastServer()) {
            var failure = assertThrows(SSLHandshakeException.class,
                    () -> connect(MeshTrust.load(rogueFiles).clientContext(rogue), server.port()));
            var clientSide = rejection(failure);
            assertEquals(Rule.UNTRUSTED_ISSUER, clientSide.rule());
            assertEquals("issued by '" + ourName + "', not by this clusterset's CA '" + otherName + "'", clientSide.reason());
        }
    }

    @Test
    void anExpiredCertificateIsRejected() throws Exception {
        ClustersetCa twoDaysAgo = ClustersetCa.load(ca.directory(), Clock.offset(Clock.systemUTC(), Duration.ofDays(-2)));
        KeyMaterial expired = KeyMaterial.load(Fixtures.issue(twoDaysAgo, WEST, tmp.resolve("expired")));

        var e = refusedByEast(expired);
        assertEquals(Rule.EXPIRED, e.rule());
        assertTrue(e.reason().startsWith("expired at " + expired.notAfter() + " (now "), e.reason());
        assertTrue(e.getMessage().startsWith("certificate 'CN=west' (serial 0x" + expired.serial().toString(16) + ") rejected [expired]"),
                e.getMessage());
    }

    @Test
    void aNotYetValidCertificateIsRejected() throws Exception {
        ClustersetCa tomorrow = ClustersetCa.load(ca.directory(), Clock.offset(Clock.systemUTC(), Duration.ofDays(1)));
        KeyMaterial early = KeyMaterial.load(Fixtures.issue(tomorrow, WEST, tmp.resolve("early")));

        var e = refusedByEast(early);
        assertEquals(Rule.NOT_YET_VALID, e.rule());
        assertTrue(e.reason().startsWith("not valid before " + early.certificate().getNotBefore().toInstant()), e.reason());
    }

    @Test
    void aRevokedClusterIsRejectedOnItsNextHandshakeAfterUpdateCrl() throws Exception {
        KeyMaterial northKeys = KeyMaterial.load(Fixtures.issue(ca, NORTH, tmp));
        try (Server server = eastServer(); Client before = connect(westTrust.clientContext(westKeys), server.port())) {
            before.echo("hello");
            server.next().requireSuccess();

            SignedCrl crl = ca.revoke(WEST);
            eastTrust.updateCrl(crl.crl());
            assertEquals(BigInteger.TWO, eastTrust.crlNumber());
            assertTrue(eastTrust.isRevoked(westKeys.certificate()), "the caller can find open links to close");
            assertFalse(eastTrust.isRevoked(northKeys.certificate()));

            // same client context as before: a resumed session would skip the check, so this also shows there is none
            tryConnect(westTrust.clientContext(westKeys), server.port());
            var e = rejection(server.next().requireFailure());
            assertEquals(Rule.REVOKED, e.rule());
            assertTrue(e.reason().matches("revoked at .* \\(CRL number 2\\)"), e.reason());
            assertTrue(e.subject().startsWith("'CN=west'"), e.subject());

            try (Client north = connect(westTrust.clientContext(northKeys), server.port())) {
                north.echo("hello");
                assertEquals(NORTH, server.next().requireSuccess().peer(), "other clusters are not affected");
            }
        }
    }

    @Test
    void everyConnectionIsAFullHandshakeEvenFromTheSameContext() throws Exception {
        SSLContext client = westTrust.clientContext(westKeys);
        try (Server server = eastServer()) {
            for (int i = 0; i < 3; i++) {
                try (Client c = connect(client, server.port())) {
                    c.echo("hello " + i);
                    server.next().requireSuccess();
                }
            }
            // a revocation now must bite on the very next connection from the same context
            eastTrust.updateCrl(ca.revoke(WEST));
            tryConnect(client, server.port());
            assertEquals(Rule.REVOKED, rejection(server.next().requireFailure()).rule());
        }
    }

    @Test
    void aCertificateWithoutTheGatewayExtendedKeyUsageIsRejected() throws Exception {
        KeyPair keys = ClustersetCa.newKeyPair();
        var cert = Fixtures.craft(Spec.gateway(WEST).withExtendedKeyUsages(KeyPurposeId.id_kp_serverAuth), keys, ca);
        KeyMaterial serverOnly = Fixtures.keyMaterial(tmp.resolve("eku"), "west", cert, keys.getPrivate());

        var e = refusedByEast(serverOnly);
        assertEquals(Rule.EXTENDED_KEY_USAGE, e.rule());
        assertEquals("extendedKeyUsage [" + MeshProtocol.SERVER_AUTH + "] lacks clientAuth (" + MeshProtocol.CLIENT_AUTH + ")",
                e.reason());
    }

    @Test
    void rotationPresentsTheNewSerialOnTheNextHandshakeWhileOpenConnectionsKeepWorking() throws Exception {
        SSLContext westClient = westTrust.clientContext(westKeys);
        try (Server server = eastServer(); Client opened = connect(westClient, server.port())) {
            opened.echo("before");
            BigInteger oldWest = server.next().requireSuccess().peerSerial();
            BigInteger oldEast = opened.serverSerial();
            assertEquals(westKeys.serial(), oldWest);

            // rotate both sides: new files in the same place, reloaded; the contexts stay
            IssuedCertificate newWest = ca.issue(WEST, DAY);
            newWest.writeTo(tmp.resolve("west"));
            IssuedCertificate newEast = ca.issue(EAST, DAY);
            newEast.writeTo(tmp.resolve("east"));
            assertTrue(westKeys.reloadIfChanged());
            assertTrue(eastKeys.reloadIfChanged());
            assertFalse(westKeys.reloadIfChanged(), "nothing changed since");

            try (Client next = connect(westClient, server.port())) {
                next.echo("after");
                assertEquals(newWest.serial(), server.next().requireSuccess().peerSerial());
                assertEquals(newEast.serial(), next.serverSerial());
            }
            assertEquals("echo still here", opened.echo("still here"), "the connection opened before keeps working");
            assertEquals(oldEast, opened.serverSerial());
        }
    }

    @Test
    void theServerRequiresAClientCertificate() throws Exception {
        SSLContext anonymous = SSLContext.getInstance("TLSv1.3");
        anonymous.init(new KeyManager[0], new TrustManager[] {westTrust.trustManager()}, null);
        try (Server server = eastServer()) {
            tryConnect(anonymous, server.port());
            assertTrue(server.next().requireFailure() instanceof SSLHandshakeException);
        }
    }

    @Test
    void tls12IsRefused() throws Exception {
        SSLContext legacy = SSLContext.getInstance("TLSv1.2");
        legacy.init(new KeyManager[] {westKeys.keyManager()}, new TrustManager[] {westTrust.trustManager()}, null);
        try (Server server = eastServer()) {
            assertThrows(SSLHandshakeException.class, () -> {
                try (var socket = (SSLSocket) legacy.getSocketFactory().createSocket("127.0.0.1", server.port())) {
                    socket.setEnabledProtocols(new String[] {"TLSv1.2"});
                    socket.startHandshake();
                }
            });
            assertTrue(server.next().requireFailure() instanceof SSLHandshakeException);
        }
    }

    @Test
    void theContextsComeConfiguredForTheMesh() throws Exception {
        SSLContext server = eastTrust.serverContext(eastKeys);
        SSLContext client = eastTrust.clientContext(eastKeys);
        assertEquals("TLSv1.3", server.getProtocol());
        assertArrayEquals(new String[] {"TLSv1.3"}, server.getDefaultSSLParameters().getProtocols());
        assertTrue(server.getDefaultSSLParameters().getNeedClientAuth());

        SSLEngine serverEngine = server.createSSLEngine();
        assertFalse(serverEngine.getUseClientMode());
        assertTrue(serverEngine.getNeedClientAuth());
        assertArrayEquals(new String[] {"TLSv1.3"}, serverEngine.getEnabledProtocols());
        SSLEngine clientEngine = client.createSSLEngine("east.clusterset.isthmus", 443);
        assertTrue(clientEngine.getUseClientMode());
        assertArrayEquals(new String[] {"TLSv1.3"}, clientEngine.getEnabledProtocols());
        assertEquals(null, clientEngine.getSSLParameters().getEndpointIdentificationAlgorithm());
        try (Server s = new Server(server)) {
            assertTrue(s.socket().getNeedClientAuth());
            assertArrayEquals(new String[] {"TLSv1.3"}, s.socket().getEnabledProtocols());
        }
        assertThrows(java.security.KeyManagementException.class, () -> server.init(null, null, null));
    }
}
