package io.isthmus.tunnel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.CipherSuite;
import io.isthmus.api.grpc.tunnel.KeyAccept;
import io.isthmus.api.grpc.tunnel.KeyOffer;
import io.isthmus.testing.SettableClock;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class KeyExchangeTest {
    static final TunnelIdentity EAST = TunnelIdentity.ofDer(ClusterId.of("east"), der("east certificate"));
    static final TunnelIdentity WEST = TunnelIdentity.ofDer(ClusterId.of("west"), der("west certificate"));

    private final SettableClock clock = new SettableClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final SecureRandom random = new SecureRandom();
    private final ReceiverIndexes eastIndexes = new ReceiverIndexes(random);
    private final ReceiverIndexes westIndexes = new ReceiverIndexes(random);

    static byte[] der(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private KeyExchange east(TunnelIdentity peerAsSeen) {
        return new KeyExchange(EAST, peerAsSeen, Suite.AES_256_GCM, eastIndexes, random, clock);
    }

    private KeyExchange west(TunnelIdentity peerAsSeen, Suite suite) {
        return new KeyExchange(WEST, peerAsSeen, suite, westIndexes, random, clock);
    }

    @Test
    void bothSidesDeriveTheSameKeysCrosswise() {
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer offer = east.offer();
        KeyExchange.Accepted accepted = west.onOffer(offer).orElseThrow();
        Session initiator = east.onAccept(accepted.reply());
        Session responder = accepted.session();

        assertTrue(initiator.initiator());
        assertFalse(responder.initiator());
        assertTrue(initiator.sendKey().sameBytes(responder.receiveKey()));
        assertTrue(responder.sendKey().sameBytes(initiator.receiveKey()));
        assertFalse(initiator.sendKey().sameBytes(initiator.receiveKey()), "each direction has its own key");
        assertEquals(initiator.remoteIndex(), responder.localIndex());
        assertEquals(responder.remoteIndex(), initiator.localIndex());
        assertEquals(offer.getEpoch(), initiator.epoch());
        assertEquals(offer.getEpoch(), responder.epoch());
        assertTrue(east.pendingSince().isEmpty());
    }

    @Test
    void aDifferentCertificateGivesDifferentKeys() {
        TunnelIdentity impostor = TunnelIdentity.ofDer(ClusterId.of("east"), der("another east certificate"));
        KeyExchange east = east(WEST);
        KeyExchange west = west(impostor, Suite.AES_256_GCM); // west's TLS session saw another certificate
        KeyExchange.Accepted accepted = west.onOffer(east.offer()).orElseThrow();
        Session initiator = east.onAccept(accepted.reply());

        assertFalse(initiator.sendKey().sameBytes(accepted.session().receiveKey()));
        assertFalse(accepted.session().sendKey().sameBytes(initiator.receiveKey()));
    }

    @Test
    void aDifferentClusterIdGivesDifferentKeys() {
        TunnelIdentity renamed = TunnelIdentity.ofDer(ClusterId.of("east2"), der("east certificate"));
        KeyExchange east = east(WEST);
        KeyExchange west = west(renamed, Suite.AES_256_GCM);
        KeyExchange.Accepted accepted = west.onOffer(east.offer()).orElseThrow();
        Session initiator = east.onAccept(accepted.reply());

        assertFalse(initiator.sendKey().sameBytes(accepted.session().receiveKey()));
    }

    @Test
    void theResponderUsesTheOfferedSuite() {
        KeyExchange east = new KeyExchange(EAST, WEST, Suite.CHACHA20_POLY1305, eastIndexes, random, clock);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyExchange.Accepted accepted = west.onOffer(east.offer()).orElseThrow();
        Session initiator = east.onAccept(accepted.reply());
        assertEquals(Suite.CHACHA20_POLY1305, accepted.session().suite());
        assertEquals(Suite.CHACHA20_POLY1305, initiator.suite());
    }

    @Test
    void simultaneousOffersResolveToTheLowerClusterIdsOffer() {
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer fromEast = east.offer();
        KeyOffer fromWest = west.offer();

        assertTrue(east.onOffer(fromWest).isEmpty(), "east < west: east keeps its own offer");
        KeyExchange.Accepted accepted = west.onOffer(fromEast).orElseThrow();
        assertTrue(west.pendingSince().isEmpty(), "west dropped its own offer");
        Session initiator = east.onAccept(accepted.reply());
        assertTrue(initiator.sendKey().sameBytes(accepted.session().receiveKey()));
        assertEquals(2, eastIndexes.inUse() + westIndexes.inUse(), "west's abandoned index was released");
    }

    @Test
    void laterOffersHaveHigherEpochs() {
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        long first = east.onAccept(west.onOffer(east.offer()).orElseThrow().reply()).epoch();
        KeyOffer second = west.offer();
        assertTrue(second.getEpoch() > first, "west saw epoch " + first + " and offers " + second.getEpoch());
    }

    @Test
    void anAcceptThatAnswersNoOfferIsRefusedAndChangesNothing() {
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer offer = east.offer();
        KeyAccept reply = west.onOffer(offer).orElseThrow().reply();

        InvalidFieldException wrongEpoch = assertThrows(InvalidFieldException.class,
                () -> east.onAccept(reply.toBuilder().setEpoch(offer.getEpoch() + 7).build()));
        assertEquals("key-accept.epoch", wrongEpoch.field());
        assertThrows(InvalidFieldException.class,
                () -> east.onAccept(reply.toBuilder().setSuite(CipherSuite.CHACHA20_POLY1305).build()));
        assertTrue(east.pendingSince().isPresent(), "the offer still waits");
        east.onAccept(reply);
        assertThrows(InvalidFieldException.class, () -> east.onAccept(reply), "answered already");
    }

    @Test
    void malformedOffersAreRefusedNamingTheField() {
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer good = east(WEST).offer();

        assertEquals("key-offer.suite", assertThrows(InvalidFieldException.class, () -> west.onOffer(
                good.toBuilder().setSuite(CipherSuite.CIPHER_SUITE_UNSPECIFIED).build())).field());
        assertEquals("key-offer.public-key", assertThrows(InvalidFieldException.class, () -> west.onOffer(
                good.toBuilder().setPublicKey(ByteString.copyFrom(new byte[31])).build())).field());
        assertEquals("key-offer.public-key", assertThrows(InvalidFieldException.class, () -> west.onOffer(
                good.toBuilder().setPublicKey(ByteString.copyFrom(new byte[32])).build())).field(),
                "the all-zero (low-order) point gives no secret");
        assertEquals("key-offer.receiver-index", assertThrows(InvalidFieldException.class, () -> west.onOffer(
                good.toBuilder().setReceiverIndex(0).build())).field());
        assertEquals(0, westIndexes.inUse(), "no index was taken by a refused offer");
    }

    @Test
    void retiringASessionWipesItsKeysAndFreesItsIndex() {
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        Session responder = west.onOffer(east.offer()).orElseThrow().session();
        Session initiator = east.onAccept(west.onOffer(east.offer()).orElseThrow().reply());
        assertEquals(2, westIndexes.inUse());

        responder.retire();
        assertTrue(responder.sendKey().isDestroyed());
        assertTrue(responder.receiveKey().isDestroyed());
        assertThrows(IllegalStateException.class, () -> responder.sendKey().getEncoded());
        assertEquals(1, westIndexes.inUse());
        assertArrayEquals(initiator.sendKey().getEncoded(), initiator.sendKey().getEncoded());
    }

    @Test
    void bothEndsAgreeOnTheLowerWireVersionAndAnOldPeerGetsTheOldWire() {
        // current with current: the newest
        KeyExchange east = east(WEST);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer offer = east.offer();
        assertEquals(1, offer.getWireVersion());
        KeyExchange.Accepted accepted = west.onOffer(offer).orElseThrow();
        assertEquals(1, accepted.reply().getWireVersion());
        assertEquals(1, accepted.session().wireVersion());
        assertEquals(1, east.onAccept(accepted.reply()).wireVersion());

        // an initiator from before versions sends no wire_version at all: the responder answers with the old wire
        KeyOffer unversioned = east.offer().toBuilder().clearWireVersion().build();
        KeyExchange.Accepted toOld = west.onOffer(unversioned).orElseThrow();
        assertEquals(0, toOld.reply().getWireVersion());
        assertEquals(0, toOld.session().wireVersion());

        // a responder pinned to the old wire (or from before versions: its accept has no field) makes it 0 both ways
        KeyExchange pinned = new KeyExchange(WEST, EAST, Suite.AES_256_GCM, 0, westIndexes, random, clock);
        KeyExchange.Accepted fromPinned = pinned.onOffer(east.offer()).orElseThrow();
        assertEquals(0, fromPinned.session().wireVersion());
        assertEquals(0, east.onAccept(fromPinned.reply()).wireVersion());
    }

    @Test
    void anAcceptAboveTheOfferedWireVersionIsRefusedByName() {
        KeyExchange pinned = new KeyExchange(EAST, WEST, Suite.AES_256_GCM, 0, eastIndexes, random, clock);
        KeyExchange west = west(EAST, Suite.AES_256_GCM);
        KeyOffer offer = pinned.offer();
        assertEquals(0, offer.getWireVersion());
        KeyAccept forged = west.onOffer(offer).orElseThrow().reply().toBuilder().setWireVersion(1).build();
        InvalidFieldException refused = assertThrows(InvalidFieldException.class, () -> pinned.onAccept(forged));
        assertEquals("key-accept.wire-version", refused.field());
        assertTrue(pinned.pendingSince().isPresent(), "the offer still waits for a proper answer");
        assertEquals("wire-version", assertThrows(InvalidFieldException.class, () -> new KeyExchange(EAST, WEST,
                Suite.AES_256_GCM, 2, eastIndexes, random, clock)).field());
    }
}
