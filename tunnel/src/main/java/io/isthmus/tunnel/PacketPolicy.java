package io.isthmus.tunnel;

import io.isthmus.api.ClusterId;

/**
 * The policy stage of the data path: {@code TUN → policy → seal → UDP → open, replay check → policy → TUN}. The
 * engine asks it once per inner packet, on the packet's own thread, after the packet was parsed and attributed to a
 * peer: outbound before the seal (and before any translation, so it sees this cluster's real addresses), inbound
 * after the open, the replay check, the source and destination checks and the translation back (again the real
 * addresses). A packet it denies is dropped and counted as {@link DropReason#POLICY_DENIED} for that peer.
 *
 * <p>Called from several threads at once and for every packet: an implementation must be thread-safe, must not
 * allocate or block, and should only read the header bytes it is given (it must not write them). Swap a compiled
 * policy in with {@link TunnelEngine#usePolicy}; the engine reads the current one once per packet.
 */
public interface PacketPolicy {
    /** Which way the packet goes through the tunnel. */
    enum Direction {
        /** From the local side to {@code peer}: asked before the seal. */
        OUTBOUND,
        /** From {@code peer} to the local side: asked after the open and the checks. */
        INBOUND
    }

    enum Verdict {
        ALLOW,
        DENY
    }

    /**
     * @param peer    the peer cluster the packet goes to (outbound) or came from (inbound)
     * @param packet  the bytes holding the inner IP packet; complete as its header declares
     * @param at      where the packet starts in {@code packet}
     * @param length  the packet's length
     * @param version 4 or 6; addresses at {@link InnerPacket#sourceOffset}/{@link InnerPacket#destinationOffset}
     */
    Verdict verdict(Direction direction, ClusterId peer, byte[] packet, int at, int length, int version);

    /** What the stage does, in words, for {@code isthmus status}. */
    String describe();

    /**
     * What the stage counted, for metrics; read at scrape time, not per packet.
     *
     * @param unreadable       packets denied because their headers could not be read to the port
     * @param trackedReplies   packets the table denied that passed as answers of tracked flows
     * @param trackedFlows     flows tracked now (not expired)
     * @param trackingCapacity how many flows the tracker holds at most
     * @param evictions        tracked flows pushed out, still live, by new ones
     */
    record Counters(long unreadable, long trackedReplies, long trackedFlows, long trackingCapacity, long evictions) {
        public static final Counters NONE = new Counters(0, 0, 0, 0, 0);
    }

    /** {@link Counters#NONE} for a stage that counts nothing of this. */
    default Counters counters() {
        return Counters.NONE;
    }

    /** No policy: every packet passes. The engine's default. */
    PacketPolicy ALLOW_ALL = new PacketPolicy() {
        @Override
        public Verdict verdict(Direction direction, ClusterId peer, byte[] packet, int at, int length, int version) {
            return Verdict.ALLOW;
        }

        @Override
        public String describe() {
            return "none (allow all)";
        }
    };
}
