package io.isthmus.ipam;

import io.isthmus.api.InvalidFieldException;
import org.junit.jupiter.api.Test;

import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CniAttachmentKeyTest {
    @Test
    void aKeyIsStoredAsNodeNetworkContainerAndInterfaceAndReadBack() {
        CniAttachmentKey key = new CniAttachmentKey("worker-1.example", "podnet", "3f2a9c", "eth0");
        assertEquals("worker-1.example/podnet/3f2a9c/eth0", key.text());
        assertEquals(Optional.of(key), CniAttachmentKey.parse("worker-1.example/podnet/3f2a9c/eth0"));
    }

    @Test
    void aBareContainerIdFromBeforeKeysNamesNoNodeButStillMatchesItsContainer() {
        assertEquals(Optional.empty(), CniAttachmentKey.parse("3f2a9c"));
        assertEquals(Optional.empty(), CniAttachmentKey.parse(""));
        assertTrue(CniAttachmentKey.sameContainer("3f2a9c", "worker-1/podnet/3f2a9c/eth0"), "its own DEL, after an upgrade");
        assertFalse(CniAttachmentKey.sameContainer("3f2a9c", "worker-1/podnet/99aa/eth0"));
        assertFalse(CniAttachmentKey.sameContainer("worker-1/podnet/3f2a9c/eth0", "worker-1/podnet/3f2a9c/eth1"),
                "another interface of the same container is another attachment");
        assertFalse(CniAttachmentKey.sameContainer("worker-1/podnet/3f2a9c/eth0", "worker-2/podnet/3f2a9c/eth0"));
    }

    @Test
    void aPartWithASlashOrNothingInItIsRefusedByName() {
        assertEquals("network", assertThrows(InvalidFieldException.class,
                () -> new CniAttachmentKey("n", "a/b", "c", "eth0")).field());
        assertEquals("node", assertThrows(InvalidFieldException.class,
                () -> new CniAttachmentKey("", "net", "c", "eth0")).field());
    }
}
