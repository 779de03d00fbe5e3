package io.isthmus.gateway.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.exports.RegistryClient;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.gateway.k8s.ipam.IpamPoolCatalog;
import io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings;
import io.isthmus.gateway.k8s.ipam.KubernetesPodClaims;
import io.isthmus.gateway.k8s.ipam.PodOwnerLiveness;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerLinks;
import io.isthmus.gateway.policy.PolicyStore;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.crd.ClusterPeerReconciler;
import io.isthmus.k8s.crd.GlobalNetworkPolicyReconciler;
import io.isthmus.k8s.crd.IpPoolReconciler;
import io.isthmus.k8s.mcs.McsSettings;
import io.isthmus.k8s.mcs.McsSync;
import io.isthmus.k8s.pods.PodOwners;
import io.isthmus.k8s.pods.WorkloadLabels;
import io.isthmus.gateway.policy.Workloads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The gateway's one way into its cluster's Kubernetes API (module k8s): one client, opened when any part of
 * {@code isthmus.kubernetes} is on, and the controllers that run on it, each started when what it needs exists:
 * <ol>
 *   <li>{@link #open}: the client, and the Pod/StatefulSet caches when {@code ipam.owner-source = pods} (the IPAM
 *       needs them as its owner source before it starts: {@link #liveness}, {@link #podKinds}, {@link #podClaims});</li>
 *   <li>{@link #startPools}: IPPools into the started IPAM ({@code ipam.pools});</li>
 *   <li>{@link #startServiceSync}: the MCS sync between the export registry, the mesh view and the API
 *       ({@code enabled});</li>
 *   <li>{@link #startPeers}: ClusterPeers as peer links ({@code peers});</li>
 *   <li>{@link #startPolicies}: GlobalNetworkPolicies into the policy book ({@code policies}); with it, from
 *       {@link #open} on, the pods' and namespaces' labels ({@link #workloadLabels}).</li>
 * </ol>
 * A part that is off is a no-op. {@link #notReadyReasons} gathers every part's; {@link #close} stops them in the
 * reverse order of their start, then the client.
 */
public final class KubernetesAdapter implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubernetesAdapter.class);
    /** How often the mesh view's directory is checked for a change (a reference comparison). */
    private static final Duration DIRECTORY_POLL = Duration.ofMillis(100);
    /** How often the link states are copied into the ClusterPeer statuses (written only when they changed). */
    private static final Duration PEER_STATUS_INTERVAL = Duration.ofSeconds(1);
    /** How often the policy book's versions are looked at for the GlobalNetworkPolicy statuses (a string compare). */
    private static final Duration POLICY_VERSION_POLL = Duration.ofMillis(500);

    /** One running part: how it stops, and why it is not ready. */
    private record Part(AutoCloseable stop, Supplier<List<String>> notReadyReasons) {
    }

    private final GatewayConfig.Kubernetes settings;
    private final ClusterId self;
    private final KubernetesClient client;
    private final boolean ownsClient;
    private final List<Part> parts = new CopyOnWriteArrayList<>();
    private final PodOwners pods;
    private final WorkloadLabels workloadLabels;
    private volatile McsSync serviceSync;

    private KubernetesAdapter(GatewayConfig.Kubernetes settings, ClusterId self, KubernetesClient client,
                              boolean ownsClient) {
        this.settings = settings;
        this.self = self;
        this.client = client;
        this.ownsClient = ownsClient;
        boolean podOwners = client != null
                && settings.ipam().ownerSource() == KubernetesIpamSettings.OwnerSource.PODS;
        this.pods = podOwners ? PodOwners.start(client, settings.ipam().resync()) : null;
        if (pods != null) {
            parts.add(new Part(pods, pods::notReadyReasons));
        }
        this.workloadLabels = client != null && settings.policies()
                ? WorkloadLabels.start(client, settings.ipam().resync()) : null;
        if (workloadLabels != null) {
            parts.add(new Part(workloadLabels, workloadLabels::notReadyReasons));
        }
    }

    /** Connects when any part is on (without waiting for the API server); else every step is a no-op. */
    public static KubernetesAdapter open(GatewayConfig.Kubernetes settings, ClusterId self) {
        if (!settings.anyEnabled()) {
            return new KubernetesAdapter(settings, self, null, false);
        }
        KubernetesAdapter adapter = new KubernetesAdapter(settings, self,
                KubernetesClients.connect(settings.masterUrl()), true);
        log.info("cluster {}: Kubernetes API {}: MCS sync {}, ClusterPeers {}, IPPools {}, IPAM owners from {}, "
                        + "GlobalNetworkPolicies and workload labels {}", self, adapter.client.getMasterUrl(),
                onOff(settings.enabled()), onOff(settings.peers()), onOff(settings.ipam().pools()),
                settings.ipam().ownerSource().label(), onOff(settings.policies()));
        return adapter;
    }

    /** With a client made elsewhere (a test's mock server); {@code ownsClient}: close it with this. */
    public static KubernetesAdapter open(GatewayConfig.Kubernetes settings, ClusterId self, KubernetesClient client,
                                         boolean ownsClient) {
        return new KubernetesAdapter(settings, self, client, ownsClient);
    }

    private static String onOff(boolean on) {
        return on ? "on" : "off";
    }

    /** The reclaimer's owner source, when it is the pods. */
    public Optional<OwnerLiveness> liveness() {
        return Optional.ofNullable(pods).map(cache -> new PodOwnerLiveness(cache, client));
    }

    /**
     * How the CNI endpoint confirms the pod a call claims: with the pod cache (owner-source = pods) against the API;
     * else nothing confirms a claim and {@link PoolCniBackend.PodClaims#UNCHECKED} is given.
     */
    public PoolCniBackend.PodClaims podClaims() {
        return pods == null ? PoolCniBackend.PodClaims.UNCHECKED : new KubernetesPodClaims(pods, client);
    }

    /**
     * Which pods keep their IP: with the pod cache, StatefulSet pods (by their controller); a pod not in the cache
     * yet, or without the cache, is answered by {@code fallback} (isthmus.ipam.fixed-ip-pods).
     */
    public PoolCniBackend.PodKinds podKinds(PoolCniBackend.PodKinds fallback) {
        if (pods == null) {
            return fallback;
        }
        return (namespace, name) -> pods.kindOf(namespace, name).orElseGet(() -> {
            OwnerKind kind = fallback.kindOf(namespace, name);
            log.info("pod {}/{} is not in the pod informer's cache yet: taken as {} from isthmus.ipam.fixed-ip-pods",
                    namespace, name, kind.wireName());
            return kind;
        });
    }

    /** IPPools become pools of {@code ipam} (within {@code plan}'s segments), when {@code ipam.pools} is on. */
    public void startPools(Ipam ipam, AddressPlan plan, Clock clock) {
        if (client != null && settings.ipam().pools()) {
            Controller<String> pools = IpPoolReconciler.start(client, new IpamPoolCatalog(ipam, plan),
                    settings.ipam().statusInterval(), ipam.settings().askTimeout().multipliedBy(3), clock);
            parts.add(new Part(pools, pools::notReadyReasons));
        }
    }

    /**
     * The MCS sync, when {@code enabled}: ServiceExports into {@code registry}, the {@code mesh} view's directory
     * into ServiceImports and EndpointSlices.
     */
    public void startServiceSync(RegistryClient registry, Supplier<MeshView.Snapshot> mesh) {
        if (client != null && settings.enabled()) {
            McsSync sync = new McsSync(client, new McsSettings(self, settings.namespaces(),
                    settings.resyncInterval(), DIRECTORY_POLL), new RegistryExportStore(registry, mesh),
                    () -> mesh.get().directory(), Clock.systemUTC()).start();
            serviceSync = sync;
            parts.add(new Part(sync, sync::notReadyReasons));
        }
    }

    /**
     * ClusterPeers as peer links, when {@code peers} is on: dialled and closed through {@code links}, their link
     * states from {@code mesh}, their CA bundles compared with {@code clustersetCa} (PEM); {@code configuredPeers}
     * ({@code peering.peers}) are never dialled twice nor closed.
     */
    public void startPeers(PeerLinks links, Supplier<MeshView.Snapshot> mesh, Path clustersetCa,
                           Set<HostPort> configuredPeers) {
        if (client != null && settings.peers()) {
            Controller<String> peers = ClusterPeerReconciler.start(client,
                    new PeerLinksDirectory(self, links, mesh, clustersetCa, configuredPeers), PEER_STATUS_INTERVAL,
                    settings.resyncInterval(), Clock.systemUTC());
            parts.add(new Part(peers, peers::notReadyReasons));
            log.info("cluster {}: ClusterPeers are dialled besides the {} configured peers", self,
                    configuredPeers.size());
        }
    }

    /**
     * GlobalNetworkPolicies as this cluster's edits of {@code store}'s book, when {@code policies} is on (and the
     * client open); their statuses show {@code enforcedVersion} (the book version the data path enforces) and the
     * peers' reported versions.
     */
    public void startPolicies(PolicyStore store, Supplier<String> enforcedVersion) {
        if (client != null && settings.policies()) {
            Controller<String> policies = GlobalNetworkPolicyReconciler.start(client,
                    new PolicyBookDocuments(self, store, enforcedVersion), settings.resyncInterval(),
                    POLICY_VERSION_POLL, Clock.systemUTC());
            parts.add(new Part(policies, policies::notReadyReasons));
        }
    }

    /**
     * The pods' addresses with their labels, and the namespaces' labels, of this cluster's API server, when
     * {@code policies} is on and the client open; empty without Kubernetes.
     */
    public Optional<WorkloadLabels> workloadLabels() {
        return Optional.ofNullable(workloadLabels);
    }

    /**
     * The same as the policy identities take them ({@link Workloads#NONE} without Kubernetes); converted again only
     * when the labels changed (it is read every second).
     */
    public Workloads workloads() {
        if (workloadLabels == null) {
            return Workloads.NONE;
        }
        WorkloadLabels.Snapshot now = workloadLabels.snapshot();
        ConvertedWorkloads last = converted;
        if (last != null && last.version() == now.version()) {
            return last.workloads();
        }
        Map<java.net.InetAddress, Workloads.Pod> pods = new java.util.HashMap<>();
        now.pods().forEach((address, pod) ->
                pods.put(address, new Workloads.Pod(address, pod.namespace(), pod.name(), pod.labels())));
        Workloads workloads = new Workloads(pods, now.namespaces());
        converted = new ConvertedWorkloads(now.version(), workloads);
        return workloads;
    }

    private record ConvertedWorkloads(long version, Workloads workloads) {
    }

    private volatile ConvertedWorkloads converted;

    /** The MCS sync, once started (for the status API). */
    public Optional<McsSync> serviceSync() {
        return Optional.ofNullable(serviceSync);
    }

    /** Why some part is not ready (informers not listed, a watch down, a key failing); empty when all are. */
    public List<String> notReadyReasons() {
        List<String> reasons = new ArrayList<>();
        parts.forEach(part -> reasons.addAll(part.notReadyReasons().get()));
        return reasons;
    }

    /** Stops the parts, the last started first, then the client; stop is not remove (nothing is deleted). */
    @Override
    public void close() {
        List<Part> running = new ArrayList<>(parts);
        parts.clear();
        for (Part part : running.reversed()) {
            try {
                part.stop().close();
            } catch (Exception e) {
                log.warn("cluster {}: stopping a Kubernetes part failed: {}", self, e.toString());
            }
        }
        if (ownsClient && client != null) {
            client.close();
        }
    }
}
