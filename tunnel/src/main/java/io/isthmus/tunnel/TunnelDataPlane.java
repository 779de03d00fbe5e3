package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The encrypted data plane between this cluster and its peers, in four parts driven by one event loop:
 *
 * <ul>
 *   <li>{@link TunnelDevice}: the TUN device, its netlink socket and network namespace, and the {@link TunnelEngine}
 *       (opened together, closed together);</li>
 *   <li>{@link PeerKeying}: the key exchange with each peer over the control plane's {@link ControlLinks};</li>
 *   <li>{@link PeerEndpoints}: where each peer receives (learnt from its key messages), the engine's peer table;</li>
 *   <li>{@link RouteReconciler}: the engine's ranges, destinations and translation and the kernel routes, following
 *       the {@link TunnelRoutes} wanted.</li>
 * </ul>
 *
 * The loop's one thread owns all four: link and message callbacks become events on it, and once a second a tick
 * rekeys, forgets peers long gone and asks for the routes wanted (they are followed when they arrive, as another
 * event). A peer without any link for {@code forgetAfter} is removed (sessions retired, routes deleted); a shorter
 * outage (a restart) keeps its routes, and traffic resumes with the next handshake. The policy stage sits in the
 * engine, between the device and the seal in both directions ({@link #usePolicy}).
 */
public final class TunnelDataPlane implements AutoCloseable {
    private static final TunnelLog log = new TunnelLog(TunnelDataPlane.class);
    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration ROUTES_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration CUT_OFF_TIMEOUT = Duration.ofSeconds(5);

    /**
     * @param device      what to open: the TUN device, its namespace, the engine's sockets
     * @param advertised  the endpoint peers are told to send to
     * @param rekeyPolicy when sessions are replaced
     * @param forgetAfter a peer without any link this long is removed
     * @param connectionTracking the policy stage's connection tracker ({@link #connectionTracker})
     */
    /** @param wireVersion the newest data-plane header version to agree on with peers ({@link WireFormat}) */
    public record Settings(TunnelDevice.Spec device, InetSocketAddress advertised, RekeyPolicy rekeyPolicy,
                           Duration forgetAfter, ConnectionTracker.Settings connectionTracking, int wireVersion) {
        /** With the connection tracker's defaults and this build's newest wire version. */
        public Settings(TunnelDevice.Spec device, InetSocketAddress advertised, RekeyPolicy rekeyPolicy,
                        Duration forgetAfter) {
            this(device, advertised, rekeyPolicy, forgetAfter, ConnectionTracker.Settings.defaults(), WireFormat.VERSION);
        }
    }

    private final Settings settings;
    private final ControlLinks links;
    private final Supplier<CompletionStage<TunnelRoutes>> wantedRoutes;
    private final InstantSource clock;
    private final TunnelDevice device;
    private final PeerKeying keying;
    private final PeerEndpoints endpoints;
    private final RouteReconciler routes;
    private final DataPlaneEvents events;
    private final ConnectionTracker connections;
    /** Peers known (by a link) but linked no more, since when. Owned by the loop. */
    private final Map<ClusterId, Instant> disconnectedSince = new HashMap<>();
    private final ScheduledExecutorService loop;
    private volatile Thread loopThread;
    private volatile View view = View.EMPTY;
    private volatile UnderlayFilter underlay = UnderlayFilter.none("none");

    /** What the status getters read from other threads: a copy made on the loop after each event. */
    private record View(TunnelRoutes routes, List<String> routeErrors, List<Cidr> installed, List<String> blocked,
                        List<String> unanswered) {
        static final View EMPTY = new View(TunnelRoutes.none(), List.of(), List.of(), List.of(), List.of());
    }

    private TunnelDataPlane(Settings settings, ClusterId self, Supplier<X509Certificate> ownCertificate,
                            ControlLinks links, Supplier<CompletionStage<TunnelRoutes>> wantedRoutes,
                            DataPlaneEvents events, InstantSource clock, TunnelDevice device) {
        this.settings = settings;
        this.links = links;
        this.wantedRoutes = wantedRoutes;
        this.events = events;
        this.clock = clock;
        this.device = device;
        this.connections = new ConnectionTracker(settings.connectionTracking(), clock);
        TunnelEngine engine = device.engine();
        this.keying = new PeerKeying(self, ownCertificate, settings.device().suite(), settings.wireVersion(),
                settings.rekeyPolicy(), engine, settings.advertised(), events, clock);
        this.endpoints = new PeerEndpoints(engine);
        this.routes = new RouteReconciler(engine, endpoints,
                new KernelRoutes(device.netlink(), device.name(), events::routeBlocked));
        ThreadFactory threads = Thread.ofPlatform().name("tunnel-loop").daemon().factory();
        this.loop = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = threads.newThread(task);
            loopThread = thread;
            return thread;
        });
    }

    /**
     * Opens the device (MTU, address, up), starts the engine and joins the links. Fails, saying what to do, without
     * root (CAP_NET_ADMIN), in a namespace that does not exist, or on a UDP port in use.
     *
     * @param ownCertificate the certificate this gateway presents on the links now
     * @param wantedRoutes   what to route, asked for once a second
     */
    public static TunnelDataPlane start(Settings settings, ClusterId self, Supplier<X509Certificate> ownCertificate,
                                        ControlLinks links, Supplier<CompletionStage<TunnelRoutes>> wantedRoutes,
                                        DataPlaneEvents events, InstantSource clock) {
        TunnelDevice device = TunnelDevice.open(settings.device(), clock);
        try {
            TunnelDataPlane plane = new TunnelDataPlane(settings, self, ownCertificate, links, wantedRoutes, events,
                    clock, device);
            links.onMessage((link, message) -> plane.submit(() -> plane.onMessage(link, message)));
            links.onLinkUp(link -> plane.submit(() -> plane.onLinkUp(link)));
            plane.loop.scheduleWithFixedDelay(plane::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
            log.info("device %s%s (mtu %d), listening on %s, advertised as %s; data path: %s", device.name(),
                    device.namespace().isEmpty() ? "" : " in network namespace " + device.namespace(),
                    settings.device().mtu(), PeerEndpoints.format(device.engine().localAddress()),
                    PeerEndpoints.format(settings.advertised()), device.dataPath());
            return plane;
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    private void submit(Runnable event) {
        try {
            loop.execute(() -> {
                try {
                    event.run();
                } catch (RuntimeException e) {
                    log.warn(e, "an event failed: %s", e);
                }
                publish();
            });
        } catch (RejectedExecutionException e) {
            // closing: the event has nothing left to act on
        }
    }

    private void onLinkUp(ControlLinks.Link link) {
        disconnectedSince.remove(link.remote());
        keying.linkUp(link);
    }

    /** Every message says where its sender receives; a peer must say so before its keys are taken. */
    private void onMessage(ControlLinks.Link link, TunnelMessage message) {
        ClusterId from = link.remote();
        events.keyMessageReceived(from, message.getKindCase());
        disconnectedSince.remove(from);
        try {
            keying.bind(link);
            if (!message.getEndpoint().isEmpty()) {
                InetSocketAddress endpoint = PeerEndpoints.parse(message.getEndpoint());
                if (endpoints.learn(from, endpoint, routes.wanted().rangesOf(from))) {
                    routes.applyKernelRoutes();
                }
            }
            if (!endpoints.inEngine(from)) {
                throw new InvalidFieldException(PeerEndpoints.FIELD, "", "is needed before keys: the first "
                        + "message of a peer must say where its gateway receives");
            }
            keying.onMessage(from, message);
        } catch (InvalidFieldException e) {
            events.keyMessageRefused(from, e.field());
            log.warn("refused a key message from %s: %s", from, e.getMessage());
        }
    }

    /** Once a second: forgets peers long gone, rekeys, and asks for the routes wanted. */
    private void tick() {
        try {
            Instant now = clock.instant();
            Set<ClusterId> connected = links.connected();
            for (ClusterId cluster : keying.known()) {
                if (connected.contains(cluster)) {
                    disconnectedSince.remove(cluster);
                } else if (!disconnectedSince.computeIfAbsent(cluster, c -> now).plus(settings.forgetAfter())
                        .isAfter(now)) {
                    log.info("peer %s has had no link for %d s: removing it and its routes", cluster,
                            settings.forgetAfter().toSeconds());
                    remove(cluster);
                }
            }
            keying.tick(now, endpoints::inEngine);
            wantedRoutes.get().toCompletableFuture().orTimeout(ROUTES_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((wanted, failure) -> {
                        if (failure == null) {
                            submit(() -> routes.follow(wanted));
                        } else {
                            log.warn("the routes wanted did not come: %s (the routes stay as they are)", failure);
                        }
                    });
        } catch (RuntimeException e) {
            log.warn(e, "tick failed: %s", e);
        }
        publish();
    }

    private void remove(ClusterId cluster) {
        keying.forget(cluster);
        disconnectedSince.remove(cluster);
        if (endpoints.remove(cluster)) {
            routes.applyKernelRoutes();
        }
    }

    /**
     * {@code cluster}'s certificates were revoked or expired: its sessions end and its routes go now, not after
     * {@code forgetAfter}. A later link with a good certificate keys it anew. Returns once done (or after 5 s).
     */
    public void cutOff(ClusterId cluster, String reason) {
        Runnable cut = () -> {
            if (keying.known().contains(cluster) || endpoints.inEngine(cluster)) {
                log.warn("peer %s cut off (%s certificate): sessions and routes removed", cluster, reason);
                events.keyMessageRefused(cluster, reason);
                remove(cluster);
                publish();
            }
        };
        if (Thread.currentThread() == loopThread) {
            cut.run();
            return;
        }
        try {
            loop.submit(cut).get(CUT_OFF_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed: nothing left to cut
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("cutting off %s failed: %s", cluster, e);
        }
    }

    /** Copies what other threads read; on the loop. */
    private void publish() {
        KernelRoutes kernel = routes.kernel();
        List<String> unanswered = keying.known().stream().filter(c -> !endpoints.inEngine(c))
                .map(c -> c + " has not answered our key offers (is isthmus.tunnel enabled there?)").sorted().toList();
        view = new View(routes.wanted(), routes.errors(), kernel.installed(), kernel.blocked(), unanswered);
    }

    /** Puts a policy stage between the device and the seal, both ways; {@link PacketPolicy#ALLOW_ALL} by default. */
    public void usePolicy(PacketPolicy policy) {
        device.engine().usePolicy(policy);
    }

    /**
     * Puts {@code filter} in front of the engine's sockets (see {@link UnderlayFilter}); the data plane closes it
     * when it closes. A second call replaces and closes the first.
     */
    public void useUnderlayFilter(UnderlayFilter filter) {
        UnderlayFilter previous = underlay;
        device.engine().useUnderlayFilter(filter);
        underlay = filter;
        if (previous != filter) {
            previous.close();
        }
    }

    /** What runs in front of the sockets, or why nothing does. */
    public UnderlayFilter underlayFilter() {
        return underlay;
    }

    /** Per open session and lane, the lowest counter its replay window accepts (see {@link TunnelEngine#receiveFloors}). */
    public Map<Integer, long[]> receiveFloors() {
        return device.engine().receiveFloors();
    }

    /** The policy stage in words. */
    public String policy() {
        return device.engine().policy().describe();
    }

    /** What the policy stage in force counted (unreadable packets, connection tracking). */
    public PacketPolicy.Counters policyCounters() {
        return device.engine().policy().counters();
    }

    /**
     * The connection tracker for this data plane's policy stage (settings from {@link Settings#connectionTracking},
     * on the data plane's clock): give it to the {@link PolicyPacketFilter} plugged in with {@link #usePolicy}.
     */
    public ConnectionTracker connectionTracker() {
        return connections;
    }

    /** Packets, bytes, drops and handshakes per peer: what the metrics and the status report show. */
    public TunnelStats stats() {
        return device.engine().stats();
    }

    /** The data path in words: TUN offloads or plain, queues, socket batching, cipher suite. */
    public String dataPath() {
        return device.dataPath();
    }

    public String device() {
        return device.name();
    }

    public String namespace() {
        return device.namespace();
    }

    public int mtu() {
        return settings.device().mtu();
    }

    /** Where the engine's sockets listen. */
    public InetSocketAddress localAddress() {
        return device.engine().localAddress();
    }

    public InetSocketAddress advertised() {
        return settings.advertised();
    }

    /** The routes followed last, with what could not be routed. */
    public TunnelRoutes routes() {
        return view.routes();
    }

    /** The routes through the device now. */
    public List<Cidr> installedRoutes() {
        return view.installed();
    }

    /** The ranges the engine refused in the last round (another peer holds an overlapping one), each a sentence. */
    public List<String> routeErrors() {
        return view.routeErrors();
    }

    /** Ranges not routed because a route this gateway did not install is in the way, each a sentence. */
    public List<String> blockedRoutes() {
        return view.blocked();
    }

    /** Peer clusters linked whose gateway has not answered our key offers yet (its tunnel may be off). */
    public List<String> unanswered() {
        return view.unanswered();
    }

    /** The engine itself, for tests that play a peer which does not follow its own routes. */
    public TunnelEngine engine() {
        return device.engine();
    }

    /** Stops the loop, closes the device (that wakes the engine's readers) and the engine; the routes go with it. */
    @Override
    public void close() {
        loop.shutdownNow();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        device.close(); // the loop has stopped: this thread owns the parts now
        underlay.close();
        routes.kernel().clear();
        view = View.EMPTY;
    }
}
