package io.isthmus.gateway.policy;

import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.IpLiteral;
import io.isthmus.api.grpc.peering.PeerMessage;
import io.isthmus.api.grpc.policy.NamespaceLabels;
import io.isthmus.api.grpc.policy.Workload;
import io.isthmus.api.grpc.policy.WorkloadSync;
import io.isthmus.gateway.metrics.Metrics;
import io.isthmus.gateway.peering.PeerChannels;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This cluster's workloads to every peer, and every peer's to this cluster ({@code PeerMessage.workloads}), so that
 * a rule about another cluster's pod or namespace labels decides the same at the sending gateway and at the
 * receiving one. Per peer, one numbered stream on one link: a snapshot when a link comes up (or when the peer asks,
 * having seen a gap), then deltas of what changed at each {@link #publish}. A sender that restarts picks a new epoch,
 * which restarts the numbering. What a peer says is kept as it said it; whether it is that peer's own (inside its pod
 * segments) is decided when the identity view is built ({@link IdentitySource}), against the plan of that moment.
 * A peer that sends more than {@code maxPerPeer} pods has the rest refused and counted.
 */
public final class WorkloadExchange {
    private static final Logger log = LoggerFactory.getLogger(WorkloadExchange.class);
    /** Pods per message: a snapshot of a large cluster goes in several, far below the peering message limit. */
    static final int PODS_PER_MESSAGE = 512;
    /** Links remembered per peer (a replica's links come and go; the closed ones fail and are passed over). */
    private static final int LINKS_PER_PEER = 8;
    /** A receiver missing messages asks for a snapshot at most this often (the request itself may be lost). */
    private static final long ASK_INTERVAL_NANOS = 1_000_000_000L;

    private final PeerChannels channels;
    private final int maxPerPeer;
    private final long epoch = new SecureRandom().nextLong();
    private final Metrics.Counter refused;
    private final Metrics.Counter snapshotsSent;

    // Sending side: guarded by this.
    private Workloads published = Workloads.NONE;
    private final Map<ClusterId, Outbound> outbound = new HashMap<>();

    // Receiving side: one state per peer, each guarded by itself.
    private final ConcurrentHashMap<ClusterId, Inbound> inbound = new ConcurrentHashMap<>();

    private WorkloadExchange(PeerChannels channels, int maxPerPeer, Metrics metrics) {
        this.channels = channels;
        this.maxPerPeer = maxPerPeer;
        this.refused = metrics.counter("isthmus_policy_workloads_refused_total",
                "Workloads (pods) from peers that were refused, by peer and reason.", "peer", "reason");
        this.snapshotsSent = metrics.counter("isthmus_policy_workload_snapshots_sent_total",
                "Snapshots of this cluster's workloads sent to peers, by peer.", "peer");
    }

    public static WorkloadExchange start(PeerChannels channels, int maxPerPeer, Metrics metrics) {
        WorkloadExchange exchange = new WorkloadExchange(channels, maxPerPeer, metrics);
        channels.handleOnLink(PeerMessage.KindCase.WORKLOADS,
                (link, message) -> exchange.received(link, message.getWorkloads()));
        channels.whenLinkUp(exchange::linkUp);
        return exchange;
    }

    /** What each peer said its workloads are (kept while it is away: a partition keeps the last). */
    public Map<ClusterId, Workloads> remote() {
        Map<ClusterId, Workloads> out = new HashMap<>();
        inbound.forEach((peer, state) -> {
            synchronized (state) {
                out.put(peer, state.workloads());
            }
        });
        return out;
    }

    /** This cluster's workloads now: peers get what changed since the last call (and snapshots where due). */
    public synchronized void publish(Workloads now) {
        Workloads before = published;
        published = now;
        List<WorkloadSync.Builder> deltas = delta(before, now);
        for (Map.Entry<ClusterId, Outbound> peer : outbound.entrySet()) {
            Outbound out = peer.getValue();
            if (out.needsSnapshot || !sendAll(out, deltas, false)) {
                out.needsSnapshot = !sendSnapshot(peer.getKey(), out);
            }
        }
    }

    synchronized void linkUp(PeerChannels.Link link) {
        Outbound out = outbound.computeIfAbsent(link.remote(), peer -> new Outbound());
        out.links.addFirst(link);
        while (out.links.size() > LINKS_PER_PEER) {
            out.links.removeLast();
        }
        out.needsSnapshot = !sendSnapshot(link.remote(), out);
    }

    /** Sends the whole of {@link #published} on the first link that takes it; false when none did. */
    private boolean sendSnapshot(ClusterId peer, Outbound out) {
        List<WorkloadSync.Builder> messages = delta(Workloads.NONE, published);
        messages.getFirst().setSnapshot(true);
        for (PeerChannels.Link link : List.copyOf(out.links)) {
            out.current = link;
            if (sendAll(out, messages, true)) {
                snapshotsSent.inc(peer.value());
                return true;
            }
        }
        out.current = null;
        return false;
    }

    /** Numbers and sends each message on the peer's current link; false (a snapshot is due) when one did not go. */
    private boolean sendAll(Outbound out, List<WorkloadSync.Builder> messages, boolean evenIfEmpty) {
        if (out.current == null) {
            return false;
        }
        for (WorkloadSync.Builder message : messages) {
            if (!evenIfEmpty && isEmpty(message)) {
                continue;
            }
            long sequence = out.sequence + 1;
            if (!out.current.send(PeerMessage.newBuilder().setWorkloads(message.clone().setEpoch(epoch)
                    .setSequence(sequence)).build())) {
                return false;
            }
            out.sequence = sequence;
        }
        return true;
    }

