package io.isthmus.k8s.crd;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.k8s.controller.Controller;
import io.isthmus.k8s.controller.Watch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Makes the gateway's peer links follow the cluster's {@link ClusterPeer} objects: every change (and every
 * {@code statusInterval}) hands the addresses of all valid ClusterPeers to the {@link PeerDirectory}, which dials the new
 * ones and closes the links no ClusterPeer wants any more. Each ClusterPeer's status then says two things:
 * <ul>
 * <li>{@code Valid}: {@code False} with the field and the value when an address is not {@code host:port}, the
 * ClusterPeer names this very cluster, or its CA bundle is missing, unreadable, or not the clusterset CA that peering
 * trusts ({@code CaMismatch}); a ClusterPeer with a bad address or naming this cluster is not dialled at all.</li>
 * <li>{@code Linked}: {@code True} (reason {@code Up}) once a link to the peer is up, else {@code False} with reason
 * {@code Connecting} or {@code Down} and the mesh view's last error.</li>
 * </ul>
 * It runs in the {@link Controller} shell, keyed by ClusterPeer name: one worker thread, failed writes retried with backoff. A status is written only when its
 * conditions or link state changed, or its round trip figures are older than {@code refreshInterval}. Every gateway
 * replica runs one and dials the peers itself; each writes the link state it sees, so with replicas that disagree
 * (one linked, one not) the status is the last writer's view until they agree.
 */
public final class ClusterPeerReconciler implements Controller.Reconciler<String> {
    private static final Logger log = LoggerFactory.getLogger(ClusterPeerReconciler.class);
    public static final String VALID = "Valid";
    public static final String LINKED = "Linked";
    /** As the CRD's pattern: a DNS name or IPv4 address, or an IPv6 address in brackets; then a port. */
    private static final Pattern ADDRESS =
            Pattern.compile("^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):([0-9]{1,5})$");

    private final KubernetesClient client;
    private final PeerDirectory directory;
    private final Duration refreshInterval;
    private final Clock clock;
    private final Watch<ClusterPeer> peers;
    private final CaBundleCheck caCheck;
    /** The peers the valid ClusterPeers want, by ClusterPeer name (written by the worker, read by resyncs). */
    private final Map<String, Wanted> wanted = new ConcurrentHashMap<>();
    private final Map<String, Instant> lastWritten = new ConcurrentHashMap<>();

    private record Wanted(ClusterId peer, List<String> addresses) {
    }

    private ClusterPeerReconciler(KubernetesClient client, PeerDirectory directory, Duration refreshInterval,
                                  Clock clock) {
        this.client = client;
        this.directory = directory;
        this.refreshInterval = refreshInterval;
        this.clock = clock;
        this.peers = Watch.clusterScoped("ClusterPeers", client, client.resources(ClusterPeer.class));
        this.caCheck = new CaBundleCheck(client, directory::clustersetCa);
    }

    /**
     * Starts watching ClusterPeers (without waiting for the API server); every ClusterPeer is looked at again every
     * {@code statusInterval} (its link state), and a status unchanged but for its round trip is rewritten every
     * {@code refreshInterval}.
     */
    public static Controller<String> start(KubernetesClient client, PeerDirectory directory, Duration statusInterval,
                                             Duration refreshInterval, Clock clock) {
        ClusterPeerReconciler reconciler = new ClusterPeerReconciler(client, directory, refreshInterval, clock);
        return Controller.byName("clusterpeers", reconciler.peers, statusInterval, clock, reconciler);
    }

    /**
     * Judges one ClusterPeer, hands the peers all valid ClusterPeers want to the directory (it dials the new ones and
     * closes the links no ClusterPeer wants any more), then writes that ClusterPeer's status.
     */
    @Override
    public void reconcile(String name) {
        ClusterPeer peer = peers.get(null, name);
        if (peer == null) {
            lastWritten.remove(name);
            if (wanted.remove(name) != null) {
                log.info("ClusterPeer {} deleted: its links are closed", name);
            }
            directory.peersWanted(addressesWanted());
            return;
        }
        Verdict verdict = judge(peer);
        verdict.peer().ifPresentOrElse(id -> wanted.put(name, new Wanted(id, peer.getSpec().addresses())),
                () -> wanted.remove(name));
        directory.peersWanted(addressesWanted());
        writeStatus(peer, verdict);
    }

    private Map<ClusterId, List<String>> addressesWanted() {
        Map<ClusterId, List<String>> addresses = new LinkedHashMap<>();
        new TreeMap<>(wanted).values().forEach(w -> addresses.put(w.peer(), w.addresses()));
        return addresses;
    }

    @Override
    public Collection<String> keys() {
        Set<String> names = new TreeSet<>(wanted.keySet()); // a ClusterPeer deleted unseen still has its links
        names.addAll(peers.names());
        return names;
    }

    /**
     * What a ClusterPeer's spec is worth: {@code peer} present when it is dialled; {@code reason}/{@code message} the
     * Valid condition when it is not valid ({@code CaMismatch} and the other CA problems are dialled anyway: peering
     * does not use the bundle, it trusts the clusterset CA).
     */
    record Verdict(Optional<ClusterId> peer, String reason, String message) {
        boolean valid() {
            return reason.equals("Valid");
        }
    }

