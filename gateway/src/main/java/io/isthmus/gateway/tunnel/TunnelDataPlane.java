package io.isthmus.gateway.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.tunnel.KernelRoutes;
import io.isthmus.tunnel.KeyExchange;
import io.isthmus.tunnel.LocalDestinations;
import io.isthmus.tunnel.PeerKeys;
import io.isthmus.tunnel.ReceiverIndexes;
import io.isthmus.tunnel.RekeyPolicy;
import io.isthmus.tunnel.TunnelDevice;
import io.isthmus.tunnel.TunnelEngine;
import io.isthmus.tunnel.TunnelIdentity;
import io.isthmus.tunnel.TunnelStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The gateway's encrypted data plane: the TUN device (in the gateway's network namespace or a configured one), the
 * {@link TunnelEngine}, the key exchange with every peer cluster over the peering stream, and the kernel routes to
 * the peers' ranges.
 *
 * <ul>
 *   <li>Keys: when a peer link comes up, an offer goes out on that very link; offers and accepts are answered on
 *       the link they came on. The key schedule binds the certificate this gateway presents and the one the link's
 *       peer authenticated with (mutual TLS), so the keys are good for this pair of gateways only. Every tunnel
 *       message also carries its sender's UDP endpoint: that is how a peer's endpoint is learned (and re-learned
 *       after a restart).</li>
 *   <li>Routes: once a second the ranges of each peer ({@link TunnelRoutes}: the address plan and the imports) are
 *       compared with what is installed; the engine's peers and the kernel routes through the device follow.</li>
 *   <li>A peer without any link for {@code forgetAfter} is removed (sessions retired, routes deleted); a shorter
 *       outage (a restart) keeps its routes, and traffic resumes with the next handshake.</li>
 * </ul>
 */
