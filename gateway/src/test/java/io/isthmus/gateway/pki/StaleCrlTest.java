package io.isthmus.gateway.pki;

import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static io.isthmus.gateway.pki.Tls.connect;
import static io.isthmus.gateway.pki.Tls.rejection;
import static io.isthmus.gateway.pki.Tls.tryConnect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

/** peering.revocation.stale-crl: a CRL past its nextUpdate is used with a warning, or refuses new peering. */
class StaleCrlTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private KeyMaterial eastKeys;
    private KeyMaterial westKeys;
    private MeshTrust loaded;
    /** Eight days on: the CRL (valid 7 days) is stale, the certificates (30 days) still good. */
    private Clock later;

    @BeforeEach
    void mesh() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        eastKeys = KeyMaterial.load(ca.issue(EAST, Duration.ofDays(30)).writeTo(tmp.resolve("east")));
        westKeys = KeyMaterial.load(ca.issue(WEST, Duration.ofDays(30)).writeTo(tmp.resolve("west")));
        loaded = MeshTrust.load(KeyFiles.in(tmp.resolve("east"), EAST));
        later = Clock.fixed(Instant.now().plus(Duration.ofDays(8)), ZoneOffset.UTC);
    }

    private MeshTrust at(Clock clock, StaleCrl policy) {
        return MeshTrust.of(loaded.caCertificate(), loaded.crl(), clock, rejected -> { }).withStaleCrl(policy);
    }

    private static final List<String> PEERING = List.of(MeshProtocol.CLIENT_AUTH, MeshProtocol.SERVER_AUTH);

    @Test
    void warnKeepsPeeringOnAStaleCrlAndSaysItIsStale() throws Exception {
        MeshTrust warn = at(later, StaleCrl.WARN);
        assertTrue(warn.crlStale());
        assertEquals(WEST, warn.check(new X509Certificate[] {westKeys.certificate()}, PEERING));
        assertEquals(StaleCrl.WARN, MeshTrust.load(KeyFiles.in(tmp.resolve("east"), EAST)).staleCrl(), "the default");
    }

    @Test
    void refuseFailsEveryNewPeerCheckNamingTheNextUpdate() {
        MeshTrust refuse = at(later, StaleCrl.REFUSE);
        Instant nextUpdate = loaded.crl().getNextUpdate().toInstant();
        var e = assertThrows(CertificateRejectedException.class,
                () -> refuse.check(new X509Certificate[] {westKeys.certificate()}, PEERING));
        assertEquals(Rule.CRL_STALE, e.rule());
        assertTrue(e.reason().contains("nextUpdate " + nextUpdate), e.reason());
        assertTrue(e.reason().contains("stale-crl = refuse"), e.reason());
    }

    @Test
    void refuseWithAFreshCrlPeersAsUsual() throws Exception {
        MeshTrust refuse = at(Clock.systemUTC(), StaleCrl.REFUSE);
        assertFalse(refuse.crlStale());
        assertEquals(WEST, refuse.check(new X509Certificate[] {westKeys.certificate()}, PEERING));
    }

    @Test
    void aNewerCrlEndsTheRefusal() throws Exception {
        // The clock runs 8 days ahead of the CA's: the first CRL is stale, one the CA signs "then" is not.
        MeshTrust refuse = at(later, StaleCrl.REFUSE);
        assertThrows(CertificateRejectedException.class,
                () -> refuse.check(new X509Certificate[] {westKeys.certificate()}, PEERING));
        SignedCrl fresh = ClustersetCa.load(tmp.resolve("ca"), later).refreshCrl();
        refuse.updateCrl(fresh);
        assertFalse(refuse.crlStale());
        assertEquals(WEST, refuse.check(new X509Certificate[] {westKeys.certificate()}, PEERING));
    }

    @Test
    void aRefusingServerRefusesTheHandshakeAndAWarningOneTakesIt() throws Exception {
        MeshTrust west = MeshTrust.load(KeyFiles.in(tmp.resolve("west"), WEST));
        try (Tls.Server server = new Tls.Server(at(later, StaleCrl.REFUSE).serverContext(eastKeys))) {
            tryConnect(west.clientContext(westKeys), server.port());
            assertEquals(Rule.CRL_STALE, rejection(server.next().requireFailure()).rule());
        }
        try (Tls.Server server = new Tls.Server(at(later, StaleCrl.WARN).serverContext(eastKeys));
             Tls.Client client = connect(west.clientContext(westKeys), server.port())) {
            client.echo("hello");
            assertEquals(WEST, server.next().requireSuccess().peer());
        }
    }

    @Test
    void adminCertificatesAndViewsForOtherUsesAreNotRefusedForAStaleCrl() throws Exception {
        MeshTrust refuse = at(later, StaleCrl.REFUSE);
        X509Certificate alice = ClustersetCa.load(tmp.resolve("ca")).issueAdmin(new AdminIdentity("alice", "admin"),
                Duration.ofDays(30)).certificate();
        assertEquals(new AdminIdentity("alice", "admin"), refuse.checkAdmin(alice),
                "an admin must still be able to give the gateway a fresh CRL");
        assertEquals(WEST, refuse.withStaleCrl(StaleCrl.WARN).check(new X509Certificate[] {westKeys.certificate()}, PEERING),
                "the replicas' view (WARN) shares the CRL but not the refusal");
        assertEquals(StaleCrl.REFUSE, refuse.reportingTo(r -> { }).staleCrl());
    }

    @Test
    void aBadSettingIsRefusedNamingTheFieldAndValue() {
        var e = assertThrows(InvalidFieldException.class, () -> StaleCrl.parse("isthmus.peering.revocation.stale-crl", "ignore"));
        assertEquals("isthmus.peering.revocation.stale-crl", e.field());
        assertEquals("ignore", e.value());
        assertTrue(e.getMessage().contains("warn or refuse"), e.getMessage());
    }
}
