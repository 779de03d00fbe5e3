package io.isthmus.tunnel;

import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One set of data-plane keys between two gateways, as one {@link KeyExchange} produced it: a key and a counter for
 * sending (to the peer's receiver index), a key and a replay window for receiving (under our own index). Its keys
 * live only in this object's memory and are wiped by {@link #retire()}.
 */
public final class Session {
    /** A session never sends more packets than this on one lane; rekeying happens long before. */
    static final long REJECT_AFTER_PACKETS = 1L << 48;
    /**
     * Counter lanes: each sender thread seals with its own lane's counter (the lane is in the header and the
     * nonce), and the receiver keeps a replay window per lane. So one sender thread stalled with sealed packets
     * cannot fall behind the window while another races ahead, and sender threads never contend on a counter.
     */
    public static final int LANES = 16;

    private final Suite suite;
    private final int wireVersion;
    private final long epoch;
    private final boolean initiator;
    private final int localIndex;
    private final int remoteIndex;
    private final SessionKey sendKey;
    private final SessionKey receiveKey;
    private final Instant created;
    private final AtomicLong[] sendCounters = new AtomicLong[LANES];
    private final LongAdder sentBytes = new LongAdder();
    private final ReplayWindow[] windows = new ReplayWindow[LANES];
    private final ReceiverIndexes indexes;
    private volatile boolean retired;

    Session(Suite suite, int wireVersion, long epoch, boolean initiator, int localIndex, int remoteIndex, byte[] sendKey,
            byte[] receiveKey, Instant created, ReceiverIndexes indexes) {
        this.suite = suite;
        this.wireVersion = wireVersion;
        this.epoch = epoch;
        this.initiator = initiator;
        this.localIndex = localIndex;
        this.remoteIndex = remoteIndex;
        this.sendKey = new SessionKey(suite.keyAlgorithm(), sendKey, 0);
        this.receiveKey = new SessionKey(suite.keyAlgorithm(), receiveKey, 0);
        this.created = created;
        this.indexes = indexes;
        for (int lane = 0; lane < LANES; lane++) {
            sendCounters[lane] = new AtomicLong();
            windows[lane] = new ReplayWindow();
        }
    }

    public Suite suite() {
        return suite;
    }

    /** The header version both ends agreed on; every datagram of this session carries it, both ways. */
    public int wireVersion() {
        return wireVersion;
    }

    public long epoch() {
        return epoch;
    }

    /** Whether this side sent the KeyOffer; the initiator sends on a session as soon as it has it. */
    public boolean initiator() {
        return initiator;
    }

    /** The index the peer puts in headers of packets to us. */
    public int localIndex() {
        return localIndex;
    }

    /** The index we put in headers of packets to the peer. */
    public int remoteIndex() {
        return remoteIndex;
    }

    public Instant created() {
        return created;
    }

    /** Packets sealed so far, all lanes. */
    public long sentPackets() {
        long sum = 0;
        for (AtomicLong counter : sendCounters) {
            sum += counter.get();
        }
        return sum;
    }

    public long sentBytes() {
        return sentBytes.sum();
    }

    public boolean retired() {
        return retired;
    }

    /** Wipes both keys and frees the receiver index; a packet still in flight for this session then fails. */
    public void retire() {
        if (!retired) {
            retired = true;
            sendKey.destroy();
            receiveKey.destroy();
            indexes.release(localIndex);
        }
    }

    /** The counter of the next packet sent on {@code lane}, or -1 once this session must not send any more. */
    long nextCounter(int lane, int bytes) {
        long counter = sendCounters[lane].getAndIncrement();
        if (counter >= REJECT_AFTER_PACKETS) {
            return -1;
        }
        sentBytes.add(bytes);
        return counter;
    }

    SessionKey sendKey() {
        return sendKey;
    }

    SessionKey receiveKey() {
        return receiveKey;
    }

    ReplayWindow window(int lane) {
        return windows[lane];
    }

    @Override
    public String toString() {
        return "Session[epoch " + epoch + (initiator ? ", initiator" : ", responder") + ", " + suite
                + ", receive index " + Integer.toUnsignedString(localIndex) + (retired ? ", retired" : "") + "]";
    }
}