public final class TunnelDataPlane implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TunnelDataPlane.class);
    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration PLAN_TIMEOUT = Duration.ofSeconds(3);
    private static final Duration CONFIRMATION_PATIENCE = Duration.ofSeconds(3);
    private static final Duration CUT_OFF_TIMEOUT = Duration.ofSeconds(5);
    /**
     * The routing protocol number ({@code rtm_protocol}) of the routes this gateway installs: how it tells its
     * own from everyone else's ({@code ip route show proto 73}). Not in iproute2's list of reserved numbers.
     */
    public static final int ROUTE_PROTOCOL = KernelRoutes.ROUTE_PROTOCOL;

    private final TunnelSettings settings;
    private final ClusterId self;
    private final Supplier<X509Certificate> ownCertificate;
    private final PeerChannels channels;
    private final Supplier<CompletionStage<Optional<Plan>>> plan;
    private final Supplier<MeshView.Snapshot> mesh;
    private final Duration forgetAfter;
    private final Clock clock;
    private final TunnelDevice device;
    private final TunnelEngine engine;
    private final InetSocketAddress advertised;
    private final RekeyPolicy policy;
    private final ReceiverIndexes indexes;
    private final SecureRandom random = new SecureRandom();
    private final Map<ClusterId, Remote> remotes = new HashMap<>();
    private final KernelRoutes kernelRoutes;
    private volatile List<Cidr> installedView = List.of();
    private volatile List<String> blockedView = List.of();
    private volatile List<String> unansweredView = List.of();
    private final AtomicReference<Optional<Plan>> latestPlan = new AtomicReference<>(Optional.empty());
    private final TunnelMetrics metrics;
    /** The event loop: its one thread owns {@link #remotes} and the routes; every event and timer runs on it. */
    private final ScheduledExecutorService loop;
    private volatile Thread loopThread;
    private volatile TunnelRoutes routes = TunnelRoutes.none();
    private volatile List<String> routeErrors = List.of();

    /** One peer cluster as the data plane knows it. Touched only on the event loop. */
    private static final class Remote {
        final ClusterId cluster;
        PeerChannels.Link link;
        TunnelIdentity local;
        TunnelIdentity peer;
        KeyExchange exchange;
        PeerKeys keys;
        InetSocketAddress endpoint;
        boolean inEngine;
        List<Cidr> ranges = List.of();
        Instant disconnectedSince;
        Instant unconfirmedSince;

        Remote(ClusterId cluster) {
            this.cluster = cluster;
        }
    }

    private TunnelDataPlane(TunnelSettings settings, ClusterId self, Supplier<X509Certificate> ownCertificate,
                            PeerChannels channels, Supplier<CompletionStage<Optional<Plan>>> plan,
                            Supplier<MeshView.Snapshot> mesh, Duration forgetAfter, Clock clock,
                            TunnelDevice device, Metrics registry) {
        this.settings = settings;
        this.self = self;
        this.ownCertificate = ownCertificate;
        this.channels = channels;
        this.plan = plan;
        this.mesh = mesh;
        this.forgetAfter = forgetAfter;
        this.clock = clock;
        this.device = device;
        this.engine = device.engine();
        this.advertised = settings.advertised().toSocketAddress();
        this.policy = settings.rekeyPolicy();
        this.indexes = new ReceiverIndexes(random);
        this.metrics = TunnelMetrics.register(registry, this);
        this.kernelRoutes = new KernelRoutes(device.netlink(), device.name(), metrics::routeBlocked);
        java.util.concurrent.ThreadFactory threads = Thread.ofPlatform().name("tunnel-loop").daemon().factory();
        this.loop = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = threads.newThread(task);
            loopThread = thread;
            return thread;
        });
    }

    /**
     * Opens the TUN device (MTU, address, up), starts the engine and joins the peering channels. Fails, saying what
     * to do, without root (CAP_NET_ADMIN), in a namespace that does not exist, or on a UDP port in use.
     *
     * @param ownCertificate the certificate this gateway presents on peering now
     * @param plan           the address plan, empty where none is configured
     * @param forgetAfter    a peer without any link this long is removed (the imports' TTL)
     */
    public static TunnelDataPlane start(TunnelSettings settings, ClusterId self, Supplier<X509Certificate> ownCertificate,
                                        PeerChannels channels, Supplier<CompletionStage<Optional<Plan>>> plan,
                                        Supplier<MeshView.Snapshot> mesh, Duration forgetAfter, Metrics registry,
                                        Clock clock) {
        settings.advertised(); // a bad advertise fails before the device is opened
        TunnelDevice device = TunnelDevice.open(settings.deviceSpec(), clock);
        try {
            TunnelDataPlane plane = new TunnelDataPlane(settings, self, ownCertificate, channels, plan, mesh,
                    forgetAfter, clock, device, registry);
            plane.join();
            log.info("tunnel: device {}{} (mtu {}), listening on {}, advertised as {}; data path: {}", device.name(),
                    device.namespace().isEmpty() ? "" : " in network namespace " + device.namespace(),
                    settings.mtu(), HostPort.format(device.engine().localAddress()), settings.advertised(),
                    device.dataPath());
            return plane;
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /** The data plane when {@code isthmus.tunnel.enabled}; how the gateway starts it. */
    public static Optional<TunnelDataPlane> startIfEnabled(io.isthmus.gateway.config.GatewayConfig config,
                                                           io.isthmus.gateway.peering.PeeringTls tls,
                                                           PeerChannels channels,
                                                           io.isthmus.gateway.ipam.AddressPlan addressPlan,
                                                           Supplier<MeshView.Snapshot> mesh, Metrics metrics,
                                                           Clock clock) {
        if (!config.tunnel().enabled()) {
            return Optional.empty();
        }
        Supplier<CompletionStage<Optional<Plan>>> plan = () -> addressPlan.configured()
                ? addressPlan.current().thenApply(Optional::of)
                : CompletableFuture.completedFuture(Optional.empty());
        return Optional.of(start(config.tunnel(), config.clusterId(), tls::certificate, channels, plan, mesh,
                config.peering().importTtl(), metrics, clock));
    }

    /** Peering's callbacks become events on the loop; the tick is a timer on it. */
    private void join() {
        channels.handleOnLink(PeerMessage.KindCase.TUNNEL, (link, message) -> submit(() -> onMessage(link, message)));
        channels.whenLinkUp(link -> submit(() -> onLinkUp(link)));
        loop.scheduleWithFixedDelay(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void submit(Runnable event) {
        try {
            loop.execute(() -> {
                try {
                    event.run();
                } catch (RuntimeException e) {
                    log.warn("tunnel: an event failed: {}", e.toString(), e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: the event has nothing left to act on
        }
    }

    /**
     * A new link: offer keys on it (the peer may have restarted and lost its sessions) — unless an offer is out
     * already. Both streams of a pair come up together; two offers racing over two links could be answered in the
     * other order, and the responder would then wait for a confirmation of the answer we dropped.
     */
    private void onLinkUp(PeerChannels.Link link) {
        Remote remote = remotes.computeIfAbsent(link.remote(), Remote::new);
        remote.link = link;
        remote.disconnectedSince = null;
        try {
            bind(remote, link.peerCertificate());
            if (remote.exchange.pendingSince().isEmpty()) {
                send(remote, remote.keys.start());
            }
        } catch (RuntimeException e) {
            metrics.rejected(link.remote(), "bad-certificate");
            log.warn("tunnel: cannot key {}: {}", link.remote(), e.getMessage());
        }
        publish();
    }

    private void onMessage(PeerChannels.Link link, PeerMessage message) {
        ClusterId from = link.remote();
        TunnelMessage tunnel = message.getTunnel();
        metrics.received(from, tunnel.getKindCase());
        Remote remote = remotes.computeIfAbsent(from, Remote::new);
        remote.link = link;
        remote.disconnectedSince = null;
        try {
            bind(remote, link.peerCertificate());
            if (!tunnel.getEndpoint().isEmpty()) {
                learnEndpoint(remote, endpoint(tunnel.getEndpoint()));
            }
            if (!remote.inEngine) {
                throw new InvalidFieldException("tunnel-message.endpoint", "", "is needed before keys: the first "
                        + "message of a peer must say where its gateway receives");
            }
            remote.keys.onMessage(tunnel).ifPresent(reply -> send(remote, reply));
        } catch (InvalidFieldException e) {
            metrics.rejected(from, e.field());
            log.warn("tunnel: refused a key message from {}: {}", from, e.getMessage());
        }
        publish();
    }

    /** Makes the key exchange for the certificates in use now; a rotated certificate on either side starts anew. */
    private void bind(Remote remote, X509Certificate peerCertificate) {
        if (peerCertificate == null) {
            throw new InvalidFieldException("peer certificate", remote.cluster, "the link's peer presented none");
        }
        TunnelIdentity local = TunnelIdentity.of(self, ownCertificate.get());
        TunnelIdentity peer = TunnelIdentity.of(remote.cluster, peerCertificate);
        if (remote.keys == null || !local.equals(remote.local) || !peer.equals(remote.peer)) {
            remote.local = local;
            remote.peer = peer;
            remote.exchange = new KeyExchange(local, peer, settings.suite(), indexes, random, clock);
            remote.keys = new PeerKeys(engine, remote.exchange, policy, clock);
        }
    }

    private static InetSocketAddress endpoint(String text) {
        HostPort hostPort = HostPort.parse("tunnel-message.endpoint", text);
        InetAddress ip = IpLiteral.parse("tunnel-message.endpoint", hostPort.host());
        if (ip.isAnyLocalAddress() || ip.isMulticastAddress()) {
            throw new InvalidFieldException("tunnel-message.endpoint", text, "must be a unicast address");
        }
        return new InetSocketAddress(ip, hostPort.port());
    }

    private void learnEndpoint(Remote remote, InetSocketAddress endpoint) {
        if (endpoint.equals(remote.endpoint) && remote.inEngine) {
            return;
        }
        if (remote.inEngine) {
            engine.updatePeer(remote.cluster, endpoint, remote.ranges);
            log.info("tunnel: peer {} moved to {}", remote.cluster, HostPort.format(endpoint));
        } else {
            List<Cidr> ranges = routes.ranges().getOrDefault(remote.cluster, List.of());
            try {
                engine.addPeer(remote.cluster, endpoint, ranges);
                remote.ranges = ranges;
            } catch (InvalidFieldException e) {
                engine.addPeer(remote.cluster, endpoint, List.of()); // the next reconcile says what clashes
                remote.ranges = List.of();
            }
            remote.inEngine = true;
            log.info("tunnel: peer {} at {}, ranges {}", remote.cluster, HostPort.format(endpoint), remote.ranges);
            applyKernelRoutes();
        }
        remote.endpoint = endpoint;
    }

    private void send(Remote remote, TunnelMessage message) {
        TunnelMessage withEndpoint = message.toBuilder().setEndpoint(HostPort.format(advertised)).build();
        PeerMessage wire = PeerMessage.newBuilder().setTunnel(withEndpoint).build();
        boolean sent = remote.link != null && remote.link.send(wire);
        if (sent) {
            metrics.sent(remote.cluster, message.getKindCase());
        } else {
            metrics.rejected(remote.cluster, "not-sent"); // no open link took it: the offer is made again later
        }
    }

    /** Once a second: rekeys, retires, forgets peers long gone, and follows the plan and the imports. */
    private void tick() {
        try {
            plan.get().toCompletableFuture().orTimeout(PLAN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((p, failure) -> {
                        if (failure == null) {
                            latestPlan.set(p);
                        }
                    });
            Instant now = clock.instant();
            Set<ClusterId> connected = channels.connected();
            for (Remote remote : List.copyOf(remotes.values())) {
                if (!connected.contains(remote.cluster)) {
                    if (remote.disconnectedSince == null) {
                        remote.disconnectedSince = now;
                    } else if (!remote.disconnectedSince.plus(forgetAfter).isAfter(now)) {
                        forget(remote);
                        continue;
                    }
                }
                if (remote.keys != null && remote.link != null) {
                    Optional<TunnelMessage> offer = remote.keys.tick();
                    if (offer.isEmpty() && awaitingConfirmationTooLong(remote, now)) {
                        offer = Optional.of(remote.keys.start());
                    }
                    offer.ifPresent(o -> send(remote, o));
                }
            }
            reconcile();
        } catch (RuntimeException e) {
            log.warn("tunnel: tick failed: {}", e.toString(), e);
        }
    }

    /**
     * A responder that answered an offer seals with the new session only once a packet sealed with it arrived (the
     * initiator's keepalive, sent at once). If that keepalive is lost, or confirms an answer this side already
     * replaced (two offers answered out of order), and the initiator has nothing to send, the responder would stay
     * without a session it may seal with; after {@link #CONFIRMATION_PATIENCE} it offers keys
     * itself, so it becomes the initiator of a fresh session.
     */
    private boolean awaitingConfirmationTooLong(Remote remote, Instant now) {
        boolean waiting = remote.inEngine && engine.currentSession(remote.cluster) == null
                && engine.keyed(remote.cluster);
        if (!waiting) {
            remote.unconfirmedSince = null;
            return false;
        }
        if (remote.unconfirmedSince == null) {
            remote.unconfirmedSince = now;
            return false;
        }
        if (remote.unconfirmedSince.plus(CONFIRMATION_PATIENCE).isAfter(now)) {
            return false;
        }
        log.info("tunnel: no packet of {} confirmed our answer within {} s: offering keys ourselves",
                remote.cluster, CONFIRMATION_PATIENCE.toSeconds());
        metrics.rejected(remote.cluster, "unconfirmed");
        remote.unconfirmedSince = now;
        return true;
    }

    /**
     * {@code cluster}'s certificates were revoked or expired: its sessions end and its routes go now, not after
     * {@code forgetAfter}. A later link with a good certificate keys it anew.
     */
    public void cutOff(ClusterId cluster, String reason) {
        if (Thread.currentThread() == loopThread) {
            cut(cluster, reason);
            return;
        }
        try {
            loop.submit(() -> cut(cluster, reason)).get(CUT_OFF_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed: nothing left to cut
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            log.warn("tunnel: cutting off {} failed: {}", cluster, e.toString());
        }
    }

    private void cut(ClusterId cluster, String reason) {
        Remote remote = remotes.remove(cluster);
        if (remote == null) {
            return;
        }
        log.warn("tunnel: peer {} cut off ({} certificate): sessions and routes removed", cluster, reason);
        metrics.rejected(cluster, reason);
        if (remote.inEngine) {
            engine.removePeer(cluster);
        }
        applyKernelRoutes();
    }

    private void forget(Remote remote) {
        log.info("tunnel: peer {} has had no link for {} s: removing it and its routes", remote.cluster,
                forgetAfter.toSeconds());
        remotes.remove(remote.cluster);
        if (remote.inEngine) {
            engine.removePeer(remote.cluster);
        }
        applyKernelRoutes();
    }

    /** Brings the engine's ranges, the translation and the kernel routes in line with the plan and the imports. */
    private void reconcile() {
        MeshView.Snapshot view = mesh.get();
        TunnelRoutes wanted = TunnelRoutes.compute(self, latestPlan.get(), imported(view), exported(view));
        if (!wanted.problems().equals(routes.problems())) {
            wanted.problems().forEach(problem -> log.warn("tunnel: {}", problem));
        }
        routes = wanted;
        LocalDestinations destinations = LocalDestinations.of(wanted.local());
        if (!destinations.equals(engine.destinations())) {
            engine.deliverTo(destinations);
            log.info("tunnel: delivering to {}", wanted.local());
        }
        if (!wanted.translation().mappings().equals(engine.translation().mappings())) {
            engine.translate(wanted.translation());
            log.info("tunnel: translating {}", wanted.translation().mappings());
        }
        List<String> errors = new ArrayList<>();
        for (Remote remote : remotes.values()) {
            List<Cidr> ranges = wanted.ranges().getOrDefault(remote.cluster, List.of());
            if (remote.inEngine && !ranges.equals(remote.ranges)) {
                try {
                    engine.updatePeer(remote.cluster, remote.endpoint, ranges);
                    log.info("tunnel: ranges of {} now {}", remote.cluster, ranges);
                    remote.ranges = ranges;
                } catch (InvalidFieldException e) {
                    errors.add(e.getMessage()); // another peer still holds an overlapping range; next tick
                }
            }
        }
        routeErrors = List.copyOf(errors);
        applyKernelRoutes();
    }

    /** Routes every range of the peers in the engine into the device ({@link KernelRoutes}), and publishes the status. */
    private void applyKernelRoutes() {
        Map<Cidr, ClusterId> wanted = new java.util.LinkedHashMap<>();
        remotes.values().stream().filter(r -> r.inEngine).forEach(r -> r.ranges.forEach(c -> wanted.put(c, r.cluster)));
        kernelRoutes.apply(wanted);
        publish();
    }

    /** What the status getters read from other threads: copies made on the loop after each event. */
    private void publish() {
        installedView = kernelRoutes.installed();
        blockedView = kernelRoutes.blocked();
        unansweredView = remotes.values().stream().filter(r -> !r.inEngine && r.link != null)
                .map(r -> r.cluster + " has not answered our key offers (is isthmus.tunnel enabled there?)")
                .sorted().toList();
    }

    /** The IPs of this cluster's own exports. */
    static List<InetAddress> exported(MeshView.Snapshot snapshot) {
        List<InetAddress> ips = new ArrayList<>();
        if (snapshot != null) {
            snapshot.own().exports().forEach(export -> ips.addAll(export.ips()));
        }
        return ips;
    }

    /** The IPs of every served import, per cluster. */
    static Map<ClusterId, List<InetAddress>> imported(MeshView.Snapshot snapshot) {
        Map<ClusterId, List<InetAddress>> out = new TreeMap<>();
        if (snapshot == null) {
            return out;
        }
        snapshot.imports().forEach((cluster, remote) -> {
            if (remote.withdrawn()) {
                return;
            }
            List<InetAddress> ips = new ArrayList<>();
            for (ServiceExport export : remote.exports()) {
                for (Endpoint endpoint : export.endpoints()) {
                    ips.add(endpoint.ip());
                }
            }
            out.put(cluster, ips);
        });
        return out;
    }

    /** What {@code /metrics} and the status report show. */
    public TunnelStats stats() {
        return engine.stats();
    }

    /** The data path in words: TUN offloads or plain, queues, socket batching, cipher suite. */
    public String dataPath() {
        return device.dataPath();
    }

    /** The policy stage between the device and the seal, both ways, in words ({@link io.isthmus.tunnel.PacketPolicy}). */
    public String policy() {
        return engine.policy().describe();
    }

    public String device() {
        return device.name();
    }

    public String namespace() {
        return device.namespace();
    }

    /** Where the engine's sockets listen. */
    public InetSocketAddress localAddress() {
        return engine.localAddress();
    }

    public InetSocketAddress advertised() {
        return advertised;
    }

    public TunnelSettings settings() {
        return settings;
    }

    /** The routes and translation computed last, with what could not be routed. */
    public TunnelRoutes routes() {
        return routes;
    }

    /** The routes through the device now, and the ranges the engine refused (each a sentence). */
    public List<Cidr> installedRoutes() {
        return installedView;
    }

    public List<String> routeErrors() {
        return routeErrors;
    }

    /** Ranges not routed because a route this gateway did not install is in the way, each a sentence. */
    public List<String> blockedRoutes() {
        return blockedView;
    }

    /** Peer clusters linked by peering whose gateway has not answered our key offers yet (its tunnel may be off). */
    public List<String> unanswered() {
        return unansweredView;
    }

    TunnelMetrics metrics() {
        return metrics;
    }

    /** The engine itself: for tests in this package that play a peer which does not follow its own routes. */
    TunnelEngine engine() {
        return engine;
    }

    /** Stops keying, closes the device (that wakes the engine's readers), stops the engine; routes go with it. */
    @Override
    public void close() {
        loop.shutdownNow();
        try {
            loop.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        device.close(); // the loop has stopped: this thread owns the parts now
        kernelRoutes.clear();
        installedView = List.of();
        blockedView = List.of();
    }
}
