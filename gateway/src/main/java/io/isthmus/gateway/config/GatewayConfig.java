package io.isthmus.gateway.config;

import io.isthmus.api.ClusterId;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Everything one gateway replica is started with, validated; made by {@link GatewayConfigLoader}. */
public record GatewayConfig(
        ClusterId clusterId,
        Path dataDir,
        HostPort admin,
        io.isthmus.gateway.admin.AdminAuthSettings adminAuth,
        Peering peering,
        Dns dns,
        Replicas replicas,
        Path tlsDir,
        Journal journal,
        boolean journalSchemaVersions,
        Ipam ipam,
        java.util.Optional<io.isthmus.ipam.plan.PlanConfig> plan,
        io.isthmus.gateway.tunnel.TunnelSettings tunnel,
        Kubernetes kubernetes,
        Policies policies,
        java.util.Optional<Path> joinTokenFile) {

    /**
     * {@code isthmus.policy}: the clusterset default for flows no rule decides, the limit of policies, and of the pods
     * a peer may describe to this cluster's identity view.
     */
    public record Policies(io.isthmus.policy.CrossClusterDefault crossClusterDefault, int maxPolicies,
                           int maxWorkloadsPerPeer) {
    }

    /** The event journal: embedded H2 in the data dir, or a PostgreSQL database the replicas share. */
    public sealed interface Journal {
    }

    public record H2Journal() implements Journal {
    }

    public record PostgresJournal(String url, String user, String password) implements Journal {
        @Override
        public String toString() {
            return "PostgresJournal[url=" + url + ", user=" + user + "]"; // never the password
        }
    }


    /**
     * @param limits               what is taken from any one peer (message size, quotas, import namespaces)
     * @param endpointsWithoutPlan which endpoint IPs of peers are admitted when no address plan is configured
     */
    public record Peering(HostPort listen, List<HostPort> peers, Duration heartbeatInterval,
                          Duration reconnectMinBackoff, Duration reconnectMaxBackoff, Duration importTtl,
                          io.isthmus.gateway.peering.PeeringLimits limits,
                          io.isthmus.gateway.peering.EndpointScope.WithoutPlan endpointsWithoutPlan,
                          io.isthmus.gateway.pki.StaleCrl staleCrl) {
        public Peering {
            peers = List.copyOf(peers);
        }
    }

    /** The DNS server's settings; {@code forwarding}, {@code locality} and {@code rateLimit} are the dns module's own types. */
    public record Dns(HostPort listen, String zone, Duration ttl, io.isthmus.dns.Locality locality,
                      boolean clusterNames, io.isthmus.dns.Forwarding forwarding, io.isthmus.dns.RateLimit rateLimit) {
    }

    /**
     * IPAM: the pools' tuning (the ipam module's own settings), where the CNI endpoint listens (empty: no CNI
     * endpoint on this replica) and who may call it, where owner liveness comes from without Kubernetes (empty: nothing is reclaimed
     * but expired reservations), and which pods keep a fixed IP ({@code namespace/name} globs). What Kubernetes
     * does for IPAM is {@link Kubernetes#ipam()}. SR-IOV: where sysfs is (VF pools are read there) and the file that
     * records which attachment holds which VF. {@code cniNode}: this node's name, recorded on every lease made
     * through CNI so that this node's GC frees only its own.
     */
    public record Ipam(io.isthmus.ipam.IpamSettings settings, java.util.Optional<Path> cniSocket,
                       io.isthmus.ipam.cni.CniCallers cniCallers, String cniNode,
                       java.util.Optional<Path> ownersFile, List<String> fixedIpPods,
                       Path sriovSysfsRoot, Path vfHoldingsFile) {
        public Ipam {
            fixedIpPods = List.copyOf(fixedIpPods);
        }
    }

    /**
     * {@code name}: this replica's name within its cluster, which names its own export stream in the journal;
     * empty means "derive it from the replica's Pekko address" (see {@code Gateway}).
     */
    public record Replicas(HostPort listen, List<String> seedNodes, String name,
                           java.util.Optional<KubernetesApiDiscovery> kubernetesApi) {
        public Replicas {
            seedNodes = List.copyOf(seedNodes);
        }

        public Replicas(HostPort listen, List<String> seedNodes, String name) {
            this(listen, seedNodes, name, java.util.Optional.empty());
        }
    }

    /**
     * {@code replicas.discovery = kubernetes-api}: pekko-management's cluster bootstrap finds the replicas as the pods
     * matching {@code podLabelSelector} (in this pod's namespace) through the Kubernetes API, and they form one
     * cluster once {@code requiredContactPoints} of them answer on the management port.
     */
    public record KubernetesApiDiscovery(String podLabelSelector, int requiredContactPoints, int managementPort) {
    }

    /**
     * {@code isthmus.kubernetes}: this cluster's API server ({@code masterUrl} empty: auto-configured) and what the
     * gateway's one Kubernetes adapter (io.isthmus.gateway.k8s.KubernetesAdapter) runs against it: the MCS sync
     * when {@code enabled} (in {@code namespaces}, empty: all; everything again every {@code resyncInterval}),
     * ClusterPeers as peers when {@code peers}, the IPAM parts of {@code ipam}, and, when {@code policies} and the
     * client is open for another part, GlobalNetworkPolicies into the policy book and pod/namespace labels.
     */
    public record Kubernetes(boolean enabled, String masterUrl, List<String> namespaces, Duration resyncInterval,
                             boolean peers, io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings ipam,
                             boolean policies) {
        public Kubernetes {
            namespaces = List.copyOf(namespaces);
        }

        /** With {@code policies} on (its default). */
        public Kubernetes(boolean enabled, String masterUrl, List<String> namespaces, Duration resyncInterval,
                          boolean peers, io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings ipam) {
            this(enabled, masterUrl, namespaces, resyncInterval, peers, ipam, true);
        }

        /** The MCS sync alone (no ClusterPeers, Kubernetes plays no part in IPAM; policies on, the default). */
        public Kubernetes(boolean enabled, String masterUrl, List<String> namespaces, Duration resyncInterval) {
            this(enabled, masterUrl, namespaces, resyncInterval, false,
                    io.isthmus.gateway.k8s.ipam.KubernetesIpamSettings.off());
        }

        /**
         * True when any part needs a client of the API server. {@code policies} alone opens none: it is on by
         * default, and a gateway outside Kubernetes must not look for an API server.
         */
        public boolean anyEnabled() {
            return enabled || peers || ipam.enabled();
        }
    }
}
