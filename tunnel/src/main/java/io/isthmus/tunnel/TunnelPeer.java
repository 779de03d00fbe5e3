package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
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
 *   <li>{@code draining}: sessions replaced (or an unconfirmed {@code next} overtaken by a newer exchange), still
 *       opening packets until their grace ends; packets sealed with them may still be in flight.</li>
 * </ul>
 *
 * Session changes happen under this object's lock; workers read {@code current} without one.
 */
public final class TunnelPeer {
    private final ClusterId cluster;
    private volatile InetSocketAddress endpoint;
    private volatile List<Cidr> ranges;
    final DropCounters drops = new DropCounters();
    final LongAdder sentPackets = new LongAdder();
    final LongAdder sentBytes = new LongAdder();
    final LongAdder receivedPackets = new LongAdder();
    final LongAdder receivedBytes = new LongAdder();

    private volatile Session current;
    private Session next;
    private final ArrayDeque<Draining> draining = new ArrayDeque<>();

    private record Draining(Session session, Instant until) {
    }

    /** Replaced sessions kept at most; under a storm of rekeys the oldest is retired early. */
    static final int MAX_DRAINING = 4;

    TunnelPeer(ClusterId cluster, InetSocketAddress endpoint, List<Cidr> ranges) {
        if (endpoint.isUnresolved()) {
            throw new IllegalArgumentException("peer " + cluster + ": endpoint " + endpoint + " is not an IP address");
        }
        this.cluster = cluster;
        this.endpoint = endpoint;
        this.ranges = List.copyOf(ranges);
    }

    /** A new endpoint or new ranges (the engine rebuilds its routing table around this). */
    void update(InetSocketAddress endpoint, List<Cidr> ranges) {
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
            // an unconfirmed answer that a newer exchange overtook: its initiator may be sealing with it already
            retired.addAll(drain(next, now, grace));
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

    /** Replaced sessions whose grace has ended by {@code now}. */
    synchronized List<Session> expire(Instant now) {
        List<Session> ended = new ArrayList<>(1);
        while (!draining.isEmpty() && !draining.peekFirst().until().isAfter(now)) {
            ended.add(draining.pollFirst().session());
        }
        return ended;
    }

    /** Every session that still holds keys, to retire when the peer is removed. */
    synchronized List<Session> all() {
        List<Session> all = new ArrayList<>(3);
        for (Session session : new Session[] {current, next}) {
            if (session != null) {
                all.add(session);
            }
        }
        draining.forEach(d -> all.add(d.session()));
        return all;
    }

    private List<Session> promote(Session session, Instant now, Duration grace) {
        List<Session> retired = current == null ? List.of() : drain(current, now, grace);
        current = session;
        return retired;
    }

    /** Keeps {@code session} opening packets until {@code now + grace}; returns what had to go to make room. */
    private List<Session> drain(Session session, Instant now, Duration grace) {
        draining.addLast(new Draining(session, now.plus(grace)));
        List<Session> retired = new ArrayList<>(1);
        while (draining.size() > MAX_DRAINING) {
            retired.add(draining.pollFirst().session());
        }
        return retired;
    }

    PeerStats stats(Instant now) {
        Session session = current;
        return new PeerStats(cluster, endpoint, sentPackets.sum(), sentBytes.sum(), receivedPackets.sum(),
                receivedBytes.sum(), drops.snapshot(),
                session == null ? Optional.empty() : Optional.of(Duration.between(session.created(), now)),
                session == null ? 0 : session.epoch(), session == null ? 0 : session.wireVersion());
    }

    @Override
    public String toString() {
        return "TunnelPeer[" + cluster + " at " + endpoint + ", " + ranges + "]";
    }
}
