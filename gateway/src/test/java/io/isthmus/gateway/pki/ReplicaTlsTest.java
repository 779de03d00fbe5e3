package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.Fixtures.Spec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The replica rule, on real TLS 1.3 engines driven in memory: an east replica's engines accept only east certificates
 * of the clusterset CA that are valid and unrevoked, and cut an open connection once its peer is revoked or expired.
 * The other side of each handshake is an attacker's engine (presents what it is given, trusts anything), so every
 * refusal seen is east's own. The expected outcome of each case is written from how its certificate was made.
 */
class ReplicaTlsTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private X509CRL initialCrl;
    private final SettableClock clock = new SettableClock(Instant.now());
    private final List<ReplicaTls.Refusal> refusals = new CopyOnWriteArrayList<>();

    @BeforeEach
    void clusterset() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        initialCrl = ca.currentCrl().crl();
    }

    private ReplicaTls east(KeyMaterial keys) {
        return ReplicaTls.of(MeshTrust.of(ca.certificate(), initialCrl, clock, rejected -> { }), keys, refusals::add);
    }

    private KeyMaterial issued(ClusterId cluster, String dir) {
        return KeyMaterial.load(ca.issue(cluster, Fixtures.DAY).writeTo(tmp.resolve(dir)));
    }

    @Test
    void thePeerMustNameTheSameClusterAndNothingElse() throws Exception {
        // Oracle: a certificate passes iff the cluster in its URI SAN and CN is the one expected.
        record Case(ClusterId named, ClusterId expected, boolean passes) {
        }
        List<Case> cases = List.of(new Case(EAST, EAST, true), new Case(WEST, EAST, false),
                new Case(EAST, WEST, false), new Case(ClusterId.of("east-2"), EAST, false),
                new Case(ClusterId.of("eas"), EAST, false));
        for (Case c : cases) {
            X509Certificate certificate = Fixtures.craft(Spec.gateway(c.named()), ClustersetCa.newKeyPair(), ca);
            if (c.passes()) {
                ReplicaTls.requireCluster(c.expected(), certificate);
            } else {
                var e = assertThrows(CertificateRejectedException.class,
                        () -> ReplicaTls.requireCluster(c.expected(), certificate), c.toString());
                assertEquals(CertificateRejectedException.Rule.UNEXPECTED_CLUSTER, e.rule(), c.toString());
                assertTrue(e.reason().contains("names cluster " + c.named().value()), e.reason());
            }
        }
    }

    @Test
    void twoEastReplicasConnectAndThePekkoSessionCheckPassesBothWays() throws Exception {
        ReplicaTls a = east(issued(EAST, "a"));
        ReplicaTls b = east(issued(EAST, "b"));
        Pair pair = Pair.handshake(a.createClientSSLEngine("127.0.0.1", 1), b.createServerSSLEngine("127.0.0.1", 2));
        assertNull(pair.clientFailure);
        assertNull(pair.serverFailure);
        assertTrue(a.verifyClientSession("127.0.0.1", pair.client.getSession()).isEmpty());
        assertTrue(b.verifyServerSession("127.0.0.1", pair.server.getSession()).isEmpty());
        pair.roundTrip();
        assertEquals(List.of(), refusals);
    }

    @Test
    void anEastReplicaRefusesEveryOtherCertificateItself() throws Exception {
        KeyMaterial revoked = issued(EAST, "revoked");
        SignedCrl afterRevocation = ca.revoke(EAST); // revokes "revoked"; the server's certificate is issued after
        ReplicaTls eastServer = east(issued(EAST, "server"));
        eastServer.trust().updateCrl(afterRevocation.crl());
        KeyPair keys = ClustersetCa.newKeyPair();
        ClustersetCa otherCa = ClustersetCa.init(tmp.resolve("other-ca"));
        KeyMaterial west = issued(WEST, "west");
        KeyMaterial ofOtherCa = KeyMaterial.load(otherCa.issue(EAST, Fixtures.DAY).writeTo(tmp.resolve("other")));
        record Case(String what, X509Certificate certificate, PrivateKey key, String rule) {
        }
        List<Case> cases = List.of(
                new Case("west of our CA", west.certificate(), keyOf(west), "unexpected-cluster"),
                new Case("east of another CA", ofOtherCa.certificate(), keyOf(ofOtherCa), "untrusted-issuer"),
                // issuer DN = its own subject DN, signed with its own key
                new Case("east signed by itself", Fixtures.craft(Spec.gateway(EAST), keys,
                        Fixtures.craft(Spec.gateway(EAST), keys, ca), keys.getPrivate()), keys.getPrivate(), "untrusted-issuer"),
                new Case("east with CN west", Fixtures.craft(Spec.gateway(EAST).withCommonName("west"), keys, ca),
                        keys.getPrivate(), "identity"),
                new Case("revoked east", revoked.certificate(), keyOf(revoked), "revoked"));
        for (Case c : cases) {
            refusals.clear();
            Pair pair = Pair.handshake(Attacker.presenting(c.certificate(), c.key()).createSSLEngine("127.0.0.1", 7073),
                    eastServer.createServerSSLEngine("127.0.0.1", 7073));
            assertTrue(pair.serverFailure != null, c.what() + ": east accepted it");
            assertEquals(c.rule(), refusals.getFirst().rule(), c.what() + ": " + refusals);
        }
        refusals.clear();
        Pair none = Pair.handshake(Attacker.presenting(null, null).createSSLEngine("127.0.0.1", 7073),
                eastServer.createServerSSLEngine("127.0.0.1", 7073));
        assertTrue(none.serverFailure != null, "east accepted a client without a certificate");
        assertEquals(ReplicaTls.HANDSHAKE, refusals.getFirst().rule(), refusals.toString());
    }

    private static PrivateKey keyOf(KeyMaterial keys) {
        return keys.keyManager().getPrivateKey(keys.keyManager().chooseEngineServerAlias(
                keys.certificate().getPublicKey().getAlgorithm(), null, null));
    }

    @Test
    void anEastReplicaDiallingAWestServerRefusesIt() throws Exception {
        ReplicaTls eastClient = east(issued(EAST, "client"));
        KeyMaterial west = issued(WEST, "west");
        SSLEngine westServer = Attacker.presenting(west.certificate(), keyOf(west)).createSSLEngine();
        westServer.setUseClientMode(false);
        Pair pair = Pair.handshake(eastClient.createClientSSLEngine("127.0.0.1", 7073), westServer);
        assertTrue(pair.clientFailure != null, "east talked to west");
        assertEquals("unexpected-cluster", refusals.getFirst().rule(), refusals.toString());
    }

    @Test
    void anOpenConnectionIsCutOnItsNextRecordOnceThePeerIsRevoked() throws Exception {
        KeyMaterial leaked = issued(EAST, "leaked");
        SignedCrl revocation = ca.revoke(EAST); // revokes "leaked" only: the server's certificate comes after
        ReplicaTls server = east(issued(EAST, "server"));
        Pair pair = Pair.handshake(Attacker.presenting(leaked.certificate(), keyOf(leaked)).createSSLEngine("127.0.0.1", 7073),
                server.createServerSSLEngine("127.0.0.1", 7073));
        assertNull(pair.serverFailure);
        pair.roundTrip();

        server.trust().updateCrl(revocation.crl());
        SSLException cut = assertThrows(SSLException.class, pair::roundTrip);
        assertEquals(CertificateRejectedException.Rule.REVOKED, Tls.rejection(cut).rule());
        assertEquals("revoked", refusals.getFirst().rule(), refusals.toString());
    }

    @Test
    void anOpenConnectionIsCutOnceThePeerCertificateExpires() throws Exception {
        ReplicaTls a = east(issued(EAST, "a"));
        ReplicaTls b = east(issued(EAST, "b"));
        Pair pair = Pair.handshake(a.createClientSSLEngine("127.0.0.1", 1), b.createServerSSLEngine("127.0.0.1", 2));
        pair.roundTrip();
        clock.set(clock.instant().plus(Fixtures.DAY).plus(Duration.ofMinutes(1)));
        SSLException cut = assertThrows(SSLException.class, pair::roundTrip);
        assertEquals(CertificateRejectedException.Rule.EXPIRED, Tls.rejection(cut).rule());
    }

    // -----------------------------------------------------------------------------------------------------------

    /** The attacker's TLS: presents its certificate (or nothing) whatever is asked, trusts any certificate. */
    private static final class Attacker {
        static SSLContext presenting(X509Certificate certificate, PrivateKey key) throws Exception {
            SSLContext context = SSLContext.getInstance("TLSv1.3");
            context.init(certificate == null ? null : new KeyManager[] {new Always(certificate, key)},
                    new TrustManager[] {new TrustAll()}, new SecureRandom());
            return context;
        }
    }

    private static final class Always extends X509ExtendedKeyManager {
        private final X509Certificate certificate;
        private final PrivateKey key;

        Always(X509Certificate certificate, PrivateKey key) {
            this.certificate = certificate;
            this.key = key;
        }

        @Override public String[] getClientAliases(String t, Principal[] i) {
            return new String[] {"a"};
        }
        @Override public String chooseClientAlias(String[] t, Principal[] i, Socket s) {
            return "a";
        }
        @Override public String chooseEngineClientAlias(String[] t, Principal[] i, SSLEngine e) {
            return "a";
        }
        @Override public String[] getServerAliases(String t, Principal[] i) {
            return new String[] {"a"};
        }
        @Override public String chooseServerAlias(String t, Principal[] i, Socket s) {
            return "a";
        }
        @Override public String chooseEngineServerAlias(String t, Principal[] i, SSLEngine e) {
            return "a";
        }
        @Override public X509Certificate[] getCertificateChain(String alias) {
            return new X509Certificate[] {certificate};
        }
        @Override public PrivateKey getPrivateKey(String alias) {
            return key;
        }
    }

    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
        @Override public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** Two engines wired back to back in memory. */
    private static final class Pair {
        final SSLEngine client;
        final SSLEngine server;
        final ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        final ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        Exception clientFailure;
        Exception serverFailure;

        private Pair(SSLEngine client, SSLEngine server) {
            this.client = client;
            this.server = server;
        }

        static Pair handshake(SSLEngine client, SSLEngine server) throws Exception {
            client.setUseClientMode(true);
            Pair pair = new Pair(client, server);
            client.beginHandshake();
            server.beginHandshake();
            for (int round = 0; round < 50 && (pair.handshaking(client) || pair.handshaking(server)); round++) {
                if (pair.clientFailure == null) {
                    pair.clientFailure = pair.step(client, pair.toServer, pair.toClient);
                }
                if (pair.serverFailure == null) {
                    pair.serverFailure = pair.step(server, pair.toClient, pair.toServer);
                }
                if (pair.clientFailure != null || pair.serverFailure != null) {
                    // let the alert travel once, then stop
                    if (pair.clientFailure == null) {
                        pair.clientFailure = pair.step(client, pair.toServer, pair.toClient);
                    }
                    if (pair.serverFailure == null) {
                        pair.serverFailure = pair.step(server, pair.toClient, pair.toServer);
                    }
                    break;
                }
            }
            return pair;
        }

        private boolean handshaking(SSLEngine engine) {
            HandshakeStatus status = engine.getHandshakeStatus();
            return status != HandshakeStatus.NOT_HANDSHAKING && status != HandshakeStatus.FINISHED;
        }

        /** One wrap and one unwrap; returns the failure, if any. */
        private Exception step(SSLEngine engine, ByteBuffer out, ByteBuffer in) {
            try {
                ByteBuffer app = ByteBuffer.allocate(1 << 17);
                engine.wrap(ByteBuffer.allocate(0), out);
                runTasks(engine);
                in.flip();
                engine.unwrap(in, app);
                in.compact();
                runTasks(engine);
                engine.wrap(ByteBuffer.allocate(0), out);
                runTasks(engine);
                return null;
            } catch (SSLException | RuntimeException e) {
                return e;
            }
        }

        private static void runTasks(SSLEngine engine) {
            for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
                task.run();
            }
        }

        /** Client sends a record, the server answers one; both must arrive intact. */
        void roundTrip() throws SSLException {
            send(client, server, toServer, "ping");
            send(server, client, toClient, "pong");
        }

        private static void send(SSLEngine from, SSLEngine to, ByteBuffer wire, String text) throws SSLException {
            from.wrap(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), wire);
            wire.flip();
            ByteBuffer app = ByteBuffer.allocate(1 << 17);
            while (wire.hasRemaining()) {
                if (to.unwrap(wire, app).bytesConsumed() == 0) {
                    break;
                }
            }
            wire.compact();
            app.flip();
            String received = StandardCharsets.UTF_8.decode(app).toString();
            if (!received.equals(text)) {
                throw new AssertionError("sent '" + text + "', received '" + received + "'");
            }
        }
    }

    private static final class SettableClock extends Clock {
        private volatile Instant now;

        SettableClock(Instant now) {
            this.now = now;
        }

        void set(Instant instant) {
            now = instant;
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
