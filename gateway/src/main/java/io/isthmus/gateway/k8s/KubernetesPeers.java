package io.isthmus.gateway.k8s;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.GatewayConfig;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerLinks;
import io.isthmus.k8s.KubernetesClients;
import io.isthmus.k8s.crd.ClusterPeerReconciler;
import io.isthmus.k8s.crd.PeerPort;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * ClusterPeer objects as this gateway's peers ({@code isthmus.kubernetes.peers = on}): the {@link PeerPort} of the
 * {@link ClusterPeerReconciler} over the {@link PeerLinks} (links dialled and closed as ClusterPeers come and go) and
 * the mesh view (their link states). The peers of {@code isthmus.peering.peers} stay as configured: a ClusterPeer
 * naming one of their addresses does not dial it twice, and deleting it does not close it.
 */
public final class KubernetesPeers implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubernetesPeers.class);
    /** How often the link states are copied into the statuses (a status is written only when it changed). */
    private static final Duration STATUS_INTERVAL = Duration.ofSeconds(1);

    private final KubernetesClient client;
    private final ClusterPeerReconciler reconciler;

    private KubernetesPeers(KubernetesClient client, ClusterPeerReconciler reconciler) {
        this.client = client;
        this.reconciler = reconciler;
    }

    /** Starts when {@code isthmus.kubernetes.peers} is on; does not wait for the API server. */
    public static Optional<KubernetesPeers> startIfEnabled(GatewayConfig config, PeerLinks links,
                                                           Supplier<MeshView.Snapshot> mesh) {
        GatewayConfig.Kubernetes settings = config.kubernetes();
        if (!settings.peers()) {
            return Optional.empty();
        }
        KubernetesClient client = KubernetesClients.connect(settings.masterUrl());
        Port port = new Port(config.clusterId(), links, mesh, config.tlsDir().resolve("ca.crt"),
                Set.copyOf(config.peering().peers()));
        log.info("Kubernetes peers ({}): ClusterPeers are dialled besides the {} configured peers",
                client.getMasterUrl(), config.peering().peers().size());
        return Optional.of(new KubernetesPeers(client, ClusterPeerReconciler.start(client, port, STATUS_INTERVAL,
                settings.resyncInterval(), Clock.systemUTC())));
    }

    /** Reasons the ClusterPeer side is not ready; empty when it is. */
    public List<String> notReadyReasons() {
        return reconciler.watching() ? List.of() : List.of("ClusterPeer informer not in sync with the Kubernetes API");
    }

    private static final class Port implements PeerPort {
        private final ClusterId self;
        private final PeerLinks links;
        private final Supplier<MeshView.Snapshot> mesh;
        private final Path caFile;
        private final Set<HostPort> configured;
        /** The links this port dialled (never a configured one); only the reconciler's thread touches it. */
        private final Set<HostPort> dialled = new HashSet<>();

        Port(ClusterId self, PeerLinks links, Supplier<MeshView.Snapshot> mesh, Path caFile, Set<HostPort> configured) {
            this.self = self;
            this.links = links;
            this.mesh = mesh;
            this.caFile = caFile;
            this.configured = configured;
        }

        @Override
        public ClusterId self() {
            return self;
        }

        @Override
        public void peersWanted(Map<ClusterId, List<String>> addresses) {
            Set<HostPort> wanted = new HashSet<>();
            addresses.forEach((peer, list) -> list.forEach(address -> {
                try {
                    wanted.add(HostPort.parse("ClusterPeer " + peer + " spec.addresses", address));
                } catch (InvalidFieldException e) { // the reconciler's pattern let it through: skip it, not the rest
                    log.warn("{}: not dialled", e.getMessage());
                }
            }));
            for (HostPort gone : Set.copyOf(dialled)) {
                if (!wanted.contains(gone)) {
                    links.disconnect(gone);
                    dialled.remove(gone);
                    log.info("peer {}: link closed, no ClusterPeer lists it any more", gone);
                }
            }
            for (HostPort peer : wanted) {
                if (!configured.contains(peer) && !dialled.contains(peer) && links.connect(peer)) {
                    dialled.add(peer);
                    log.info("peer {}: dialled, as a ClusterPeer lists it", peer);
                }
            }
        }

        @Override
        public Optional<LinkReport> linkOf(ClusterId peer, List<String> addresses) {
            Set<String> wanted = new HashSet<>();
            for (String address : addresses) {
                try {
                    wanted.add(HostPort.parse("ClusterPeer " + peer + " spec.addresses", address).toString());
                } catch (InvalidFieldException e) {
                    // not dialled either (peersWanted logged it)
                }
            }
            return mesh.get().links().values().stream()
                    .filter(link -> peer.equals(link.remote())
                            || (link.direction() == MeshView.Direction.OUTBOUND && wanted.contains(link.address())))
                    .min(Comparator.comparingInt((MeshView.Link link) -> rank(link.state())))
                    .map(link -> new LinkReport(label(link.state()), link.direction().name().toLowerCase()
                            + " link " + link.address() + ": " + link.detail(),
                            Optional.ofNullable(link.rtt()), Optional.ofNullable(link.lastMessageAt())));
        }

        private static int rank(LinkState state) {
            return switch (state) {
                case UP -> 0;
                case CONNECTING -> 1;
                case DOWN -> 2;
            };
        }

        private static String label(LinkState state) {
            return switch (state) {
                case UP -> "Up";
                case CONNECTING -> "Connecting";
                case DOWN -> "Down";
            };
        }

        @Override
        public Optional<String> clustersetCa() {
            try {
                return Optional.of(Files.readString(caFile));
            } catch (NoSuchFileException e) {
                return Optional.empty();
            } catch (IOException e) {
                log.warn("cannot read the clusterset CA {}: {}", caFile, e.toString());
                return Optional.empty();
            }
        }
    }

    @Override
    public void close() {
        reconciler.close();
        client.close();
    }
}
