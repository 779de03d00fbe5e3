package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * One remote cluster as the data plane knows it: where its gateway listens, which inner ranges are its own (packets
 * to them go to it; packets from it must come from them), and its sessions:
 *
 * <ul>
 *   <li>{@code current}: the session we send with (and open with);</li>
 *   <li>{@code next}: a session we accepted as responder, which opens packets but is sent with only once a packet
 *       sealed with it arrives (then the initiator surely has it);</li>
 *   <li>{@code previous}: the session replaced last, still opening packets until its grace ends.</li>
 * </ul>
 *
 * Session changes happen under this object's lock; workers read {@code current} without one.
 */
public final class TunnelPeer {
    private final ClusterId cluster;
    private final InetSocketAddress endpoint;
    private final List<Cidr> ranges;
    final DropCounters drops = new DropCounters();
    final LongAdder sentPackets = new LongAdder();
    final LongAdder sentBytes = new LongAdder();
    final LongAdder receivedPackets = new LongAdder();
    final LongAdder receivedBytes = new LongAdder();

    private volatile Session current;
    private Session next;
    private Session previous;
    private Instant previousUntil;

    TunnelPeer(ClusterId cluster, InetSocketAddress endpoint, List<Cidr> ranges) {
        if (endpoint.isUnresolved()) {
            throw new IllegalArgumentException("peer " + cluster + ": endpoint " + endpoint + " is not an IP address");
        }
        this.cluster = cluster;
        this.endpoint = endpoint;
        this.ranges = List.copyOf(ranges);
    }

    public ClusterId cluster() {
        return cluster;
    }

    public InetSocketAddress endpoint() {
        return endpoint;
    }

    /** The inner networks of this peer: routed to it, and the only sources accepted from it. */
    public List<Cidr> ranges() {
        return ranges;
    }

    /** The session packets to this peer are sealed with, or null before the first exchange completed. */
    Session current() {
        return current;
    }

    /**
     * Takes a new session; returns the sessions that stop being usable at once (to be retired by the caller).
     * An initiator's session is sent with at once; a responder's waits in {@code next} for confirmation.
     */
    synchronized List<Session> install(Session session, Instant now, Duration grace) {
        List<Session> retired = new ArrayList<>(2);
        if (next != null) {
            retired.add(next); // an unconfirmed answer that a newer exchange replaced
            next = null;
        }
        if (session.initiator()) {
            retired.addAll(promote(session, now, grace));
        } else {
            next = session;
        }
        return retired;
    }

    /** A packet sealed with {@code session} arrived: if it is our unconfirmed {@code next}, send with it from now. */
    synchronized List<Session> confirm(Session session, Instant now, Duration grace) {
        if (next != session) {
            return List.of();
        }
        next = null;
        return promote(session, now, grace);
    }

    /** Whether a session is in use or waiting for its confirmation. */
    synchronized boolean keyed() {
        return current != null || next != null;
    }

    boolean awaitsConfirmation(Session session) {
        return !session.initiator() && current != session;
    }

    /** Previous sessions whose grace has ended by {@code now}. */
    synchronized List<Session> expire(Instant now) {
        if (previous != null && !previousUntil.isAfter(now)) {
            Session ended = previous;
            previous = null;
            previousUntil = null;
            return List.of(ended);
        }
        return List.of();
    }

    /** Every session that still holds keys, to retire when the peer is removed. */
    synchronized List<Session> all() {
        List<Session> all = new ArrayList<>(3);
        for (Session session : new Session[] {current, next, previous}) {
            if (session != null) {
                all.add(session);
            }
        }
        return all;
    }

    private List<Session> promote(Session session, Instant now, Duration grace) {
        List<Session> retired = new ArrayList<>(1);
        if (previous != null) {
            retired.add(previous);
        }
        previous = current;
        previousUntil = previous == null ? null : now.plus(grace);
        current = session;
        return retired;
    }

    PeerStats stats(Instant now) {
        Session session = current;
        return new PeerStats(cluster, endpoint, sentPackets.sum(), sentBytes.sum(), receivedPackets.sum(),
                receivedBytes.sum(), drops.snapshot(),
                session == null ? Optional.empty() : Optional.of(Duration.between(session.created(), now)),
                session == null ? 0 : session.epoch());
    }

    @Override
    public String toString() {
        return "TunnelPeer[" + cluster + " at " + endpoint + ", " + ranges + "]";
    }
}
