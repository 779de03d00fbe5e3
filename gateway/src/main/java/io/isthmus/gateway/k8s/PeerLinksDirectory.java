package io.isthmus.gateway.k8s;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.HostPort;
import io.isthmus.gateway.peering.LinkState;
import io.isthmus.gateway.peering.MeshView;
import io.isthmus.gateway.peering.PeerLinks;
import io.isthmus.k8s.crd.PeerDirectory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * ClusterPeer objects as this gateway's peers ({@code isthmus.kubernetes.peers = on}): the {@link PeerDirectory} of
 * the ClusterPeer reconciler over the {@link PeerLinks} (links dialled and closed as ClusterPeers come and go) and
 * the mesh view (their link states). The peers of {@code isthmus.peering.peers} stay as configured: a ClusterPeer
 * naming one of their addresses does not dial it twice, and deleting it does not close it.
 */
final class PeerLinksDirectory implements PeerDirectory {
    private static final Logger log = LoggerFactory.getLogger(PeerLinksDirectory.class);

    private final ClusterId self;
    private final PeerLinks links;
    private final Supplier<MeshView.Snapshot> mesh;
    private final Path caFile;
    private final Set<HostPort> configured;
    /** The links this directory dialled (never a configured one); only the reconciler's thread touches it. */
    private final Set<HostPort> dialled = new HashSet<>();

    PeerLinksDirectory(ClusterId self, PeerLinks links, Supplier<MeshView.Snapshot> mesh, Path caFile, Set<HostPort> configured) {
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