    private static boolean isEmpty(WorkloadSync.Builder message) {
        return message.getUpsertedCount() == 0 && message.getRemovedCount() == 0 && message.getNamespacesCount() == 0
                && message.getRemovedNamespacesCount() == 0;
    }

    /** The messages that turn {@code before} into {@code after} (at least one, maybe empty). */
    static List<WorkloadSync.Builder> delta(Workloads before, Workloads after) {
        List<WorkloadSync.Builder> out = new ArrayList<>();
        WorkloadSync.Builder current = WorkloadSync.newBuilder();
        out.add(current);
        for (Workloads.Pod pod : after.pods().values()) {
            if (!pod.equals(before.pods().get(pod.address()))) {
                if (current.getUpsertedCount() + current.getRemovedCount() >= PODS_PER_MESSAGE) {
                    current = WorkloadSync.newBuilder();
                    out.add(current);
                }
                current.addUpserted(Workload.newBuilder().setAddress(IpLiteral.format(pod.address()))
                        .setNamespace(pod.namespace()).setName(pod.name()).putAllLabels(pod.labels()));
            }
        }
        for (InetAddress gone : before.pods().keySet()) {
            if (!after.pods().containsKey(gone)) {
                if (current.getUpsertedCount() + current.getRemovedCount() >= PODS_PER_MESSAGE) {
                    current = WorkloadSync.newBuilder();
                    out.add(current);
                }
                current.addRemoved(IpLiteral.format(gone));
            }
        }
        WorkloadSync.Builder last = current;
        out.forEach(message -> message.setMore(message != last));
        after.namespaceLabels().forEach((namespace, labels) -> {
            if (!labels.equals(before.namespaceLabels().get(namespace))) {
                last.addNamespaces(NamespaceLabels.newBuilder().setNamespace(namespace).putAllLabels(labels));
            }
        });
        before.namespaceLabels().keySet().stream().filter(namespace -> !after.namespaceLabels().containsKey(namespace))
                .forEach(last::addRemovedNamespaces);
        return out;
    }

    void received(PeerChannels.Link link, WorkloadSync sync) {
        ClusterId peer = link.remote();
        if (sync.getSnapshotRequested()) {
            synchronized (this) {
                Outbound out = outbound.computeIfAbsent(peer, p -> new Outbound());
                if (!out.links.contains(link)) {
                    out.links.addFirst(link);
                }
                out.needsSnapshot = !sendSnapshot(peer, out);
            }
            return;
        }
        Inbound state = inbound.computeIfAbsent(peer, p -> new Inbound());
        boolean askForSnapshot;
        synchronized (state) {
            askForSnapshot = state.take(sync, peer);
        }
        if (askForSnapshot) {
            link.send(PeerMessage.newBuilder().setWorkloads(WorkloadSync.newBuilder().setSnapshotRequested(true)).build());
        }
    }

    private static final class Outbound {
        final java.util.LinkedList<PeerChannels.Link> links = new java.util.LinkedList<>();
        PeerChannels.Link current;
        long sequence;
        boolean needsSnapshot;
    }

    /** What one peer said, and where its stream is. */
    private final class Inbound {
        private long epoch;
        private long sequence = -1; // none yet: only a snapshot is taken
        private final Map<InetAddress, Workloads.Pod> pods = new HashMap<>();
        private final Map<String, Map<String, String>> namespaces = new HashMap<>();
        private Workloads view = Workloads.NONE;
        private long lastAsked = System.nanoTime() - ASK_INTERVAL_NANOS;

        Workloads workloads() {
            return view;
        }

        /** Applies one message; true when a gap was seen (the peer should send a snapshot). */
        boolean take(WorkloadSync sync, ClusterId peer) {
            boolean sameStream = sync.getEpoch() == epoch && sequence >= 0;
            if (sync.getSnapshot()) {
                if (sameStream && sync.getSequence() <= sequence) {
                    return false; // an old snapshot, overtaken on another link
                }
                pods.clear();
                namespaces.clear();
                epoch = sync.getEpoch();
            } else if (!sameStream || sync.getSequence() != sequence + 1) {
                if (sameStream && sync.getSequence() <= sequence) {
                    return false; // already applied, or overtaken by a newer snapshot
                }
                sequence = -1; // a gap: nothing more is taken until the snapshot
                long now = System.nanoTime();
                if (now - lastAsked < ASK_INTERVAL_NANOS) {
                    return false;
                }
                lastAsked = now;
                return true;
            }
            sequence = sync.getSequence();
            for (String gone : sync.getRemovedList()) {
                try {
                    pods.remove(IpLiteral.parse("workload.removed", gone));
                } catch (InvalidFieldException e) {
                    refused.inc(peer.value(), "invalid");
                }
            }
            for (Workload wire : sync.getUpsertedList()) {
                try {
                    InetAddress address = IpLiteral.parse("workload.address", wire.getAddress());
                    if (!pods.containsKey(address) && pods.size() >= maxPerPeer) {
                        refused.inc(peer.value(), "max-workloads-per-peer");
                        continue;
                    }
                    pods.put(address, new Workloads.Pod(address, wire.getNamespace(), wire.getName(),
                            new TreeMap<>(wire.getLabelsMap())));
                } catch (InvalidFieldException e) {
                    refused.inc(peer.value(), "invalid");
                    log.warn("policy: refused a workload from {}: {}", peer, e.getMessage());
                }
            }
            sync.getRemovedNamespacesList().forEach(namespaces::remove);
            for (NamespaceLabels wire : sync.getNamespacesList()) {
                namespaces.put(wire.getNamespace(), new TreeMap<>(wire.getLabelsMap()));
            }
            if (!sync.getMore()) {
                view = new Workloads(pods, namespaces); // a change in several messages shows once it is whole
            }
            return false;
        }
    }
}
