package io.isthmus.gateway.pki;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;

import static io.isthmus.gateway.pki.Fixtures.DAY;
import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.NORTH;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClustersetCaTest {
    @TempDir
    Path tmp;

    private static String mode(Path file) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }

    @Test
    void initCreatesASelfSignedP256CaWithAnEmptyCrlNumberOneAndAnOwnerOnlyKey() throws Exception {
        Path dir = tmp.resolve("ca");
        ClustersetCa ca = ClustersetCa.init(dir);

        X509Certificate cert = ca.certificate();
        assertTrue(cert.getSubjectX500Principal().getName().matches("CN=isthmus clusterset CA [0-9a-f]{16}"),
                cert.getSubjectX500Principal().getName());
        assertEquals(cert.getSubjectX500Principal(), cert.getIssuerX500Principal());
        cert.verify(cert.getPublicKey());
        assertEquals("EC", cert.getPublicKey().getAlgorithm());
        assertEquals("SHA256withECDSA", cert.getSigAlgName());
        assertEquals(0, cert.getBasicConstraints(), "CA:true, pathLen 0");
        boolean[] usage = cert.getKeyUsage();
        assertTrue(usage[5] && usage[6], "keyCertSign and cRLSign");
        assertFalse(usage[0], "no digitalSignature");
        Duration lifetime = Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
        assertTrue(lifetime.toDays() >= 3650, "ten years: " + lifetime);

        SignedCrl crl = ca.currentCrl();
        assertEquals(BigInteger.ONE, crl.number());
        assertEquals(Set.of(), crl.revokedSerials());
        crl.crl().verify(cert.getPublicKey());

        assertEquals("rw-------", mode(dir.resolve("ca.key")));
        assertEquals("rwx------", mode(dir));
        assertTrue(Files.readString(dir.resolve("ca.key")).startsWith("-----BEGIN PRIVATE KEY-----\n"), "PKCS#8 PEM");
        assertTrue(Files.readString(dir.resolve("ca.crt")).startsWith("-----BEGIN CERTIFICATE-----\n"));
        assertTrue(Files.readString(dir.resolve("ca.crl")).startsWith("-----BEGIN X509 CRL-----\n"));
    }

    @Test
    void initRefusesToOverwriteAnExistingCa() {
        Path dir = tmp.resolve("ca");
        ClustersetCa first = ClustersetCa.init(dir);

        var e = assertThrows(PkiException.class, () -> ClustersetCa.init(dir));
        assertTrue(e.getMessage().contains("refusing to create a clusterset CA in " + dir), e.getMessage());
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals(first.certificate(), ClustersetCa.load(dir).certificate(), "the first CA is untouched");
    }

    @Test
    void initRefusesADirectoryHoldingOnlyPartOfACa() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("ca"));
        Files.writeString(dir.resolve("ca.key"), "left over");

        var e = assertThrows(PkiException.class, () -> ClustersetCa.init(dir));
        assertTrue(e.getMessage().contains(dir.resolve("ca.key") + " already exists"), e.getMessage());
    }

    @Test
    void loadReadsTheSameCaBackAndCanIssueWithIt() {
        Path dir = tmp.resolve("ca");
        ClustersetCa created = ClustersetCa.init(dir);

        ClustersetCa loaded = ClustersetCa.load(dir);
        assertEquals(created.certificate(), loaded.certificate());
        loaded.issue(EAST, DAY).certificate().getSerialNumber();
        assertEquals(1, created.issued().size(), "both see the same index");
    }

    @Test
    void loadNamesWhatIsMissingOrWrong() throws Exception {
        var missing = assertThrows(PkiException.class, () -> ClustersetCa.load(tmp.resolve("nowhere")));
        assertTrue(missing.getMessage().contains("no clusterset CA in " + tmp.resolve("nowhere")), missing.getMessage());

        Path dir = tmp.resolve("ca");
        ClustersetCa.init(dir);
        Files.setPosixFilePermissions(dir.resolve("ca.key"), PosixFilePermissions.fromString("rw-r--r--"));
        var open = assertThrows(PkiException.class, () -> ClustersetCa.load(dir));
        assertTrue(open.getMessage().contains("CA private key " + dir.resolve("ca.key") + " has mode rw-r--r--"),
                open.getMessage());

        Files.setPosixFilePermissions(dir.resolve("ca.key"), PosixFilePermissions.fromString("rw-------"));
        Path other = tmp.resolve("other");
        ClustersetCa.init(other);
        Files.copy(other.resolve("ca.key"), dir.resolve("ca.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        var mismatch = assertThrows(PkiException.class, () -> ClustersetCa.load(dir));
        assertTrue(mismatch.getMessage().contains("does not belong to CA certificate"), mismatch.getMessage());
    }

    @Test
    void issuedCertificateCarriesTheClusterIdentityAndGatewayUsages() throws Exception {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));
        Instant before = Instant.now();

        IssuedCertificate issued = ca.issue(EAST, Duration.ofDays(30));

        X509Certificate cert = issued.certificate();
        cert.verify(ca.certificate().getPublicKey());
        assertEquals("CN=east", cert.getSubjectX500Principal().getName());
        assertEquals(ca.certificate().getSubjectX500Principal(), cert.getIssuerX500Principal());
        assertEquals(List.of(List.of(2, "east.clusterset.isthmus"), List.of(6, "isthmus://cluster/east")),
                List.copyOf(cert.getSubjectAlternativeNames()));
        assertEquals(List.of(MeshProtocol.SERVER_AUTH, MeshProtocol.CLIENT_AUTH), cert.getExtendedKeyUsage());
        assertArrayEquals(new boolean[] {true, false, false, false, false, false, false, false, false}, cert.getKeyUsage());
        assertEquals(-1, cert.getBasicConstraints(), "not a CA");
        assertEquals(1, cert.getSerialNumber().signum());
        assertTrue(cert.getSerialNumber().bitLength() <= 128 && cert.getSerialNumber().bitLength() > 64);
        assertNotEquals(cert.getSerialNumber(), ca.issue(EAST, DAY).serial(), "serials are random");
        Instant notBefore = cert.getNotBefore().toInstant();
        assertTrue(!notBefore.isAfter(before.minusSeconds(59)) && notBefore.isAfter(before.minusSeconds(62)),
                "notBefore is one minute ago: " + notBefore);
        assertEquals(Duration.ofDays(30).plusMinutes(1),
                Duration.between(notBefore, cert.getNotAfter().toInstant()));
        assertEquals(EAST, PeerIdentity.of(cert));
        assertTrue(issued.privateKeyPem().startsWith("-----BEGIN PRIVATE KEY-----\n"));
        assertFalse(issued.toString().contains("PRIVATE KEY"), "toString never shows the key");
        assertTrue(Files.exists(ca.directory().resolve("issued").resolve(cert.getSerialNumber().toString(16) + ".crt")),
                "indexed for revocation");
    }

    @Test
    void issueRejectsAValidityThatIsNotPositiveOrOutlivesTheCa() {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));

        for (Duration bad : new Duration[] {Duration.ZERO, Duration.ofHours(-1)}) {
            var e = assertThrows(PkiException.class, () -> ca.issue(EAST, bad));
            assertEquals("invalid validity '" + bad + "' for the certificate of cluster east: must be a positive duration",
                    e.getMessage());
        }
        var tooLong = assertThrows(PkiException.class, () -> ca.issue(EAST, Duration.ofDays(4000)));
        assertTrue(tooLong.getMessage().contains("after the CA certificate itself expires"), tooLong.getMessage());
        assertEquals(List.of(), ca.issued(), "nothing was issued");
    }

    @Test
    void writeToLaysOutTheGatewayFilesWithAnOwnerOnlyKey() throws Exception {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));
        Path dir = tmp.resolve("gateway-east");

        KeyFiles files = ca.issue(EAST, DAY).writeTo(dir);

        assertEquals(KeyFiles.in(dir, EAST), files);
        assertEquals(dir.resolve("east.crt"), files.certificate());
        assertEquals(dir.resolve("east.key"), files.privateKey());
        assertEquals("rw-------", mode(files.privateKey()));
        assertEquals("rw-r--r--", mode(files.certificate()));
        assertEquals(Files.readString(ca.directory().resolve("ca.crt")), Files.readString(files.caCertificate()));
        assertEquals(Files.readString(ca.directory().resolve("ca.crl")), Files.readString(files.crl()));
        assertEquals(EAST, KeyMaterial.load(files).cluster());

        // a rotation replaces the files in place and the key stays owner-only
        ca.issue(EAST, DAY).writeTo(dir);
        assertEquals("rw-------", mode(files.privateKey()));
        try (var listing = Files.list(dir)) {
            assertEquals(Set.of("east.crt", "east.key", "ca.crt", "ca.crl"),
                    Set.copyOf(listing.map(p -> p.getFileName().toString()).toList()), "no temporary files left");
        }
    }

    @Test
    void revokeListsEveryCertificateOfTheClusterInANewerCrlAndKeepsEarlierRevocations() throws Exception {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));
        BigInteger east1 = ca.issue(EAST, DAY).serial();
        BigInteger east2 = ca.issue(EAST, DAY).serial();
        BigInteger west = ca.issue(WEST, DAY).serial();
        BigInteger north = ca.issue(NORTH, DAY).serial();

        SignedCrl first = ca.revoke(EAST);
        assertEquals(BigInteger.TWO, first.number());
        assertEquals(Set.of(east1, east2), first.revokedSerials());
        first.crl().verify(ca.certificate().getPublicKey());
        Duration nextUpdate = Duration.between(first.crl().getThisUpdate().toInstant(), first.crl().getNextUpdate().toInstant());
        assertEquals(Duration.ofDays(7), nextUpdate);

        SignedCrl second = ca.revoke(WEST);
        assertEquals(BigInteger.valueOf(3), second.number());
        assertEquals(Set.of(east1, east2, west), second.revokedSerials());
        assertEquals(first.crl().getRevokedCertificate(east1).getRevocationDate(),
                second.crl().getRevokedCertificate(east1).getRevocationDate(), "earlier revocation dates are kept");
        assertEquals(second.crl(), ca.currentCrl().crl(), "ca.crl holds the new CRL");
        assertEquals(second.crl(), SignedCrl.parse("test", second.der()).crl(), "DER round trip");
        assertEquals(second.crl(), SignedCrl.parse("test", second.pem().getBytes()).crl(), "PEM round trip");

        assertEquals(List.of(false), ca.issued().stream().filter(e -> e.serial().equals(north)).map(IssuedEntry::revoked).toList());
        assertEquals(3, ca.issued().stream().filter(IssuedEntry::revoked).count());
    }

    @Test
    void revokeRefusesAClusterTheCaNeverIssuedFor() {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));
        ca.issue(EAST, DAY);

        var e = assertThrows(PkiException.class, () -> ca.revoke(WEST));
        assertTrue(e.getMessage().startsWith("cannot revoke cluster west: this CA"), e.getMessage());
        assertEquals(BigInteger.ONE, ca.currentCrl().number(), "no new CRL");
    }

    @Test
    void aCertificateIssuedAfterARevocationIsNotRevokedByIt() {
        ClustersetCa ca = ClustersetCa.init(tmp.resolve("ca"));
        ca.issue(EAST, DAY);
        ca.revoke(EAST);

        IssuedCertificate reissued = ca.issue(EAST, DAY);

        assertFalse(ca.currentCrl().revokedSerials().contains(reissued.serial()));
        assertTrue(ca.trust().crl().getRevokedCertificate(reissued.serial()) == null);
    }

    @Test
    void aClockOverrideBackdatesIssuedCertificates() {
        Path dir = tmp.resolve("ca");
        ClustersetCa.init(dir);
        Instant twoDaysAgo = Instant.now().minus(Duration.ofDays(2));

        IssuedCertificate old = ClustersetCa.load(dir, Clock.fixed(twoDaysAgo, java.time.ZoneOffset.UTC)).issue(EAST, DAY);

        assertTrue(old.notAfter().isBefore(Instant.now().minus(Duration.ofHours(23))), "expired a day ago: " + old.notAfter());
    }
}
