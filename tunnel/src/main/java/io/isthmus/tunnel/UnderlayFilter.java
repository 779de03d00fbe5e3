package io.isthmus.tunnel;

import java.net.InetAddress;
import java.util.List;
import java.util.Set;

/**
 * What sits in front of the engine's UDP sockets and must know which datagrams can be the tunnel's: the peers'
 * announced addresses and the receiver indexes of the sessions that open packets (the gateway's XDP pre-filter).
 * The {@link TunnelEngine} calls it under its lock, so calls arrive in the order of the changes: a session is named
 * before a datagram sealed for it can arrive (before the key message that tells the peer its index, and before the
 * keepalive an initiator sends with it), and its end after the engine stopped opening with it. Each call must be
 * quick (a map update), must not throw, and must not call back into the engine.
 */
public interface UnderlayFilter extends AutoCloseable {
    /** The peers' announced addresses now (every change of the engine's peer table, and once when plugged in). */
    void peersAt(Set<InetAddress> addresses);

    /** A session opens packets to {@code receiverIndex} from now on. */
    void sessionOpened(int receiverIndex);

    /** The session under {@code receiverIndex} opens no more packets. */
    void sessionClosed(int receiverIndex);

    /** In words, for the status: what runs in front and how, or why nothing does. */
    String describe();

    /** Whether a filter runs (false: {@link #describe()} says why not). */
    boolean active();

    /** Packets it passed or dropped, by reason, since it started. */
    List<Count> counts();

    /** @param verdict {@code passed} or {@code dropped}; @param reason e.g. {@code unknown_source} */
    record Count(String verdict, String reason, long packets) {
    }

    /** Takes the filter off (the data plane calls it when it closes). */
    @Override
    void close();

    /** Nothing in front, and why: e.g. {@code off (tunnel.xdp = off)}. */
    static UnderlayFilter none(String why) {
        return new UnderlayFilter() {
            @Override
            public void peersAt(Set<InetAddress> addresses) {
            }

            @Override
            public void sessionOpened(int receiverIndex) {
            }

            @Override
            public void sessionClosed(int receiverIndex) {
            }

            @Override
            public String describe() {
                return why;
            }

            @Override
            public boolean active() {
                return false;
            }

            @Override
            public List<Count> counts() {
                return List.of();
            }

            @Override
            public void close() {
            }
        };
    }
}
