package io.isthmus.gateway.tunnel;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.Endpoint;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.ServiceExport;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.tunnel.TunnelMessage;
import io.isthmus.fastpath.IpPrefix;
import io.isthmus.fastpath.NetNamespace;
import io.isthmus.fastpath.Route;
import io.isthmus.fastpath.RouteNetlink;
import io.isthmus.fastpath.TunDevice;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.ipam.plan.Plan;
import io.isthmus.tunnel.KeyExchange;
import io.isthmus.tunnel.LocalDestinations;
import io.isthmus.tunnel.OffloadTunPacketQueue;
import io.isthmus.tunnel.PacketQueue;
import io.isthmus.tunnel.PeerKeys;
import io.isthmus.tunnel.ReceiverIndexes;
import io.isthmus.tunnel.RekeyPolicy;
import io.isthmus.tunnel.TunPacketQueue;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
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
    /**
     * The routing protocol number ({@code rtm_protocol}) of the routes this gateway installs: how it tells its
     * own from everyone else's ({@code ip route show proto 73}). Not in iproute2's list of reserved numbers.
     */
    public static final int ROUTE_PROTOCOL = 73;

    private final TunnelSettings settings;
    private final ClusterId self;
    private final Supplier<X509Certificate> ownCertificate;
    private final PeerChannels channels;
    private final Supplier<CompletionStage<Optional<Plan>>> plan;
    private final Supplier<MeshView.Snapshot> mesh;
    private final Duration forgetAfter;
    private final Clock clock;
    private final NetNamespace namespace;
    private final TunDevice tun;
    private final RouteNetlink netlink;
    private final TunnelEngine engine;
    private final String dataPath;
    private final InetSocketAddress advertised;
    private final RekeyPolicy policy;
    private final ReceiverIndexes indexes;
    private final SecureRandom random = new SecureRandom();
    private final Map<ClusterId, Remote> remotes = new HashMap<>();
    private final Set<Cidr> installedRoutes = new LinkedHashSet<>();
    /** Ranges not routed because a route this gateway did not install is there: the range → that route, in words. */
    private final Map<Cidr, String> blockedRoutes = new TreeMap<>();
    private final AtomicReference<Optional<Plan>> latestPlan = new AtomicReference<>(Optional.empty());
    private final TunnelMetrics metrics;
    private final ScheduledExecutorService ticker;
    private volatile TunnelRoutes routes = TunnelRoutes.none();
    private volatile List<String> routeErrors = List.of();

    /** One peer cluster as the data plane knows it. Guarded by the data plane's lock. */
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
                            NetNamespace namespace, TunDevice tun, RouteNetlink netlink, TunnelEngine engine,
                            String dataPath, Metrics registry) {
        this.settings = settings;
        this.self = self;
        this.ownCertificate = ownCertificate;
        this.channels = channels;
        this.plan = plan;
        this.mesh = mesh;
        this.forgetAfter = forgetAfter;
        this.clock = clock;
        this.namespace = namespace;
        this.tun = tun;
        this.netlink = netlink;
        this.engine = engine;
        this.dataPath = dataPath;
        this.advertised = settings.advertised().toSocketAddress();
        this.policy = settings.rekeyPolicy();
        this.indexes = new ReceiverIndexes(random);
        this.metrics = TunnelMetrics.register(registry, this);
        this.ticker = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("tunnel-keys").daemon().factory());
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
        NetNamespace namespace = settings.namespace().isEmpty() ? null : NetNamespace.named(settings.namespace());
        String where = namespace == null ? "" : " in network namespace " + namespace.name();
        TunDevice tun = null;
        RouteNetlink netlink = null;
        TunnelEngine engine = null;
        try {
            String dataPath;
            boolean offloads = settings.offloads() != TunnelSettings.Offloads.OFF;
            try {
                tun = inside(namespace, () -> TunDevice.open(settings.device(), offloads
                        ? OffloadTunPacketQueue.deviceOptions(settings.queues())
                        : TunDevice.Options.defaults().withQueues(settings.queues())));
                dataPath = offloads ? "TUN with offloads (vnet header, checksum, TSO4, TSO6)" : "plain TUN (offloads = off)";
            } catch (java.io.IOException e) {
                if (settings.offloads() != TunnelSettings.Offloads.AUTO) {
                    throw e;
                }
                String reason = e.getMessage();
                TunDevice.Options plain = TunDevice.Options.defaults().withQueues(settings.queues());
                tun = inside(namespace, () -> TunDevice.open(settings.device(), plain));
                dataPath = "plain TUN (offloads unavailable: " + reason + ")";
                log.warn("tunnel: the TUN device took no offloads ({}); running plain TUN", reason);
            }
            TunDevice device = tun;
            netlink = inside(namespace, RouteNetlink::open);
            netlink.setMtu(device.name(), settings.mtu());
            if (settings.address().isPresent()) {
                netlink.addAddress(device.name(), settings.address().get());
            }
            netlink.setUp(device.name(), true);
            List<PacketQueue> queues = device.options().vnetHeader() ? OffloadTunPacketQueue.of(device)
                    : TunPacketQueue.of(device);
            TunnelEngine.Config config = new TunnelEngine.Config(settings.listen().toSocketAddress(), settings.mtu(),
                    32, settings.rekeyPolicy().grace(), 4 << 20, io.isthmus.tunnel.Translation.none(),
                    true); // UDP GSO/GRO where the kernel has it; the engine falls back by itself and udpPath() says so
            TunnelEngine.ThreadStarter threads = namespace == null ? TunnelEngine.ThreadStarter.platform()
                    : namespace::startThread;
            engine = inside(namespace, () -> TunnelEngine.start(config, queues, threads, clock));
            dataPath += ", " + settings.queues() + (settings.queues() == 1 ? " queue" : " queues")
                    + ", batched UDP (recvmmsg/sendmmsg; " + engine.udpPath() + "), "
                    + settings.suite().name().toLowerCase().replace('_', '-');
            TunnelDataPlane plane = new TunnelDataPlane(settings, self, ownCertificate, channels, plan, mesh,
                    forgetAfter, clock, namespace, device, netlink, engine, dataPath, registry);
            plane.join();
            log.info("tunnel: device {}{} (mtu {}), listening on {}, advertised as {}; data path: {}", device.name(),
                    where, settings.mtu(), HostPort.format(engine.localAddress()), settings.advertised(), dataPath);
            return plane;
        } catch (InvalidFieldException e) {
            closeQuietly(engine, netlink, tun);
            throw e;
        } catch (Exception e) {
            closeQuietly(engine, netlink, tun);
            throw new IllegalStateException("cannot start the tunnel (isthmus.tunnel, device " + settings.device()
                    + where + ", listen " + settings.listen() + "): " + e.getMessage(), e);
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

    private static <T> T inside(NetNamespace namespace, Callable<T> task) throws Exception {
        return namespace == null ? task.call() : namespace.call(task);
    }

    private static void closeQuietly(TunnelEngine engine, RouteNetlink netlink, TunDevice tun) {
        if (tun != null) {
            tun.close();
        }
        if (engine != null) {
            engine.close();
        }
        if (netlink != null) {
            netlink.close();
        }
    }

    private void join() {
        channels.handleOnLink(PeerMessage.KindCase.TUNNEL, this::onMessage);
        channels.whenLinkUp(this::onLinkUp);
        ticker.scheduleWithFixedDelay(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * A new link: offer keys on it (the peer may have restarted and lost its sessions) — unless an offer is out
     * already. Both streams of a pair come up together; two offers racing over two links could be answered in the
     * other order, and the responder would then wait for a confirmation of the answer we dropped.
     */
    private synchronized void onLinkUp(PeerChannels.Link link) {
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
    }

    private synchronized void onMessage(PeerChannels.Link link, PeerMessage message) {
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
            synchronized (this) {
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
            }
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
    public synchronized void cutOff(ClusterId cluster, String reason) {
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

    /**
     * Routes every peer range into the device, never over a route it did not install: each is added with
     * {@code NLM_F_EXCL} and marked {@link #ROUTE_PROTOCOL}; where the kernel says one exists to that destination
     * already, the table is read and a route of ours through the device is taken as installed, anything else is
     * left alone, reported (status, log) and counted. Only routes of ours are deleted (the delete names our
     * protocol and device).
     */
    private void applyKernelRoutes() {
        Map<Cidr, ClusterId> wanted = new java.util.LinkedHashMap<>();
        remotes.values().stream().filter(r -> r.inEngine).forEach(r -> r.ranges.forEach(c -> wanted.put(c, r.cluster)));
        for (Cidr gone : List.copyOf(installedRoutes)) {
            if (!wanted.containsKey(gone)) {
                try {
                    netlink.deleteRoute(route(gone));
                } catch (java.io.IOException e) {
                    log.warn("tunnel: could not delete route {} dev {}: {}", gone, tun.name(), e.getMessage());
                }
                installedRoutes.remove(gone);
            }
        }
        blockedRoutes.keySet().retainAll(wanted.keySet());
        List<Route> table = null;
        for (Map.Entry<Cidr, ClusterId> entry : wanted.entrySet()) {
            Cidr range = entry.getKey();
            if (installedRoutes.contains(range)) {
                continue;
            }
            try {
                table = table != null ? table : netlink.routes(Route.MAIN_TABLE);
            } catch (java.io.IOException e) {
                log.warn("tunnel: could not list the routes to check {}: {}", range, e.getMessage());
                return;
            }
            // Any route to the same destination, whatever its metric: one with a higher metric than ours would be
            // shadowed by ours, which is as good as replaced.
            IpPrefix destination = IpPrefix.parse(range.toString());
            List<Route> there = table.stream().filter(r -> r.destination().equals(destination)).toList();
            if (!there.isEmpty() && there.stream().allMatch(this::ours)) {
                installedRoutes.add(range); // ours, from before
                continue;
            }
            Optional<String> foreign = there.stream().filter(r -> !ours(r))
                    .map(r -> r + " (protocol " + r.protocol() + ")").findFirst();
            if (foreign.isEmpty()) {
                try {
                    netlink.addRoute(route(range)); // NLM_F_EXCL: never over a route that came in meanwhile
                    installedRoutes.add(range);
                    if (blockedRoutes.remove(range) != null) {
                        log.info("tunnel: {} is routed into {} now (the route in its way is gone)", range, tun.name());
                    }
                    continue;
                } catch (io.isthmus.fastpath.SystemCallException e) {
                    if (!e.alreadyExists()) {
                        log.warn("tunnel: could not route {} into {}: {}", range, tun.name(), e.getMessage());
                        continue;
                    }
                    foreign = Optional.of("a route of another type (blackhole, unreachable, multipath)");
                } catch (java.io.IOException e) {
                    log.warn("tunnel: could not route {} into {}: {}", range, tun.name(), e.getMessage());
                    continue;
                }
            }
            if (blockedRoutes.put(range, foreign.get()) == null) {
                metrics.routeBlocked(entry.getValue());
                log.warn("tunnel: not routing {} of {} into {}: the route {} was not installed by this gateway and is"
                        + " left alone", range, entry.getValue(), tun.name(), foreign.get());
            }
        }
    }

    private boolean ours(Route route) {
        return route.protocol() == ROUTE_PROTOCOL && route.device().equals(tun.name());
    }

    private Route route(Cidr range) {
        return Route.to(IpPrefix.parse(range.toString()), tun.name()).withProtocol(ROUTE_PROTOCOL);
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
        return dataPath;
    }

    public String device() {
        return tun.name();
    }

    public String namespace() {
        return namespace == null ? "" : namespace.name();
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
    public synchronized List<Cidr> installedRoutes() {
        return List.copyOf(installedRoutes);
    }

    public List<String> routeErrors() {
        return routeErrors;
    }

    /** Ranges not routed because a route this gateway did not install is in the way, each a sentence. */
    public synchronized List<String> blockedRoutes() {
        return blockedRoutes.entrySet().stream().map(e -> e.getKey() + " not routed into " + tun.name() + ": "
                + e.getValue() + " is there, not installed by this gateway (left alone)").toList();
    }

    /** Peer clusters linked by peering whose gateway has not answered our key offers yet (its tunnel may be off). */
    public synchronized List<String> unanswered() {
        return remotes.values().stream().filter(r -> !r.inEngine && r.link != null)
                .map(r -> r.cluster + " has not answered our key offers (is isthmus.tunnel enabled there?)")
                .sorted().toList();
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
        ticker.shutdownNow();
        try {
            ticker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            tun.close();
            engine.close();
            netlink.close();
            installedRoutes.clear();
            blockedRoutes.clear();
        }
    }
}
