package io.isthmus.gateway.pki;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static io.isthmus.gateway.pki.Fixtures.DAY;
import static io.isthmus.gateway.pki.Fixtures.EAST;
import static io.isthmus.gateway.pki.Fixtures.WEST;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyMaterialTest {
    @TempDir
    Path tmp;
    private ClustersetCa ca;
    private KeyFiles files;

    @BeforeEach
    void issue() {
        ca = ClustersetCa.init(tmp.resolve("ca"));
        files = Fixtures.issue(ca, EAST, tmp);
    }

    @Test
    void loadsTheCertificateAndKeyAndKnowsTheCluster() {
        KeyMaterial keys = KeyMaterial.load(files);

        assertEquals(EAST, keys.cluster());
        assertFalse(keys.reloadIfChanged(), "nothing changed");
        String alias = keys.keyManager().chooseServerAlias("EC", null, null);
        assertArrayEquals(new Object[] {keys.certificate()}, keys.keyManager().getCertificateChain(alias));
        assertEquals("EC", keys.keyManager().getPrivateKey(alias).getAlgorithm());
        assertNull(keys.keyManager().chooseServerAlias("RSA", null, null), "only offers the key type it has");
    }

    @Test
    void aKeyThatDoesNotBelongToTheCertificateIsRefused() throws Exception {
        KeyFiles other = Fixtures.issue(ca, WEST, tmp);

        var e = assertThrows(PkiException.class, () -> KeyMaterial.load(files.certificate(), other.privateKey()));
        assertTrue(e.getMessage().startsWith("private key file " + other.privateKey() + " does not belong to certificate 'CN=east'"),
                e.getMessage());
    }

    @Test
    void missingOrGarbageFilesAreNamed() throws Exception {
        var missing = assertThrows(PkiException.class, () -> KeyMaterial.load(tmp.resolve("none.crt"), files.privateKey()));
        assertTrue(missing.getMessage().contains(tmp.resolve("none.crt") + " does not exist"), missing.getMessage());

        Path garbage = Files.writeString(tmp.resolve("garbage.key"), "not a key");
        var bad = assertThrows(PkiException.class, () -> KeyMaterial.load(files.certificate(), garbage));
        assertTrue(bad.getMessage().startsWith("private key file " + garbage + " contains no PEM block"), bad.getMessage());
    }

    @Test
    void aHalfDoneRotationKeepsTheCurrentKeysAndTheNextReloadCompletesIt() throws Exception {
        KeyMaterial keys = KeyMaterial.load(files);
        var before = keys.serial();
        IssuedCertificate next = ca.issue(EAST, DAY);
        Path staging = Files.createDirectories(tmp.resolve("staging"));
        KeyFiles staged = next.writeTo(staging);

        // the key has arrived, the certificate not yet
        Files.move(staged.privateKey(), files.privateKey(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        var e = assertThrows(PkiException.class, keys::reloadIfChanged);
        assertTrue(e.getMessage().contains("does not belong to certificate"), e.getMessage());
        assertEquals(before, keys.serial(), "still presenting the old certificate");

        Files.move(staged.certificate(), files.certificate(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertTrue(keys.reloadIfChanged());
        assertEquals(next.serial(), keys.serial());
    }

    @Test
    void reloadRefusesFilesThatNameAnotherCluster() {
        KeyMaterial keys = KeyMaterial.load(files);
        var before = keys.serial();
        ca.issue(WEST, DAY).writeTo(tmp.resolve("west"));
        KeyFiles west = KeyFiles.in(tmp.resolve("west"), WEST);
        try {
            Files.copy(west.privateKey(), files.privateKey(), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(west.certificate(), files.certificate(), StandardCopyOption.REPLACE_EXISTING);
        } catch (java.io.IOException ex) {
            throw new AssertionError(ex);
        }

        var e = assertThrows(PkiException.class, keys::reloadIfChanged);
        assertTrue(e.getMessage().contains("it now names cluster west but this gateway is cluster east"), e.getMessage());
        assertEquals(before, keys.serial());
        assertEquals(EAST, keys.cluster());
    }

    @Test
    void aHandshakeKeepsTheKeyOfTheAliasItChoseAcrossAReload() {
        KeyMaterial keys = KeyMaterial.load(files);
        String chosen = keys.keyManager().chooseClientAlias(new String[] {"EC"}, null, null);
        var chainBefore = keys.keyManager().getCertificateChain(chosen);

        ca.issue(EAST, DAY).writeTo(tmp.resolve("east"));
        assertTrue(keys.reloadIfChanged());

        assertArrayEquals(chainBefore, keys.keyManager().getCertificateChain(chosen), "the same generation");
        String now = keys.keyManager().chooseClientAlias(new String[] {"EC"}, null, null);
        assertEquals(keys.certificate(), keys.keyManager().getCertificateChain(now)[0]);
    }
}
