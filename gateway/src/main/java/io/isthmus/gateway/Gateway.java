package io.isthmus.gateway;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.dns.DnsConfig;
import io.isthmus.dns.DnsServer;
import io.isthmus.fastpath.sriov.SriovDiscovery;
import io.isthmus.gateway.admin.AdminGuard;
import io.isthmus.gateway.admin.AdminServer;
import io.isthmus.gateway.admin.AdminTokens;
import io.isthmus.gateway.admin.StatusSources;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.exports.ClusterExports;
import io.isthmus.gateway.exports.ExportEntry;
import io.isthmus.gateway.exports.ExportJournal;
import io.isthmus.gateway.exports.ExportRegistry;
import io.isthmus.gateway.exports.ExportSet;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.IpamMetrics;
import io.isthmus.gateway.ipam.IpamReadiness;
import io.isthmus.gateway.ipam.OwnersFileLiveness;
import io.isthmus.gateway.ipam.PeeringPlanTransport;
import io.isthmus.gateway.ipam.PlanEvidence;
import io.isthmus.gateway.ipam.AllocationTimer;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.gateway.ipam.VfCniBackend;
import io.isthmus.gateway.ipam.VfPools;
import io.isthmus.gateway.k8s.KubernetesAdapter;
import io.isthmus.gateway.metrics.DnsMetrics;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.EndpointScope;
import io.isthmus.gateway.peering.EndpointScopeFeed;
import io.isthmus.gateway.peering.ExportFeed;
import io.isthmus.gateway.peering.ImportFilter;
import io.isthmus.gateway.peering.MeshMetrics;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerChannels;
import io.isthmus.gateway.peering.PeerLinks;
import io.isthmus.gateway.peering.PeeringMetrics;
import io.isthmus.gateway.peering.PeeringService;
import io.isthmus.gateway.peering.PeeringTls;
import io.isthmus.gateway.peering.RevocationWatch;
import io.isthmus.gateway.pki.ReplicaTls;
import io.isthmus.gateway.policy.FlowEnds;
import io.isthmus.gateway.policy.PolicyEnforcement;
import io.isthmus.gateway.policy.PolicyExchange;
import io.isthmus.gateway.policy.PolicyRoutes;
import io.isthmus.gateway.policy.PolicyStatus;
import io.isthmus.gateway.policy.PolicySeals;
import io.isthmus.gateway.policy.PolicyStore;
import io.isthmus.gateway.policy.WorkloadExchange;
import io.isthmus.gateway.replicas.RefusalLog;
import io.isthmus.gateway.tunnel.TunnelStatus;
import io.isthmus.gateway.tunnel.TunnelWiring;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.ipam.cni.CniServer;
import io.isthmus.ipam.plan.SegmentLedger;
import io.isthmus.k8s.mcs.McsSync;
import io.isthmus.tunnel.TunnelDataPlane;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.JoinSeedNodes;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.StreamSupport;

