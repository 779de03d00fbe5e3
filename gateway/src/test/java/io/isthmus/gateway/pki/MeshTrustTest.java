package io.isthmus.gateway.pki;

import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import io.isthmus.gateway.pki.Fixtures.Spec;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.isthmus.gateway.pki.Fixtures.DAY;
import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.NORTH;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static io.isthmus.gateway.pki.Fixtures.craft;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trust rules and the CRL swap, checked on the trust manager directly (the TLS tests use it in handshakes). */
class MeshTrustTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private MeshTrust trust;
    private final List<CertificateRejectedException> rejections = new CopyOnWriteArrayList<>();
    private final KeyPair keys = ClustersetCa.newKeyPair();

    @BeforeEach
    void ca() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        trust = MeshTrust.of(ca.certificate(), ca.currentCrl().crl(), rejections::add);
    }

    private CertificateRejectedException rejectedAsClient(X509Certificate... chain) {
        return assertThrows(CertificateRejectedException.class,
                () -> trust.trustManager().checkClientTrusted(chain, "EC"));
    }

    @Test
    void updateCrlAcceptsANewerCrlOfOurCa() {
        X509Certificate west = ca.issue(WEST, DAY).certificate();
        SignedCrl newer = ca.revoke(WEST);

        trust.updateCrl(newer.crl());

        assertEquals(BigInteger.TWO, trust.crlNumber());
        assertEquals(Rule.REVOKED, rejectedAsClient(west).rule());
    }

    @Test
    void updateCrlRefusesACrlSignedByAnotherCa() {
        ClustersetCa other = ClustersetCa.init(tmp.resolve("other"));
        other.issue(WEST, DAY);
        SignedCrl foreign = other.revoke(WEST);

        var e = assertThrows(PkiException.class, () -> trust.updateCrl(foreign));
        assertEquals("CRL issued by '" + other.certificate().getSubjectX500Principal().getName()
                + "' rejected: not this clusterset's CA '" + ca.certificate().getSubjectX500Principal().getName() + "'",
                e.getMessage());
        assertEquals(BigInteger.ONE, trust.crlNumber(), "the current CRL stays");
    }

    @Test
    void updateCrlRefusesACrlThatIsNotNewerThanTheCurrentOne() {
        ca.issue(WEST, DAY);
        ca.issue(NORTH, DAY);
        SignedCrl second = ca.revoke(WEST);
        SignedCrl third = ca.revoke(NORTH);
        trust.updateCrl(third);

        var older = assertThrows(PkiException.class, () -> trust.updateCrl(second));
        assertTrue(older.getMessage().startsWith("CRL number 2 of CN=isthmus clusterset CA "), older.getMessage());
        assertTrue(older.getMessage().endsWith(" is not newer than the current CRL number 3; keeping the current CRL"),
                older.getMessage());
        var same = assertThrows(PkiException.class, () -> trust.updateCrl(third));
        assertTrue(same.getMessage().contains("CRL number 3 of"), same.getMessage());
        assertEquals(third.crl(), trust.crl());
    }

    @Test
    void theTrustAnchorMustBeACaAndTheInitialCrlOurs() {
        X509Certificate gateway = ca.issue(EAST, DAY).certificate();
        var notCa = assertThrows(PkiException.class, () -> MeshTrust.of(gateway, ca.currentCrl().crl()));
        assertTrue(notCa.getMessage().startsWith("certificate CN=east is not a CA certificate"), notCa.getMessage());

        ClustersetCa other = ClustersetCa.init(tmp.resolve("other"));
        var foreignCrl = assertThrows(PkiException.class, () -> MeshTrust.of(ca.certificate(), other.currentCrl().crl()));
        assertTrue(foreignCrl.getMessage().contains("not this clusterset's CA"), foreignCrl.getMessage());
    }

    @Test
    void aCertificateForgedInOurCasNameIsRejected() throws Exception {
        KeyPair forger = ClustersetCa.newKeyPair();
        X509Certificate forged = craft(Spec.gateway(WEST), keys, ca.certificate(), forger.getPrivate());

        var e = rejectedAsClient(forged);
        assertEquals(Rule.UNTRUSTED_ISSUER, e.rule());
        assertTrue(e.reason().startsWith("names issuer '" + ca.certificate().getSubjectX500Principal().getName()
                + "' but its signature does not verify with that CA's key"), e.reason());
    }

    @Test
    void theCaCertificateItselfIsNotAGatewayCertificate() {
        var e = rejectedAsClient(ca.certificate());
        assertEquals(Rule.NOT_END_ENTITY, e.rule());
    }

    @Test
    void aCertificateOfOurCaWithoutTheClusterIdentityIsRejected() throws Exception {
        X509Certificate anonymous = craft(Spec.gateway(WEST).withSans(new GeneralName(GeneralName.dNSName, "west.example")),
                keys, ca);

        var e = assertThrows(CertificateRejectedException.class,
                () -> trust.trustManager().checkServerTrusted(new X509Certificate[] {anonymous}, "EC"));
        assertEquals(Rule.IDENTITY, e.rule());
        assertEquals("has no 'isthmus://cluster/<cluster-id>' URI subject alternative name", e.reason());
    }

    @Test
    void noCertificateAtAllIsRejected() {
        var e = rejectedAsClient();
        assertEquals(Rule.NO_CERTIFICATE, e.rule());
        assertEquals("certificate (none) rejected [no-certificate]: the peer presented no certificate", e.getMessage());
    }

    @Test
    void everyRejectionReachesTheHookWithItsRuleLabel() throws Exception {
        rejectedAsClient();
        rejectedAsClient(ca.certificate());

        assertEquals(List.of("no-certificate", "not-end-entity"),
                rejections.stream().map(e -> e.rule().label()).toList());
    }

    @Test
    void theServerAsksForCertificatesOfOurCa() {
        assertEquals(List.of(ca.certificate()), List.of(trust.trustManager().getAcceptedIssuers()));
    }
}
