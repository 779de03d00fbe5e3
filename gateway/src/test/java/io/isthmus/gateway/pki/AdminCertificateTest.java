package io.isthmus.gateway.pki;

import static io.isthmus.gateway.pki.Fixtures.DAY;
import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static io.isthmus.gateway.pki.Fixtures.uri;
import static io.isthmus.gateway.pki.Tls.rejection;
import static io.isthmus.gateway.pki.Tls.tryConnect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import io.isthmus.gateway.pki.Fixtures.Spec;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * Admin API client certificates and gateway peering certificates come from the same CA but can never stand in for
 * each other: each side's check, and a real peering handshake, refuse the other kind.
 */
class AdminCertificateTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private MeshTrust trust;
    private KeyMaterial eastKeys;

    @BeforeEach
    void ca() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        KeyFiles east = Fixtures.issue(ca, EAST, tmp);
        eastKeys = KeyMaterial.load(east);
        trust = MeshTrust.load(east);
    }

    private X509Certificate admin(String user, String role) {
        return ca.issueAdmin(new AdminIdentity(user, role), DAY).certificate();
    }

    @Test
    void anIssuedAdminCertificateNamesItsUserAndRoleAndHasOnlyTheClientAuthUsage() throws Exception {
        IssuedAdminCertificate issued = ca.issueAdmin(new AdminIdentity("alice@example.com", "operator"), DAY);
        assertEquals(new AdminIdentity("alice@example.com", "operator"), trust.checkAdmin(issued.certificate()));
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), issued.certificate().getExtendedKeyUsage());
        assertEquals("CN=alice@example.com,O=isthmus admin", issued.certificate().getSubjectX500Principal().getName());

        IssuedAdminCertificate.Files files = issued.writeTo(tmp.resolve("alice"));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(files.privateKey())));
        assertEquals(Files.readString(tmp.resolve("ca").resolve("ca.crt")), Files.readString(files.caCertificate()));

        assertEquals(List.of(EAST), ca.issued().stream().map(IssuedEntry::cluster).toList(),
                "the gateways' listing holds gateways only");
        assertEquals(List.of("alice@example.com"), ca.issuedAdmins().stream().map(e -> e.identity().user()).toList());
    }

    @Test
    void aGatewaysPeeringCertificateIsNotAnAdminCertificate() throws Exception {
        var e = assertThrows(CertificateRejectedException.class, () -> trust.checkAdmin(eastKeys.certificate()));
        assertEquals(Rule.EXTENDED_KEY_USAGE, e.rule());
        assertTrue(e.reason().contains("serverAuth"), e.reason());

        // Even with the admin URI added and clientAuth only, a cluster URI marks it as a gateway's.
        var keys = ClustersetCa.newKeyPair();
        X509Certificate both = Fixtures.craft(Spec.gateway(EAST).withCommonName("east")
                .withSans(uri("isthmus-admin:admin:east"), uri(PeerIdentity.uriFor(EAST)))
                .withExtendedKeyUsages(KeyPurposeId.id_kp_clientAuth), keys, ca);
        var mixed = assertThrows(CertificateRejectedException.class, () -> trust.checkAdmin(both));
        assertEquals(Rule.IDENTITY, mixed.rule());
        assertTrue(mixed.reason().startsWith("is a gateway's peering certificate ([isthmus://cluster/east])"), mixed.reason());
    }

    @Test
    void anAdminCertificateIsNotAPeeringCertificate() throws Exception {
        X509Certificate alice = admin("alice", "admin");
        var e = assertThrows(CertificateRejectedException.class,
                () -> trust.check(new X509Certificate[] {alice}, List.of(MeshProtocol.CLIENT_AUTH, MeshProtocol.SERVER_AUTH)));
        assertEquals(Rule.EXTENDED_KEY_USAGE, e.rule());
        // and were the usages all there, it names no cluster
        var identity = assertThrows(CertificateRejectedException.class, () -> PeerIdentity.of(alice));
        assertEquals(Rule.IDENTITY, identity.rule());
        // a user called like a cluster is still no cluster
        assertThrows(CertificateRejectedException.class, () -> PeerIdentity.of(admin("west", "admin")));
    }

    @Test
    void anAdminCertificateCannotPeerOverRealTls() throws Exception {
        IssuedAdminCertificate.Files alice = ca.issueAdmin(new AdminIdentity("alice", "admin"), DAY)
                .writeTo(tmp.resolve("alice"));
        List<CertificateRejectedException> rejections = new java.util.concurrent.CopyOnWriteArrayList<>();
        MeshTrust reporting = MeshTrust.of(trust.caCertificate(), trust.crl(), rejections::add);
        try (Tls.Server peering = new Tls.Server(reporting.serverContext(eastKeys))) {
            tryConnect(AdminTrust.clientContext(alice.caCertificate(), Optional.empty(), Optional.of(alice.certificate()),
                    Optional.of(alice.privateKey())), peering.port());
            var e = rejection(peering.next().requireFailure());
            assertEquals(Rule.EXTENDED_KEY_USAGE, e.rule());
            assertTrue(e.subject().startsWith("'CN=alice,O=isthmus admin'"), e.subject());
        }
        assertEquals(1, rejections.size());
    }

    @Test
    void revokingAUserRevokesEveryCertificateOfThatUserAndNothingElse() throws Exception {
        X509Certificate bobOld = admin("bob", "viewer");
        X509Certificate bobNew = admin("bob", "admin");
        X509Certificate carol = admin("carol", "admin");
        SignedCrl crl = ca.revokeAdmin("bob");
        assertEquals(java.math.BigInteger.TWO, crl.number());
        trust.updateCrl(crl);
        for (X509Certificate bob : List.of(bobOld, bobNew)) {
            var e = assertThrows(CertificateRejectedException.class, () -> trust.checkAdmin(bob));
            assertEquals(Rule.REVOKED, e.rule());
        }
        assertEquals(new AdminIdentity("carol", "admin"), trust.checkAdmin(carol));
        assertFalse(trust.isRevoked(eastKeys.certificate()), "no gateway is touched");
        assertEquals(List.of("bob revoked=true", "bob revoked=true", "carol revoked=false"), ca.issuedAdmins().stream()
                .map(e -> e.identity().user() + " revoked=" + e.revoked()).sorted().toList());

        var never = assertThrows(PkiException.class, () -> ca.revokeAdmin("dave"));
        assertTrue(never.getMessage().contains("never issued an admin certificate"), never.getMessage());
        assertThrows(PkiException.class, () -> ca.revoke(io.isthmus.api.ClusterId.of("bob")),
                "a cluster named like a user has no certificates of that user");
    }

    @Test
    void certificatesBreakingOneAdminRuleAreRefused() throws Exception {
        var keys = ClustersetCa.newKeyPair();
        Spec admin = new Spec("alice", new org.bouncycastle.asn1.x509.GeneralName[] {uri("isthmus-admin:operator:alice")},
                new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}, false);
        assertEquals(new AdminIdentity("alice", "operator"), trust.checkAdmin(Fixtures.craft(admin, keys, ca)),
                "the hand-made baseline passes");

        record Case(String name, Spec spec, Rule rule, String reason) {
        }
        for (Case c : List.of(
                new Case("both usages", admin.withExtendedKeyUsages(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth),
                        Rule.EXTENDED_KEY_USAGE, "has the serverAuth"),
                new Case("server only", admin.withExtendedKeyUsages(KeyPurposeId.id_kp_serverAuth),
                        Rule.EXTENDED_KEY_USAGE, "needs the clientAuth"),
                new Case("no admin URI", admin.withSans(uri("https://example.com/alice")), Rule.IDENTITY, "has no 'isthmus-admin:"),
                new Case("two admin URIs", admin.withSans(uri("isthmus-admin:operator:alice"), uri("isthmus-admin:admin:alice")),
                        Rule.IDENTITY, "has 2 admin URI"),
                new Case("no role", admin.withSans(uri("isthmus-admin:alice")), Rule.IDENTITY, "is not of the form"),
                new Case("bad user", admin.withSans(uri("isthmus-admin:admin:al!ce")), Rule.IDENTITY, "is not of the form"),
                new Case("CN of another", admin.withCommonName("mallory"), Rule.IDENTITY, "exactly one CN, the user 'alice'"),
                new Case("a CA", admin.asCa(), Rule.NOT_END_ENTITY, "is a CA certificate"))) {
            var e = assertThrows(CertificateRejectedException.class,
                    () -> trust.checkAdmin(Fixtures.craft(c.spec(), keys, ca)), c.name());
            assertEquals(c.rule(), e.rule(), c.name() + ": " + e.getMessage());
            assertTrue(e.reason().contains(c.reason()), c.name() + ": " + e.reason());
        }

        ClustersetCa other = ClustersetCa.init(tmp.resolve("other-ca"));
        var foreign = assertThrows(CertificateRejectedException.class,
                () -> trust.checkAdmin(other.issueAdmin(new AdminIdentity("alice", "admin"), DAY).certificate()));
        assertEquals(Rule.UNTRUSTED_ISSUER, foreign.rule());
    }

    @Test
    void badNamesAreRefusedNamingTheField() {
        var user = assertThrows(InvalidFieldException.class, () -> new AdminIdentity("al:ice", "admin"));
        assertEquals("--user", user.field());
        assertEquals("al:ice", user.value());
        var role = assertThrows(InvalidFieldException.class, () -> new AdminIdentity("alice", "Root:1"));
        assertEquals("--role", role.field());
    }

    @Test
    void refreshingTheCrlKeepsEveryRevocationAndMovesNextUpdate() throws Exception {
        admin("bob", "viewer");
        SignedCrl revoked = ca.revokeAdmin("bob");
        SignedCrl refreshed = ca.refreshCrl();
        assertEquals(revoked.number().add(java.math.BigInteger.ONE), refreshed.number());
        assertEquals(revoked.revokedSerials(), refreshed.revokedSerials());
        assertFalse(refreshed.crl().getNextUpdate().before(revoked.crl().getNextUpdate()));
        assertTrue(refreshed.crl().getNextUpdate().toInstant().isAfter(java.time.Instant.now().plus(java.time.Duration.ofDays(6))));
        trust.updateCrl(refreshed);
        assertEquals(refreshed.number(), trust.crlNumber());
    }
}
