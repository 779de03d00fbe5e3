package io.isthmus.tunnel;

/** Why the data plane dropped a packet; every drop is counted under one of these, per peer where one is known. */
public enum DropReason {
    /** A datagram shorter than a header and a tag, or an inner packet shorter than its IP header says. */
    SHORT,
    /** A datagram or inner packet larger than the tunnel MTU allows (or cut by the receive buffer). */
    OVERSIZED,
    /** A header with an unknown type or non-zero reserved bits, or an inner packet that is not IPv4 or IPv6. */
    MALFORMED,
    /** A receiver index that no session of ours uses (an unknown peer, or a session long retired). */
    UNKNOWN_INDEX,
    /** The AEAD tag did not verify: tampered, or sealed under another key. */
    AUTH_FAILURE,
    /** A counter already received, or too far behind the replay window. */
    REPLAY,
    /** An inner destination no peer's ranges hold (outbound), or the local side could not take it. */
    NO_ROUTE,
    /** The peer has no session yet (the key exchange has not completed), or its session is spent. */
    NO_SESSION,
    /** A decrypted packet whose inner source is outside the ranges of the peer whose key sealed it. */
    WRONG_SOURCE,
    /**
     * A decrypted packet whose inner destination is none of this cluster's segments or exported addresses (say, the
     * gateway's own address): never written to the local side.
     */
    WRONG_DESTINATION,
    /** The {@link PacketPolicy} stage denied the packet (outbound before the seal, inbound after the open). */
    POLICY_DENIED,
    /** The outer socket or the packet device refused the packet. */
    IO_ERROR,
    /** A header whose version is not the one its session's key exchange agreed on. */
    WRONG_VERSION
}
