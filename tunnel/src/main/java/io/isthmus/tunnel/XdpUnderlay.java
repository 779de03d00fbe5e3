package io.isthmus.tunnel;

import io.isthmus.fastpath.XdpFilter;

import java.io.IOException;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * An attached {@link XdpFilter} (with session checks) kept in step with a {@link TunnelEngine}: the known peers are
 * the engine's peers' announced addresses, the live sessions its receiver indexes (named before a peer can use one,
 * removed when retired), and every {@value #FLOOR_MILLIS} ms each session's per-lane counter floor is published, so
 * that replays below the replay window are dropped before the kernel's UDP path. Whether an unannounced source (NAT,
 * roaming) passes on a live session is the filter's {@link XdpFilter.Sources}; either way it is counted.
 *
 * <p>Lock order: the engine's lock (it calls in), then this one, then the filter's. A failed map update is logged
 * at ERROR and counted ({@link #mapFailures}); the tunnel itself goes on.
 */
public final class XdpUnderlay implements UnderlayFilter {
    private static final System.Logger log = System.getLogger(XdpUnderlay.class.getName());
    public static final long FLOOR_MILLIS = 500;

    private final XdpFilter filter;
    private final String description;
    private final Set<Integer> open = new HashSet<>(); // guarded by this
    private final AtomicLong mapFailures = new AtomicLong();
    private final ScheduledExecutorService floors;

    /**
     * Takes over {@code filter} (closes it on {@link #close}); give it to {@link TunnelEngine#useUnderlayFilter} or
     * {@link TunnelDataPlane#useUnderlayFilter}.
     *
     * @param description for the status, e.g. {@code xdp generic on eth0 (...)}
     * @param receiveFloors the engine's {@link TunnelEngine#receiveFloors}
     */
    public XdpUnderlay(XdpFilter filter, String description, Supplier<Map<Integer, long[]>> receiveFloors) {
        this.filter = filter;
        this.description = description;
        this.floors = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("tunnel-xdp-floors")
                .daemon().factory());
        floors.scheduleWithFixedDelay(() -> publishFloors(receiveFloors.get()), FLOOR_MILLIS, FLOOR_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void peersAt(Set<InetAddress> addresses) {
        try {
            filter.replacePeers(addresses);
        } catch (IOException | RuntimeException e) {
            failed("updating the known peers to " + addresses, e);
        }
    }

    @Override
    public synchronized void sessionOpened(int receiverIndex) {
        try {
            filter.putSession(receiverIndex, new long[XdpFilter.LANES], false);
            open.add(receiverIndex);
        } catch (IOException | RuntimeException e) {
            failed("naming session " + Integer.toUnsignedString(receiverIndex), e);
        }
    }

    @Override
    public synchronized void sessionClosed(int receiverIndex) {
        open.remove(receiverIndex);
        try {
            filter.removeSession(receiverIndex);
        } catch (IOException | RuntimeException e) {
            failed("removing session " + Integer.toUnsignedString(receiverIndex), e);
        }
    }

    /** Writes the floors of the sessions still open; one closed meanwhile stays closed (update only). */
    synchronized void publishFloors(Map<Integer, long[]> floorsByIndex) {
        for (Map.Entry<Integer, long[]> session : floorsByIndex.entrySet()) {
            if (!open.contains(session.getKey())) {
                continue;
            }
            try {
                filter.putSession(session.getKey(), session.getValue(), true);
            } catch (IOException | RuntimeException e) {
                failed("publishing the counter floors of session " + Integer.toUnsignedString(session.getKey()), e);
            }
        }
    }

    private void failed(String what, Exception e) {
        mapFailures.incrementAndGet();
        log.log(System.Logger.Level.ERROR, "tunnel XDP: " + what + " failed: " + e.getMessage());
    }

    /** Map updates that failed since the start (each logged at ERROR). */
    public long mapFailures() {
        return mapFailures.get();
    }

    public XdpFilter filter() {
        return filter;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public boolean active() {
        return true;
    }

    @Override
    public List<Count> counts() {
        List<Count> counts = new ArrayList<>();
        try {
            filter.counters().forEach((reason, packets) -> counts.add(count(reason, packets)));
        } catch (IOException | RuntimeException e) { // closed, or the kernel refused: no figures this time
            log.log(System.Logger.Level.DEBUG, "reading the XDP counters: " + e.getMessage());
        }
        return counts;
    }

    /** {@code DROPPED_UNKNOWN_SOURCE} → dropped / unknown_source. */
    static Count count(XdpFilter.Reason reason, long packets) {
        String name = reason.name().toLowerCase(Locale.ROOT);
        int split = name.indexOf('_');
        return new Count(name.substring(0, split), name.substring(split + 1), packets);
    }

    @Override
    public void close() {
        floors.shutdownNow();
        try {
            floors.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            filter.close();
        } catch (IOException e) {
            log.log(System.Logger.Level.WARNING, "tunnel XDP: detaching failed: " + e.getMessage());
        }
    }
}