    Verdict judge(ClusterPeer peer) {
        ClusterPeerSpec spec = peer.getSpec();
        String name = peer.getMetadata().getName();
        if (spec == null) {
            return new Verdict(Optional.empty(), "InvalidSpec", "spec is missing");
        }
        ClusterId id;
        try {
            id = ClusterId.of(spec.clusterId());
        } catch (InvalidFieldException e) {
            return new Verdict(Optional.empty(), "InvalidClusterId",
                    "invalid spec.clusterId '" + spec.clusterId() + "': " + e.reason());
        }
        if (!id.value().equals(name)) {
            return new Verdict(Optional.empty(), "InvalidClusterId", "spec.clusterId '" + spec.clusterId()
                    + "' is not the ClusterPeer's name '" + name + "': name the ClusterPeer after the peer's cluster id");
        }
        if (id.equals(directory.self())) {
            return new Verdict(Optional.empty(), "SelfPeer", "spec.clusterId '" + id
                    + "' is this very cluster: a cluster does not peer with itself; delete this ClusterPeer");
        }
        Optional<String> badAddress = addressProblem(spec.addresses());
        if (badAddress.isPresent()) {
            return new Verdict(Optional.empty(), "InvalidAddress", badAddress.get());
        }
        return caCheck.problem(spec.caBundle())
                .map(problem -> new Verdict(Optional.of(id), problem[0], problem[1]))
                .orElseGet(() -> new Verdict(Optional.of(id), "Valid",
                        "addresses and CA bundle checked; the CA bundle is the clusterset CA"));
    }

    /** The first address that is not {@code host:port} (port 1-65535), said with its field and value. */
    static Optional<String> addressProblem(List<String> addresses) {
        if (addresses == null || addresses.isEmpty()) {
            return Optional.of("spec.addresses is empty: list the peer gateways' peering endpoints, host:port");
        }
        for (int i = 0; i < addresses.size(); i++) {
            String address = addresses.get(i);
            var match = address == null ? null : ADDRESS.matcher(address);
            if (match == null || !match.matches()) {
                return Optional.of("invalid spec.addresses[" + i + "] '" + address
                        + "': not host:port ([v6]:port for IPv6)");
            }
            int portNumber = Integer.parseInt(match.group(3));
            if (portNumber < 1 || portNumber > 65535) {
                return Optional.of("invalid spec.addresses[" + i + "] '" + address + "': port " + portNumber
                        + " is not within 1-65535");
            }
        }
        return Optional.empty();
    }

    private void writeStatus(ClusterPeer peer, Verdict verdict) {
        String name = peer.getMetadata().getName();
        ClusterPeerStatus old = peer.getStatus();
        long generation = Objects.requireNonNullElse(peer.getMetadata().getGeneration(), 0L);
        List<Condition> conditions = new ArrayList<>();
        conditions.add(condition(old, generation, VALID, verdict.valid() ? "True" : "False", verdict.reason(),
                verdict.message()));
        Optional<PeerDirectory.LinkReport> link = verdict.peer()
                .flatMap(id -> directory.linkOf(id, peer.getSpec().addresses()));
        if (verdict.peer().isEmpty()) {
            conditions.add(condition(old, generation, LINKED, "False", "NotDialled",
                    "not dialled: the spec is refused, see the Valid condition"));
        } else if (link.isEmpty()) {
            conditions.add(condition(old, generation, LINKED, "False", "Connecting", "no link yet"));
        } else {
            PeerDirectory.LinkReport report = link.get();
            conditions.add(condition(old, generation, LINKED, report.state().equals("Up") ? "True" : "False",
                    report.state(), report.detail()));
        }
        String state = verdict.peer().isEmpty() ? null : link.map(PeerDirectory.LinkReport::state).orElse("Connecting");
        ClusterPeerStatus next = new ClusterPeerStatus(conditions, generation, state,
                link.flatMap(PeerDirectory.LinkReport::rtt).map(Duration::toMillis).orElse(null),
                link.flatMap(PeerDirectory.LinkReport::lastSeen).map(at -> DateTimeFormatter.ISO_INSTANT
                        .format(at.truncatedTo(ChronoUnit.SECONDS))).orElse(null));
        Instant now = clock.instant();
        boolean stale = lastWritten.getOrDefault(name, Instant.MIN).plus(refreshInterval).isBefore(now);
        if (sameConditionsAndState(old, next) && !stale) {
            return;
        }
        if (sameConditionsAndState(old, next) && Objects.equals(old.rttMillis(), next.rttMillis())
                && Objects.equals(old.lastSeen(), next.lastSeen())) {
            lastWritten.put(name, now);
            return;
        }
        if (!StatusWrites.putStatus(client, peer, ClusterPeer::new, next)) {
            return;
        }
        lastWritten.put(name, now);
        if (!sameConditionsAndState(old, next)) {
            log.info("ClusterPeer {}: Valid={} {}, Linked={} {} {}", name, conditions.get(0).getStatus(),
                    conditions.get(0).getReason(), conditions.get(1).getStatus(), conditions.get(1).getReason(),
                    conditions.get(1).getMessage());
        }
    }

    private Condition condition(ClusterPeerStatus old, long generation, String type, String status, String reason,
                                String message) {
        return StatusWrites.condition(old == null ? null : old.conditions(), generation, type, status, reason, message,
                clock.instant());
    }

    private static boolean sameConditionsAndState(ClusterPeerStatus old, ClusterPeerStatus next) {
        return old != null && Objects.equals(StatusWrites.withoutTimes(old.conditions()),
                StatusWrites.withoutTimes(next.conditions()))
                && Objects.equals(old.observedGeneration(), next.observedGeneration())
                && Objects.equals(old.linkState(), next.linkState());
    }
}
