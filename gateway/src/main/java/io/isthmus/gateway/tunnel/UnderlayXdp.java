package io.isthmus.gateway.tunnel;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.fastpath.Availability;
import io.isthmus.fastpath.FastPaths;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.XdpFilter;
import io.isthmus.tunnel.TunnelDataPlane;
import io.isthmus.tunnel.UnderlayFilter;

import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Path;
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

/**
 * The XDP pre-filter ({@link XdpFilter}) on the tunnel's underlay interface, kept in step with the data plane: the
 * known peers are the engine's peers' announced addresses, the live sessions its receiver indexes (named before a
 * peer can use one, removed when retired), and every {@value #FLOOR_MILLIS} ms each session's per-lane counter
 * floor is published so that replays below the replay window are dropped in the driver. A peer whose datagrams come
 * from another address than it announced (NAT, roaming) is not cut off silently: with
 * {@code xdp-unannounced-sources = pass-on-live-session} its datagrams pass on a live session and are counted as
 * {@code passed/unannounced_source}; with {@code drop} they are dropped and counted as {@code dropped/unknown_source};
 * either way the status shows the count.
 *
 * <p>Lock order: the engine's lock (it calls in), then this one, then the filter's. A failed map update is logged and
 * counted ({@link #mapFailures}); the tunnel itself goes on.
 */
final class UnderlayXdp implements UnderlayFilter {
    private static final System.Logger log = System.getLogger(UnderlayXdp.class.getName());
    static final long FLOOR_MILLIS = 500;
    static final Path PIN_ROOT = XdpFilter.DEFAULT_PIN_DIRECTORY;

    private final XdpFilter filter;
    private final String description;
    private final Set<Integer> open = new HashSet<>(); // guarded by this
    private final AtomicLong mapFailures = new AtomicLong();
    private final ScheduledExecutorService floors;

    private UnderlayXdp(XdpFilter filter, String description, TunnelDataPlane plane) {
        this.filter = filter;
        this.description = description;
        this.floors = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("tunnel-xdp-floors")
                .daemon().factory());
        floors.scheduleWithFixedDelay(() -> publishFloors(plane.receiveFloors()), FLOOR_MILLIS, FLOOR_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /**
     * What {@code settings.xdp()} asks for, in front of {@code plane}: a running filter, or {@link UnderlayFilter#none}
     * saying why not (off, or auto where XDP is unavailable).
     *
     * @throws InvalidFieldException for generic or native where that mode cannot be had (the gateway does not start)
     */
    static UnderlayFilter start(TunnelSettings settings, TunnelDataPlane plane) {
        TunnelSettings.Xdp xdp = settings.xdp();
        if (xdp.mode() == TunnelSettings.XdpMode.OFF) {
            return UnderlayFilter.none("off (tunnel.xdp = off)");
        }
        String asked = "tunnel.xdp = " + xdp.mode().name().toLowerCase(Locale.ROOT);
        try {
            Availability available = FastPaths.xdp();
            if (!available.available()) {
                throw new IOException("XDP is unavailable: " + available.reason());
            }
            NetNamespace namespace = plane.namespace().isEmpty() ? null : NetNamespace.named(plane.namespace());
            String interfaceName = xdp.interfaceName().isEmpty() ? underlayInterface(settings, namespace)
                    : xdp.interfaceName();
            XdpFilter.Mode mode = switch (xdp.mode()) {
                case AUTO -> XdpFilter.Mode.AUTO;
                case GENERIC -> XdpFilter.Mode.GENERIC;
                case NATIVE -> XdpFilter.Mode.NATIVE;
                case OFF -> throw new AssertionError("handled above");
            };
            Path pins = pinDirectory(namespace, interfaceName);
            XdpFilter.Options options = new XdpFilter.Options(interfaceName, mode, plane.localAddress().getPort(),
                    pins, namespace).withSessionChecks(xdp.passUnannounced() ? XdpFilter.Sources.PASS_ON_LIVE_SESSION
                    : XdpFilter.Sources.KNOWN_ONLY);
            XdpFilter filter = XdpFilter.attach(options);
            String description = "xdp " + filter.modeReport() + " on " + interfaceName + " (" + asked
                    + "), session checks, unannounced sources " + (xdp.passUnannounced()
                    ? "pass on a live session" : "dropped") + ", maps pinned in " + pins;
            return new UnderlayXdp(filter, description, plane);
        } catch (IOException | RuntimeException e) {
            if (xdp.mode() != TunnelSettings.XdpMode.AUTO) {
                throw new InvalidFieldException(TunnelSettings.ROOT + "xdp", xdp.mode().name().toLowerCase(Locale.ROOT),
                        "cannot be had here: " + e.getMessage() + " (auto starts without XDP instead)");
            }
            log.log(System.Logger.Level.WARNING, "tunnel: running without the XDP pre-filter: {0}", e.getMessage());
            return UnderlayFilter.none("none (" + asked + "): " + e.getMessage());
        }
    }

    /** {@code /sys/fs/bpf/isthmus/NETNS-INTERFACE} (bpffs refuses '.' in names: those become '_'). */
    static Path pinDirectory(NetNamespace namespace, String interfaceName) {
        return PIN_ROOT.resolve(((namespace == null ? "" : namespace.name() + "-") + interfaceName).replace('.', '_'));
    }

    /** The interface holding the listen address (a wildcard: the advertised one) in the tunnel's namespace. */
    private static String underlayInterface(TunnelSettings settings, NetNamespace namespace) throws IOException {
        InetAddress listen = InetAddress.ofLiteral(settings.listen().host());
        InetAddress address = listen.isAnyLocalAddress() ? InetAddress.ofLiteral(settings.advertised().host()) : listen;
        NetworkInterface found;
        try {
            found = namespace == null ? NetworkInterface.getByInetAddress(address)
                    : namespace.call(() -> NetworkInterface.getByInetAddress(address));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException(e);
        }
        if (found == null) {
            throw new IOException("no interface holds " + address.getHostAddress()
                    + (namespace == null ? "" : " in network namespace " + namespace.name())
                    + ": set tunnel.xdp-interface to the underlay interface");
        }
        return found.getName();
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
    long mapFailures() {
        return mapFailures.get();
    }

    XdpFilter filter() {
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