/**
 * One gateway replica, composed: the constructor builds each part once, in start order, from the config, and hands
 * it exactly the narrow interfaces it needs (never the Gateway); {@link #close()} stops them in the reverse order.
 * The only place that puts the modules together. The accessors are for the process that runs the replica and for
 * tests; no part reaches through them.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Gateway.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TLS_RELOAD_INTERVAL = Duration.ofSeconds(2);
    /** How soon a peer certificate that expires while its links are open is noticed (revocation is at once). */
    private static final Duration EXPIRY_CHECK_INTERVAL = Duration.ofSeconds(1);
    /**
     * Changes within this window reach DNS together. Short, because a rebuild that takes longer than the window
     * lets the next changes queue up, and they are then rebuilt together anyway: bursts coalesce by themselves.
     */
    private static final Duration DIRECTORY_DEBOUNCE = Duration.ofMillis(5);

    private final GatewayConfig config;
    private final ActorSystem<Void> system;
    private final Lifecycle lifecycle;
    private final Metrics metrics;
    private final PeeringTls tls;
    private final RegistryClient exports;
    private final AtomicReference<MeshView.Snapshot> meshState = new AtomicReference<>();
    private final AtomicReference<ImportFilter> importFilter = new AtomicReference<>();
    private final AddressPlan addressPlan;
    private final Ipam ipam;
    private final Optional<TunnelDataPlane> tunnel;
    private final PolicyStore policies;
    private final PolicyEnforcement enforcement;
    private final DnsServer dns;
    private final InetSocketAddress peeringAddress;
    private final Readiness readiness;
    private final InetSocketAddress adminAddress;

    /** Starts a replica; on failure everything started so far is stopped again and the cause is thrown. */
    public static Gateway start(GatewayConfig config) {
        return start(config, Clock.systemUTC());
    }

    /**
     * As {@link #start(GatewayConfig)}, on {@code clock} as this replica's wall clock (exports' versions and stamps,
     * import TTLs, the peering heartbeats' wall clock): tests give one gateway of several a clock that is off.
     * Certificate validity is checked against the system clock, as the TLS stack does.
     */
    public static Gateway start(GatewayConfig config, Clock clock) {
        checkListenAddresses(config);
        // TLS before anything is written or joined: a gateway without its certificate must not start at all.
        Metrics metrics = new Metrics();
        PeeringMetrics peeringMetrics = PeeringMetrics.register(metrics);
        PeeringTls tls = PeeringTls.load(config.clusterId(), config.tlsDir(), peeringMetrics.tlsRejected(),
                config.peering().staleCrl());
        try {
            Files.createDirectories(config.dataDir());
        } catch (IOException e) {
            throw new InvalidFieldException("isthmus.data-dir", config.dataDir(), "cannot create it: " + e.getMessage());
        }
        // The replicas' Pekko cluster runs over TLS with this cluster's certificate, and admits only this cluster's.
        ReplicaTls replicaTls = tls.replicaTls(new RefusalLog(metrics, Clock.systemUTC()));
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), PekkoSettings.SYSTEM_NAME,
                PekkoSettings.setup(config, replicaTls));
        Lifecycle lifecycle = new Lifecycle();
        lifecycle.onStop("actor system", () -> terminate(system));
        try {
            return new Gateway(config, system, lifecycle, metrics, peeringMetrics, tls, clock);
        } catch (RuntimeException | Error e) {
            lifecycle.close();
            throw e;
        }
    }

    private Gateway(GatewayConfig config, ActorSystem<Void> system, Lifecycle lifecycle, Metrics metrics,
                    PeeringMetrics peeringMetrics, PeeringTls tls, Clock clock) {
        this.config = config;
        this.system = system;
        this.lifecycle = lifecycle;
        this.metrics = metrics;
        this.tls = tls;
        ClusterId self = config.clusterId();
        List<Supplier<List<String>>> readinessChecks = new ArrayList<>();
        Cluster cluster = Cluster.get(system);
        if (config.replicas().seedNodes().isEmpty() && config.replicas().kubernetesApi().isEmpty()) {
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
        readinessChecks.add(() -> cluster.selfMember().status() == MemberStatus.up() ? List.of()
                : List.of("replica not yet Up in its Pekko cluster (" + cluster.selfMember().status() + ")"));
        createJournalTables(config, system);

        // Every replica writes its cluster's exports itself, into a stream of its own; the merged view is this
        // replica's reading of all streams (see README.md, "Replicas"). The topic has a per-replica name: each replica
        // publishes its merged set to its own mesh view only.
        String replica = replicaName(config, cluster.selfMember().address());
        ActorRef<Topic.Command<ExportSet>> exportsTopic = system.systemActorOf(
                Topic.create(ExportSet.class, "isthmus-exports-" + self + "-" + replica), "exports-topic", Props.empty());
        ClusterExports merged = new ClusterExports(set -> exportsTopic.tell(Topic.publish(set)));
        this.exports = startExportRegistry(config, system, lifecycle, replica, merged, clock);

        ExportFeed feed = new ExportFeed(system, clock);
        // Endpoints from peers are admitted by the address plan (EndpointScope): refused until the plan is read,
        // where one is configured.
        EndpointScope scope = config.plan().isPresent() ? EndpointScope.planUnknown(self)
                : EndpointScope.withoutPlan(self, config.peering().endpointsWithoutPlan());
        ActorRef<MeshView.Command> mesh = system.systemActorOf(MeshView.create(self, exportsTopic, meshState::set, feed,
                        clock, config.peering().importTtl(), DIRECTORY_DEBOUNCE, config.peering().limits(),
                        peeringMetrics.refusalCounter(), ImportFilter.of(scope), importFilter::set),
                "mesh-view", Props.empty());
        MeshMetrics.register(metrics, meshState::get);
        EndpointScopeFeed.registerMetrics(metrics, importFilter::get);

        // Recover this replica's own stream now rather than on the first export (it holds its clock). The mesh
        // view gets the merged set here even if its topic subscription was not in place when publishing began.
        ExportSet recovered = await(exports.ask(ExportRegistry.GetExports::new, START_TIMEOUT),
                "recover this replica's export stream from the journal");
        merged.startPublishing();
        mesh.tell(new MeshView.OwnExportsChanged(merged.current()));
        log.info("cluster {}, replica {}: {} exports recovered (version {}), {} journal", self, replica,
                recovered.size(), recovered.version(),
                config.journal() instanceof GatewayConfig.PostgresJournal ? "shared" : "own");

        // --- IPAM: the address plan, the pools, and the CNI endpoint in front of them ---
        PeerChannels channels = new PeerChannels();
        GatewayConfig.Ipam ipamSettings = config.ipam();
        // Kubernetes: one client; pods as owners from here on, then IPPools, ServiceExports and ClusterPeers as the
        // parts they feed are built. Every controller is off unless configured.
        KubernetesAdapter kubernetes = lifecycle.started("kubernetes",
                KubernetesAdapter.open(config.kubernetes(), self));
        readinessChecks.add(kubernetes::notReadyReasons);
        this.addressPlan = startAddressPlan(config, system, channels, tls, clock, metrics);
        if (addressPlan.configured()) {
            var scopes = EndpointScopeFeed.start(system, addressPlan::current, mesh);
            lifecycle.onStop("endpoint scope feed", scopes::cancel);
        }
        OwnerLiveness liveness = kubernetes.liveness()
                .or(() -> ipamSettings.ownersFile().map(OwnersFileLiveness::new))
                .orElse(owners -> CompletableFuture.completedFuture(Map.of()));
        this.ipam = Ipam.start(system, self, addressPlan, liveness, ipamSettings.settings(), clock);
        kubernetes.startPools(ipam, addressPlan, clock);
        lifecycle.started("ipam metrics", IpamMetrics.start(system, ipam, metrics, Duration.ofSeconds(2)));
        IpamReadiness ipamReadiness = lifecycle.started("ipam readiness",
                IpamReadiness.start(system, ipam, Duration.ofMillis(100)));
        readinessChecks.add(() -> ipamReadiness.notReadyReason().stream().toList());
        AllocationTimer allocations = AllocationTimer.register(metrics);
        ipamSettings.cniSocket().ifPresent(socket -> startCni(socket, ipamSettings, ipam, kubernetes, lifecycle, metrics,
                allocations));

        // --- The encrypted data plane between clusters, when isthmus.tunnel is enabled ---
        this.tunnel = TunnelWiring.startIfEnabled(config, tls, channels, addressPlan, meshState::get, metrics, clock);
        tunnel.ifPresent(dataPlane -> lifecycle.started("tunnel", dataPlane));

        // A peer whose certificates are revoked or expired loses its imports, tunnel sessions and routes at once.
        RevocationWatch revocations = new RevocationWatch(tls, channels, clock, metrics);
        revocations.whenCutOff((peer, reason) -> mesh.tell(new MeshView.ClusterCutOff(peer, reason)));
        tunnel.ifPresent(dataPlane -> revocations.whenCutOff(dataPlane::cutOff));
        var expiryCheck = system.scheduler().scheduleWithFixedDelay(EXPIRY_CHECK_INTERVAL, EXPIRY_CHECK_INTERVAL,
                revocations::check, system.executionContext());
        lifecycle.onStop("certificate expiry check", expiryCheck::cancel);

        // --- The clusterset's network policies: kept in the data dir, exchanged over peering ---
        PolicySeals seals = new PolicySeals(tls::sign, tls.signedStatements());
        this.policies = PolicyStore.open(self, config.dataDir(), config.policies().maxPolicies(), seals::seal);
        PolicyExchange.start(policies, channels, seals, metrics);
        Supplier<CompletionStage<Optional<io.isthmus.ipam.plan.Plan>>> knownPlan = () -> addressPlan.configured()
                ? addressPlan.current().thenApply(Optional::of) : CompletableFuture.completedFuture(Optional.empty());
        this.enforcement = lifecycle.started("policy enforcement", PolicyEnforcement.start(policies,
                config.policies().crossClusterDefault(),
                new PolicyEnforcement.Sources(self, knownPlan, meshState::get, ipam, kubernetes::workloads,
                        WorkloadExchange.start(channels, config.policies().maxWorkloadsPerPeer(), metrics)), tunnel));
        enforcement.registerMetrics(metrics);
        // GlobalNetworkPolicy objects -> this cluster's edits of the book, when isthmus.kubernetes.policies = on.
        kubernetes.startPolicies(policies, () -> enforcement.table().policyVersion());

        // Kubernetes (MCS): ServiceExports -> the registry, the mesh view -> ServiceImports. Off unless enabled.
        kubernetes.startServiceSync(exports, meshState::get);

        try {
            this.dns = lifecycle.started("dns", DnsServer.start(dnsConfig(config), () -> meshState.get().directory()));
        } catch (BindException e) {
            throw new InvalidFieldException("isthmus.dns.port", config.dns().listen(), e.getMessage());
        }
        DnsMetrics.register(metrics, dns);

        ServerBinding peeringBinding = await(Http.get(system)
                .newServerAt(config.peering().listen().host(), config.peering().listen().port())
                .enableHttps(tls.serverConnectionContext())
                .bind(PeeringService.handler(self, feed, mesh, config.peering().heartbeatInterval(), peeringMetrics,
                        tls, channels, config.peering().limits(), system)), "bind the peering server");
        this.peeringAddress = peeringBinding.localAddress();
        lifecycle.onStop("peering server", peeringBinding::unbind);

        PeerLinks links = lifecycle.started("peer links", PeerLinks.start(system, self, config.peering().peers(), feed,
                mesh, config.peering().heartbeatInterval(), config.peering().reconnectMinBackoff(),
                config.peering().reconnectMaxBackoff(), peeringMetrics, tls, channels, config.peering().limits()));
        // ClusterPeer objects -> more peer links, when isthmus.kubernetes.peers = on.
        kubernetes.startPeers(links, meshState::get, config.tlsDir().resolve("ca.crt"), Set.copyOf(config.peering().peers()));
        var reload = system.scheduler().scheduleWithFixedDelay(TLS_RELOAD_INTERVAL, TLS_RELOAD_INTERVAL,
                tls::reloadIfChanged, system.executionContext());
        lifecycle.onStop("tls reload", reload::cancel);

        this.readiness = new Readiness(readinessChecks);
        registerProcessMetrics(metrics, readiness);
        AdminServer admin = lifecycle.started("admin server", startAdmin(config, system, metrics, tls,
                new AdminServer.AdminApi(exports, ipam, addressPlan, statusSources(kubernetes.serviceSync()), metrics::render,
                        new PolicyRoutes(policies, config.policies().crossClusterDefault(), enforcement::explain,
                                new FlowEnds(enforcement::workloads, meshState::get), StatusSections.JSON),
                        allocations)));
        this.adminAddress = admin.address();
        joinReplicas(config, system, lifecycle);
        log.info("gateway {} started: admin {}://{}, peering {}, dns {} (udp+tcp), replicas {}", self,
                admin.scheme(), HostPort.format(adminAddress), HostPort.format(peeringAddress), HostPort.format(dns.localAddress()),
                config.replicas().listen());
    }

    /** This replica's export registry, its own stream recovered; on a shared journal, following the others'. */
    private static RegistryClient startExportRegistry(GatewayConfig config, ActorSystem<Void> system, Lifecycle lifecycle,
                                                      String replica, ClusterExports merged, Clock clock) {
        String self = config.clusterId().value();
        ExportJournal journal = new ExportJournal(system, ExportRegistry.tag(self), merged);
        long offset = await(journal.recover(5), "recover this cluster's exports from the journal");
        // A shared journal has other writers: their events and ours are applied in the journal's order by the
        // reader. An embedded journal has only us: our writes are applied as they are stored.
        boolean sharedJournal = config.journal() instanceof GatewayConfig.PostgresJournal;
        if (sharedJournal) {
            lifecycle.started("export journal reader", journal.follow(offset));
        }
        Consumer<List<ExportEntry>> persisted = sharedJournal ? entries -> { } : merged::applyAll;
        return new RegistryClient(system.systemActorOf(ExportRegistry.create(self, replica, merged, persisted, clock),
                "export-registry", Props.empty()), system.scheduler());
    }

    /** This cluster's side of the clusterset address plan; plan messages from peers reach it over peering. */
    private static AddressPlan startAddressPlan(GatewayConfig config, ActorSystem<Void> system, PeerChannels channels,
                                                PeeringTls tls, Clock clock, Metrics metrics) {
        if (config.plan().isEmpty()) {
            return AddressPlan.none(config.clusterId(), config.ipam().settings().askTimeout(), metrics);
        }
        PlanEvidence evidence = new PlanEvidence(config.plan().get(), tls::sign, tls.signedStatements());
        AddressPlan plan = AddressPlan.start(system, config.plan().get(), new PeeringPlanTransport(channels, evidence),
                Optional.of(evidence), clock, config.ipam().settings().askTimeout(), metrics);
        plan.ledger().ifPresent(ledger -> {
            // `from` is the cluster of the link's certificate: the ledger believes a peer only about itself.
            channels.handle(PeerMessage.KindCase.PLAN, (from, message) -> plan.received(from, message.getPlan()));
            channels.whenConnected(peer -> ledger.tell(new SegmentLedger.PeerConnected(peer)));
        });
        return plan;
    }

    private static void startCni(Path socket, GatewayConfig.Ipam settings, Ipam ipam, KubernetesAdapter kubernetes,
                                 Lifecycle lifecycle, Metrics metrics, AllocationTimer allocations) {
        CniServer cni;
        VfPools vfs;
        try {
            vfs = VfPools.open(new SriovDiscovery(settings.sriovSysfsRoot()), settings.vfHoldingsFile(),
                    settings.settings().reservationTimeout(), Clock.systemUTC());
        } catch (IOException e) {
            throw new InvalidFieldException("isthmus.data-dir", settings.vfHoldingsFile(), e.getMessage());
        }
        try {
            cni = lifecycle.started("cni endpoint", CniServer.start(socket, new VfCniBackend(new PoolCniBackend(ipam,
                            kubernetes.podKinds(fixedIpPods(settings.fixedIpPods())), kubernetes.podClaims(),
                            settings.cniNode(), allocations), vfs),
                    CniServer.DEFAULT_BACKEND_TIMEOUT, settings.cniCallers()));
        } catch (IOException e) {
            throw new InvalidFieldException("isthmus.ipam.cni-socket", socket, "cannot listen there: " + e.getMessage());
        }
        metrics.counterFunction("isthmus_cni_refused_total", "CNI calls refused: caller (neither uid 0 nor "
                + "the caller group), not-owner (another container's or pod's lease), pod-not-confirmed (the "
                + "claimed pod is not the API's).", List.of("reason"), () -> java.util.Arrays.stream(
                CniServer.Refusal.values()).collect(java.util.stream.Collectors.toMap(
                r -> List.of(r.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')),
                r -> (double) cni.refused(r))));
        log.info("CNI endpoint on {}", socket);
    }

    private static AdminServer startAdmin(GatewayConfig config, ActorSystem<Void> system, Metrics metrics,
                                          PeeringTls tls, AdminServer.AdminApi api) {
        var auth = config.adminAuth();
        Optional<io.isthmus.gateway.pki.AdminTrust> adminTls = auth.tls() ? Optional.of(tls.adminTrust()) : Optional.empty();
        AdminServer admin = AdminServer.start(system, config.admin(),
                new AdminGuard(auth, new AdminTokens(auth.tokensFile(), Clock.systemUTC()), adminTls, metrics), api,
                adminTls.map(io.isthmus.gateway.pki.AdminTrust::serverContext));
        metrics.gauge("isthmus_admin_event_streams", "Dashboard event streams (/api/v1/events) open now.", List.of(),
                () -> Map.of(List.of(), (double) admin.openEventStreams()));
        if (auth.enabled()) {
            log.info("admin API ({}): callers need a token (hashed in {}; make one with `isthmus token create`){}",
                    admin.scheme(), auth.tokensFile(), auth.tls()
                            ? " or a client certificate of the clusterset CA (`isthmus mesh issue --role ROLE --user NAME`)" : "");
        } else {
            log.warn("admin API: authentication is OFF (isthmus.admin.auth.enabled = false): anyone who reaches {} "
                    + "controls this cluster", config.admin());
        }
        return admin;
    }

    /** What the status API reads, each from the part that owns it. */
    private StatusSources statusSources(Optional<McsSync> kubernetes) {
        Cluster cluster = Cluster.get(system);
        Supplier<List<StatusSources.ReplicaMember>> replicas = () -> StreamSupport
                .stream(cluster.state().getMembers().spliterator(), false)
                .map((Member m) -> new StatusSources.ReplicaMember(m.address().toString(), m.status().toString(),
                        m.equals(cluster.selfMember()))).toList();
        List<StatusSources.Section> sections = new ArrayList<>();
        kubernetes.ifPresent(mcs -> sections.add(new StatusSources.Section("kubernetes",
                () -> Optional.of(StatusSections.kubernetes(mcs.status())))));
        sections.add(new StatusSources.Section("certificates",
                () -> Optional.of(StatusSections.certificates(tls.certificate(), tls.caCertificate()))));
        sections.add(new StatusSources.Section("dns", () -> Optional.of(StatusSections.dns(config.dns(), dns))));
        sections.add(new StatusSources.Section("tunnel", () -> Optional.of(TunnelStatus.json(StatusSections.JSON, tunnel))));
        sections.add(new StatusSources.Section("policy", () -> Optional.of(PolicyStatus.json(StatusSections.JSON,
                policies, config.policies().crossClusterDefault(), enforcement.enforced()))));
        return new StatusSources(config.clusterId(), meshState::get, readiness::notReadyReasons, replicas,
                new StatusSources.Listening(HostPort.format(peeringAddress), HostPort.format(dns.localAddress()),
                        config.replicas().listen().toString()),
                tls, config.peering().limits().importNamespaces(), importFilter::get, List.copyOf(sections));
    }

    private static void registerProcessMetrics(Metrics metrics, Readiness readiness) {
        metrics.gauge("isthmus_jvm_heap_used_bytes", "Heap in use, after the last collection or now.", List.of(),
                () -> Map.of(List.of(), (double) java.lang.management.ManagementFactory.getMemoryMXBean()
                        .getHeapMemoryUsage().getUsed()));
        metrics.gauge("isthmus_ready", "1 when the replica is ready.", List.of(),
                () -> Map.of(List.of(), readiness.notReadyReasons().isEmpty() ? 1.0 : 0.0));
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

    /**
     * Joins the other replicas only now that this one has started: starting takes the most CPU, and a replica
     * whose heartbeats stall meanwhile would be taken for dead and downed. Nothing started so far needs the
     * others (every replica writes its own exports).
     */
    private static void joinReplicas(GatewayConfig config, ActorSystem<Void> system, Lifecycle lifecycle) {
        Cluster cluster = Cluster.get(system);
        if (config.replicas().kubernetesApi().isPresent()) {
            lifecycle.started("replica bootstrap", io.isthmus.gateway.replicas.KubernetesBootstrap.start(system));
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
    private static void createJournalTables(GatewayConfig config, ActorSystem<Void> system) {
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

    private static DnsConfig dnsConfig(GatewayConfig config) {
        return DnsConfig.of(config.dns().listen().toSocketAddress())
                .withZone(config.dns().zone())
                .withTtl(config.dns().ttl())
                .withLocalCluster(config.clusterId())
                .withLocality(config.dns().locality())
                .withClusterNames(config.dns().clusterNames())
                .withForwarding(config.dns().forwarding())
                .withRateLimit(config.dns().rateLimit());
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

    /** This replica's export registry: it accepts writes itself, whatever happens to the other replicas. */
    public RegistryClient exports() {
        return exports;
    }

    /** The latest state of the mesh view: exports, imports, links and the DNS directory. */
    public MeshView.Snapshot mesh() {
        return meshState.get();
    }

    /** This cluster's side of the clusterset address plan. */
    public AddressPlan addressPlan() {
        return addressPlan;
    }

    /** This cluster's copy of the clusterset's policies. */
    public PolicyStore policies() {
        return policies;
    }

    /** The IPAM facade: pools, allocations, reclaims. */
    public Ipam ipam() {
        return ipam;
    }

    /** The tunnel's data plane, when this replica runs one. */
    public Optional<TunnelDataPlane> tunnel() {
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
        return readiness.notReadyReasons();
    }

    /** Stops everything this replica started, in the reverse order, the actor system last; safe to call twice. */
    @Override
    public void close() {
        lifecycle.close();
    }

    private static void terminate(ActorSystem<Void> system) {
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
