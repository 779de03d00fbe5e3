package io.isthmus.gateway;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.dns.DnsConfig;
import io.isthmus.dns.DnsServer;
import io.isthmus.gateway.admin.AdminGuard;
import io.isthmus.gateway.admin.AdminServer;
import io.isthmus.gateway.admin.AdminTokens;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.OwnersFileLiveness;
import io.isthmus.gateway.ipam.PeeringPlanTransport;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.ipam.plan.SegmentLedger;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.ipam.cni.CniServer;
import io.isthmus.gateway.exports.ClusterExports;
import io.isthmus.gateway.exports.ExportEntry;
import io.isthmus.gateway.exports.ExportJournal;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.ExportFeed;
import io.isthmus.gateway.peering.EndpointScope;
import io.isthmus.gateway.peering.EndpointScopeFeed;
import io.isthmus.gateway.peering.ImportFilter;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.RevocationWatch;
import io.isthmus.gateway.peering.PeerLinks;
import io.isthmus.gateway.peering.PeeringMetrics;
import io.isthmus.gateway.peering.PeeringService;
import io.isthmus.gateway.peering.PeeringTls;
import io.isthmus.gateway.pki.ReplicaTls;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.persistence.jdbc.testkit.javadsl.SchemaUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * One gateway replica, wired: the Pekko cluster with sharding and the journal, the export registry, the mesh
 * view, peering (server and links), DNS and the admin HTTP server. The only place that puts the modules together.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final GatewayConfig config;
    private final ActorSystem<Void> system;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final AtomicReference<MeshView.Snapshot> meshState = new AtomicReference<>();
    private final AtomicReference<io.isthmus.gateway.peering.ImportFilter> importFilter = new AtomicReference<>();
    private final AtomicBoolean exportsRecovered = new AtomicBoolean();
    private final Metrics metrics;
    private final PeeringMetrics peeringMetrics;
    private final PeeringTls tls;
    private static final Duration TLS_RELOAD_INTERVAL = Duration.ofSeconds(2);
    /** How soon a peer certificate that expires while its links are open is noticed (revocation is at once). */
    private static final Duration EXPIRY_CHECK_INTERVAL = Duration.ofSeconds(1);
    /**
     * Changes within this window reach DNS together. Short, because a rebuild that takes longer than the window
     * lets the next changes queue up, and they are then rebuilt together anyway: bursts coalesce by themselves.
     */
    private static final Duration DIRECTORY_DEBOUNCE = Duration.ofMillis(5);
    private ActorRef<MeshView.Command> mesh;
    private Ipam ipam;
    private io.isthmus.gateway.ipam.IpamReadiness ipamReadiness;
    private AddressPlan addressPlan;
    private final PeerChannels channels = new PeerChannels();
    private RegistryClient registry;
    private DnsServer dns;
    private InetSocketAddress peeringAddress;
    private InetSocketAddress adminAddress;
    private java.util.Optional<io.isthmus.gateway.tunnel.TunnelDataPlane> tunnel = java.util.Optional.empty();
    private io.isthmus.gateway.k8s.KubernetesAdapter kubernetes;

    private Gateway(GatewayConfig config, ActorSystem<Void> system, Metrics metrics, PeeringMetrics peeringMetrics,
                    PeeringTls tls) {
        this.config = config;
        this.system = system;
        this.metrics = metrics;
        this.peeringMetrics = peeringMetrics;
        this.tls = tls;
    }

    /** Starts a replica; on failure everything started so far is stopped again and the cause is thrown. */
    public static Gateway start(GatewayConfig config) {
        checkListenAddresses(config);
        // TLS before anything is written or joined: a gateway without its certificate must not start at all.
        Metrics metrics = new Metrics();
        PeeringMetrics peeringMetrics = PeeringMetrics.register(metrics);
        PeeringTls tls = PeeringTls.load(config.clusterId(), config.tlsDir(), peeringMetrics.tlsRejected());
        try {
            Files.createDirectories(config.dataDir());
        } catch (IOException e) {
            throw new InvalidFieldException("isthmus.data-dir", config.dataDir(), "cannot create it: " + e.getMessage());
        }
        // The replicas' Pekko cluster runs over TLS with this cluster's certificate, and admits only this cluster's.
        ReplicaTls replicaTls = tls.replicaTls(new io.isthmus.gateway.replicas.RefusalLog(metrics, Clock.systemUTC()));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), PekkoSettings.SYSTEM_NAME,
                PekkoSettings.setup(config, replicaTls));
        Gateway gateway = new Gateway(config, system, metrics, peeringMetrics, tls);
        try {
            gateway.startParts();
            return gateway;
        } catch (RuntimeException | Error e) {
            gateway.close();
            throw e;
        }
    }

    private static void checkListenAddresses(GatewayConfig config) {
        List<HostPort> seen = new ArrayList<>();
        record Listen(String field, HostPort address) {
        }
        List<Listen> listens = List.of(new Listen("isthmus.admin.port", config.admin()),
                new Listen("isthmus.peering.port", config.peering().listen()),
                new Listen("isthmus.dns.port", config.dns().listen()),
                new Listen("isthmus.replicas.port", config.replicas().listen()));
        for (Listen listen : listens) {
            if (listen.address().port() != 0 && seen.stream().anyMatch(s -> s.port() == listen.address().port())) {
                throw new InvalidFieldException(listen.field(), listen.address().port(),
                        "the same port is given to two of admin, peering, dns and replicas");
            }
            seen.add(listen.address());
            PortCheck.requireFreeTcp(listen.field(), listen.address());
        }
        PortCheck.requireFreeUdp("isthmus.dns.port", config.dns().listen());
    }

    private void startParts() {
        ClusterId self = config.clusterId();
        Cluster cluster = Cluster.get(system);
        if (config.replicas().seedNodes().isEmpty() && config.replicas().kubernetesApi().isEmpty()) {
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        createJournalTables();

        // Every replica writes its cluster's exports itself, into a stream of its own; the merged view is this
        // replica's reading of all streams (see README.md, "Replicas"). The topic has a per-replica name: each replica
        // publishes its merged set to its own mesh view only.
        String replica = replicaName(config, cluster.selfMember().address());
        ActorRef<Topic.Command<ExportSet>> exportsTopic = system.systemActorOf(
                Topic.create(ExportSet.class, "isthmus-exports-" + self + "-" + replica), "exports-topic", Props.empty());
        ClusterExports merged = new ClusterExports(set -> exportsTopic.tell(Topic.publish(set)));
        String tag = ExportRegistry.tag(self.value());
        ExportJournal journal = new ExportJournal(system, tag, merged);
        long offset = await(journal.recover(5), "recover this cluster's exports from the journal");
        // A shared journal has other writers: their events and ours are applied in the journal's order by the
        // reader. An embedded journal has only us: our writes are applied as they are stored.
        boolean sharedJournal = config.journal() instanceof GatewayConfig.PostgresJournal;
        if (sharedJournal) {
            resources.add(journal.follow(offset));
        }
        Consumer<ExportEntry> persisted = sharedJournal ? entry -> { } : merged::apply;
        Clock clock = Clock.systemUTC();
        registry = new RegistryClient(system.systemActorOf(
                ExportRegistry.create(self.value(), replica, merged, persisted, clock), "export-registry",
                Props.empty()), system.scheduler());

        ExportFeed feed = new ExportFeed(system);
        // Endpoints from peers are admitted by the address plan (io.isthmus.gateway.peering.EndpointScope): refused
        // until the plan is read, where one is configured.
        EndpointScope scope = config.plan().isPresent() ? EndpointScope.planUnknown(self)
                : EndpointScope.withoutPlan(self, config.peering().endpointsWithoutPlan());
        mesh = system.systemActorOf(MeshView.create(self, exportsTopic, meshState::set, feed, clock,
                        config.peering().importTtl(), DIRECTORY_DEBOUNCE, config.peering().limits(),
                        peeringMetrics.refusalCounter(), ImportFilter.of(scope), importFilter::set),
                "mesh-view", Props.empty());
        EndpointScopeFeed.registerMetrics(metrics, importFilter::get);

        // Recover this replica's own stream now rather than on the first export (it holds its clock). The mesh
        // view gets the merged set here even if its topic subscription was not in place when publishing began.
        ExportSet recovered = await(registry.ask(ExportRegistry.GetExports::new, START_TIMEOUT),
                "recover this replica's export stream from the journal");
        merged.startPublishing();
        mesh.tell(new MeshView.OwnExportsChanged(merged.current()));
        exportsRecovered.set(true);
        log.info("cluster {}, replica {}: {} exports recovered (version {}), {} journal", self, replica,
                recovered.size(), recovered.version(), sharedJournal ? "shared" : "own");

        startIpam(clock);
        if (addressPlan.configured()) {
            var scopes = EndpointScopeFeed.start(system, addressPlan::current, mesh);
            resources.add(scopes::cancel);
        }

        // The encrypted data plane between clusters, when isthmus.tunnel is enabled (io.isthmus.gateway.tunnel).
        tunnel = io.isthmus.gateway.tunnel.TunnelDataPlane.startIfEnabled(config, tls, channels, addressPlan,
                meshState::get, metrics, clock);
        tunnel.ifPresent(resources::add);

        // A peer whose certificates are revoked or expired loses its imports, tunnel sessions and routes at once.
        RevocationWatch revocations = new RevocationWatch(tls, channels, clock, metrics);
        revocations.whenCutOff((peer, reason) -> mesh.tell(new MeshView.ClusterCutOff(peer, reason)));
        tunnel.ifPresent(dataPlane -> revocations.whenCutOff((peer, reason) -> dataPlane.cutOff(peer, reason)));
        var expiryCheck = system.scheduler().scheduleWithFixedDelay(EXPIRY_CHECK_INTERVAL, EXPIRY_CHECK_INTERVAL,
                revocations::check, system.executionContext());
        resources.add(expiryCheck::cancel);

        // Kubernetes (MCS): ServiceExports -> the registry, the mesh view -> ServiceImports. Off unless enabled.
        kubernetes.startServiceSync(registry, meshState::get);

        try {
            dns = DnsServer.start(dnsConfig(), () -> meshState.get().directory());
        } catch (BindException e) {
            throw new InvalidFieldException("isthmus.dns.port", config.dns().listen(), e.getMessage());
        }
        resources.add(dns);

        ServerBinding peeringBinding = await(Http.get(system)
                .newServerAt(config.peering().listen().host(), config.peering().listen().port())
                .enableHttps(tls.serverConnectionContext())
                .bind(PeeringService.handler(self, feed, mesh, config.peering().heartbeatInterval(), peeringMetrics,
                        tls, channels, config.peering().limits(), system)), "bind the peering server");
        peeringAddress = peeringBinding.localAddress();
        resources.add(() -> peeringBinding.unbind());

        PeerLinks links = PeerLinks.start(system, self, config.peering().peers(), feed, mesh,
                config.peering().heartbeatInterval(), config.peering().reconnectMinBackoff(),
                config.peering().reconnectMaxBackoff(), peeringMetrics, tls, channels, config.peering().limits());
        resources.add(links);
        // ClusterPeer objects -> more peer links, when isthmus.kubernetes.peers = on (io.isthmus.gateway.k8s).
        kubernetes.startPeers(links, meshState::get, config.tlsDir().resolve("ca.crt"),
                java.util.Set.copyOf(config.peering().peers()));
        var reload = system.scheduler().scheduleWithFixedDelay(TLS_RELOAD_INTERVAL, TLS_RELOAD_INTERVAL,
                tls::reloadIfChanged, system.executionContext());
        resources.add(reload::cancel);

        var adminAuth = config.adminAuth();
        AdminServer admin = AdminServer.start(system, this, metrics,
                new AdminGuard(adminAuth, new AdminTokens(adminAuth.tokensFile(), Clock.systemUTC()), metrics));
        if (adminAuth.enabled()) {
            log.info("admin API: callers need a token (hashed in {}; make one with `isthmus token create`)",
                    adminAuth.tokensFile());
        } else {
            log.warn("admin API: authentication is OFF (isthmus.admin.auth.enabled = false): anyone who reaches {} "
                    + "controls this cluster", config.admin());
        }
        adminAddress = admin.address();
        resources.add(admin);
        joinReplicas(cluster);
        log.info("gateway {} started: admin http://{}, peering {}, dns {} (udp+tcp), replicas {}", self,
                HostPort.format(adminAddress), HostPort.format(peeringAddress), HostPort.format(dns.localAddress()), config.replicas().listen());
    }

    /** The pools (sharded, event-sourced) and, where configured, the CNI endpoint in front of them. */
    private void startIpam(Clock clock) {
        GatewayConfig.Ipam settings = config.ipam();
        // --- Kubernetes (io.isthmus.gateway.k8s): one client; pods as owners now, IPPools once the IPAM runs ---
        kubernetes = io.isthmus.gateway.k8s.KubernetesAdapter.open(config.kubernetes(), config.clusterId());
        resources.add(kubernetes);
        OwnerLiveness liveness = kubernetes.liveness().or(() -> settings.ownersFile().map(OwnersFileLiveness::new))
                .orElse(owners -> java.util.concurrent.CompletableFuture.completedFuture(java.util.Map.of()));
        addressPlan = AddressPlan.start(system, config.clusterId(), config.plan(), new PeeringPlanTransport(channels),
                clock, settings.settings().askTimeout(), metrics);
        // `from` is the cluster of the link's certificate: the ledger believes a peer only about itself.
        addressPlan.ledger().ifPresent(ledger -> channels.handle(PeerMessage.KindCase.PLAN, (from, message) ->
                addressPlan.received(from, message.getPlan())));
        addressPlan.ledger().ifPresent(ledger -> channels.whenConnected(peer -> ledger.tell(new SegmentLedger.PeerConnected(peer))));
        ipam = Ipam.start(system, config.clusterId(), addressPlan, liveness, settings.settings(), clock);
        kubernetes.startPools(ipam, addressPlan, clock);
        resources.add(io.isthmus.gateway.ipam.IpamMetrics.start(system, ipam, metrics, Duration.ofSeconds(2)));
        ipamReadiness = io.isthmus.gateway.ipam.IpamReadiness.start(system, ipam, Duration.ofMillis(100));
        resources.add(ipamReadiness);
        if (settings.cniSocket().isPresent()) {
            Path socket = settings.cniSocket().get();
            try {
                CniServer cni = CniServer.start(socket, new PoolCniBackend(ipam,
                        kubernetes.podKinds(fixedIpPods(settings.fixedIpPods())), kubernetes.podClaims()),
                        CniServer.DEFAULT_BACKEND_TIMEOUT, settings.cniCallers());
                resources.add(cni);
                metrics.counterFunction("isthmus_cni_refused_total", "CNI calls refused: caller (neither uid 0 nor "
                        + "the caller group), not-owner (another container's or pod's lease), pod-not-confirmed (the "
                        + "claimed pod is not the API's).", List.of("reason"), () -> java.util.Arrays.stream(
                                CniServer.Refusal.values()).collect(java.util.stream.Collectors.toMap(
                                r -> List.of(r.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')),
                                r -> (double) cni.refused(r))));
                log.info("cluster {}: CNI endpoint on {}", config.clusterId(), socket);
            } catch (IOException e) {
                throw new InvalidFieldException("isthmus.ipam.cni-socket", socket, "cannot listen there: " + e.getMessage());
            }
        }
    }

    /**
     * Joins the other replicas only now that this one has started: starting takes the most CPU, and a replica
     * whose heartbeats stall meanwhile would be taken for dead and downed. Nothing started so far needs the
     * others (every replica writes its own exports).
     */
    private void joinReplicas(Cluster cluster) {
        if (config.replicas().kubernetesApi().isPresent()) {
            resources.add(io.isthmus.gateway.replicas.KubernetesBootstrap.start(system));
        }
        if (!config.replicas().seedNodes().isEmpty()) {
            List<Address> seeds = config.replicas().seedNodes().stream().map(AddressFromURIString::parse).toList();
            cluster.manager().tell(new JoinSeedNodes(seeds));
        }
    }

    /**
     * Replicas starting together race to create the tables in a shared database, and PostgreSQL's CREATE TABLE IF
     * NOT EXISTS can then fail with a duplicate key in its catalog: the tables exist by the next attempt.
     */
    private void createJournalTables() {
        String where = config.journal() instanceof GatewayConfig.PostgresJournal ? "the PostgreSQL journal"
                : "the journal in " + config.dataDir();
        for (int attempt = 1; ; attempt++) {
            try {
                await(SchemaUtils.createIfNotExists(system), "create the tables of " + where);
                return;
            } catch (IllegalStateException e) {
                if (attempt == 3) {
                    throw e;
                }
                log.info("creating the tables of {} failed (attempt {} of 3), trying again: {}", where, attempt,
                        e.getMessage());
            }
        }
    }

    /** Pods named by {@code isthmus.ipam.fixed-ip-pods} are StatefulSet-like (sticky); every other pod is plain. */
    private static PoolCniBackend.PodKinds fixedIpPods(List<String> globs) {
        List<java.util.regex.Pattern> patterns = globs.stream()
                .map(glob -> java.util.regex.Pattern.compile(java.util.Arrays.stream(glob.split("\\*", -1))
                        .map(java.util.regex.Pattern::quote).collect(java.util.stream.Collectors.joining(".*"))))
                .toList();
        return (namespace, name) -> patterns.stream().anyMatch(p -> p.matcher(namespace + "/" + name).matches())
                ? OwnerKind.STATEFUL_POD : OwnerKind.POD;
    }

    private DnsConfig dnsConfig() {
        return DnsConfig.of(config.dns().listen().toSocketAddress())
                .withZone(config.dns().zone())
                .withTtl(config.dns().ttl())
                .withLocalCluster(config.clusterId())
                .withLocality(config.dns().locality())
                .withClusterNames(config.dns().clusterNames())
                .withForwarding(config.dns().forwarding());
    }

    /** This replica's export registry: it accepts writes itself, whatever happens to the other replicas. */
    public RegistryClient exports() {
        return registry;
    }

    /**
     * The configured replica name, or one derived from the replica's address ("10-1-0-5-7073"): unique among the
     * cluster's live replicas, and stable across restarts wherever the address is.
     */
    static String replicaName(GatewayConfig config, Address self) {
        if (!config.replicas().name().isEmpty()) {
            return config.replicas().name();
        }
        String derived = (self.getHost().orElse("local") + "-" + self.getPort().orElse(0))
                .toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return derived.length() > 63 ? derived.substring(derived.length() - 63) : derived;
    }

    /** The endpoint filter of the imports now: its scope and what it refused. */
    public io.isthmus.gateway.peering.ImportFilter importFilter() {
        return importFilter.get();
    }

    /** The latest state of the mesh view: exports, imports, links and the DNS directory. */
    public MeshView.Snapshot mesh() {
        return meshState.get();
    }

    /** The Kubernetes MCS sync, when {@code isthmus.kubernetes.enabled}. */
    public java.util.Optional<io.isthmus.k8s.mcs.McsSync> kubernetes() {
        return kubernetes == null ? java.util.Optional.empty() : kubernetes.serviceSync();
    }

    /** This cluster's side of the clusterset address plan. */
    public AddressPlan addressPlan() {
        return addressPlan;
    }

    /** The IPAM facade: pools, allocations, reclaims. */
    public Ipam ipam() {
        return ipam;
    }

    /** The tunnel's data plane, when this replica runs one. */
    public java.util.Optional<io.isthmus.gateway.tunnel.TunnelDataPlane> tunnel() {
        return tunnel;
    }

    public PeeringTls tls() {
        return tls;
    }

    /** The Prometheus text of this replica's metrics, as /metrics serves it. */
    public String metricsText() {
        return metrics.render();
    }

    public GatewayConfig config() {
        return config;
    }

    public ActorSystem<Void> system() {
        return system;
    }

    public DnsServer dns() {
        return dns;
    }

    public InetSocketAddress peeringAddress() {
        return peeringAddress;
    }

    public InetSocketAddress adminAddress() {
        return adminAddress;
    }

    /** Reasons the replica is not ready to serve; empty when it is. */
    public List<String> notReadyReasons() {
        List<String> reasons = new ArrayList<>();
        if (!exportsRecovered.get()) {
            reasons.add("exports not yet recovered from the journal");
        }
        if (Cluster.get(system).selfMember().status() != MemberStatus.up()) {
            reasons.add("replica not yet Up in its Pekko cluster (" + Cluster.get(system).selfMember().status() + ")");
        }
        if (dns == null) {
            reasons.add("dns server not started");
        }
        if (peeringAddress == null) {
            reasons.add("peering server not bound");
        }
        if (kubernetes != null) {
            reasons.addAll(kubernetes.notReadyReasons());
        }
        if (ipamReadiness != null) {
            ipamReadiness.notReadyReason().ifPresent(reasons::add);
        }
        return reasons;
    }

    private static <T> T await(CompletionStage<T> stage, String what) {
        try {
            return stage.toCompletableFuture().get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while trying to " + what, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("could not " + what + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("could not " + what + " within " + START_TIMEOUT.toSeconds() + " s", e);
        }
    }

    /** Stops everything this replica started; safe to call more than once. */
    @Override
    public void close() {
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                log.warn("while stopping: {}", e.toString());
            }
        }
        resources.clear();
        system.terminate();
        try {
            system.getWhenTerminated().toCompletableFuture().get(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            log.warn("actor system did not stop cleanly: {}", e.toString());
        }
    }

    /** Blocks until the actor system has terminated (for the gateway command). */
    public void awaitTermination() throws InterruptedException, ExecutionException {
        system.getWhenTerminated().toCompletableFuture().get();
    }
}
