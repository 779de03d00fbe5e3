package io.isthmus.gateway.pki;

import io.isthmus.gateway.pki.CertificateRejectedException.Rule;
import io.isthmus.gateway.pki.Fixtures.Spec;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;

import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static io.isthmus.gateway.pki.Fixtures.craft;
import static io.isthmus.gateway.pki.Fixtures.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeerIdentityTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private final KeyPair keys = ClustersetCa.newKeyPair();

    @BeforeEach
    void ca() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
    }

    private CertificateRejectedException rejected(Spec spec) throws Exception {
        X509Certificate cert = craft(spec, keys, ca);
        var e = assertThrows(CertificateRejectedException.class, () -> PeerIdentity.of(cert));
        assertEquals(Rule.IDENTITY, e.rule());
        assertEquals(MeshProtocol.describe(cert), e.subject());
        return e;
    }

    @Test
    void theUriSanNamesTheCluster() throws Exception {
        assertEquals(EAST, PeerIdentity.of(craft(Spec.gateway(EAST), keys, ca)));
        assertEquals(WEST, PeerIdentity.of(ca.issue(WEST, Fixtures.DAY).certificate()));
    }

    @Test
    void otherUriSansAreIgnored() throws Exception {
        Spec spec = Spec.gateway(EAST).withSans(uri("spiffe://example.org/ns/isthmus/sa/gateway"), uri(PeerIdentity.uriFor(EAST)));
        assertEquals(EAST, PeerIdentity.of(craft(spec, keys, ca)));
    }

    @Test
    void aCertificateWithoutTheUriSanIsRejected() throws Exception {
        var e = rejected(Spec.gateway(EAST).withSans(new GeneralName(GeneralName.dNSName, "east.clusterset.isthmus")));
        assertEquals("has no 'isthmus://cluster/<cluster-id>' URI subject alternative name", e.reason());
        assertEquals("certificate " + e.subject() + " rejected [identity]: " + e.reason(), e.getMessage());
        assertTrue(e.subject().startsWith("'CN=east' (serial 0x"), e.subject());
        rejected(Spec.gateway(EAST).withSans());
    }

    @Test
    void aCertificateNamingTwoClustersIsRejected() throws Exception {
        var e = rejected(Spec.gateway(EAST).withSans(uri(PeerIdentity.uriFor(EAST)), uri(PeerIdentity.uriFor(WEST))));
        assertEquals("has 2 isthmus URI subject alternative names [isthmus://cluster/east, isthmus://cluster/west];"
                + " expected exactly one", e.reason());
    }

    @Test
    void aMalformedIsthmusUriIsRejected() throws Exception {
        assertEquals("URI subject alternative name 'isthmus://node/east' is not of the form 'isthmus://cluster/<cluster-id>'",
                rejected(Spec.gateway(EAST).withSans(uri("isthmus://node/east"))).reason());
        var e = rejected(Spec.gateway(EAST).withCommonName("East_1").withSans(uri("isthmus://cluster/East_1")));
        assertEquals("URI subject alternative name 'isthmus://cluster/East_1' does not end in a cluster id: "
                + "invalid cluster-id 'East_1': must be a DNS label: lower-case a-z, 0-9 and '-', starting and ending"
                + " with a letter or digit, at most 63 characters", e.reason());
    }

    @Test
    void aCommonNameThatDisagreesWithTheUriSanIsRejected() throws Exception {
        var e = rejected(Spec.gateway(EAST).withCommonName("west"));
        assertEquals("subject CN 'west' disagrees with URI subject alternative name 'isthmus://cluster/east'", e.reason());
    }
}
