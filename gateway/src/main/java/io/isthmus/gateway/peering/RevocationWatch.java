package io.isthmus.gateway.peering;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.metrics.Metrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;

/**
 * Cuts a peer cluster off at once when every certificate it peered with is revoked or expired, instead of letting
 * its imports and tunnel sessions run out their TTL. The links themselves close on their own (each checks its
 * peer's certificate on every message and heartbeat); this tells the parts that outlive a link: the mesh view
 * (imports, hence DNS and ServiceImports) and the tunnel (sessions and routes). Checked after every CRL this
 * gateway takes and once a second for expiry. A cluster that comes back with a good certificate is peered anew.
 */
public final class RevocationWatch {
    private static final Logger log = LoggerFactory.getLogger(RevocationWatch.class);

    private final PeeringTls tls;
    private final Clock clock;
    private final Map<ClusterId, Set<X509Certificate>> peeredWith = new ConcurrentHashMap<>();
    private final List<BiConsumer<ClusterId, String>> listeners = new CopyOnWriteArrayList<>();
    private final Metrics.Counter cutOffs;

    public RevocationWatch(PeeringTls tls, PeerChannels channels, Clock clock, Metrics metrics) {
        this.tls = tls;
        this.clock = clock;
        this.cutOffs = metrics.counter("isthmus_peering_clusters_cut_off_total",
                "Peer clusters cut off (imports withdrawn, tunnel sessions and routes removed) because every "
                        + "certificate they peered with was revoked or expired, by reason.", "reason");
        channels.whenLinkUp(link -> {
            if (link.peerCertificate() != null) {
                peeredWith.computeIfAbsent(link.remote(), c -> ConcurrentHashMap.newKeySet()).add(link.peerCertificate());
            }
        });
        tls.whenCrlChanged(this::check);
        // A CRL past its nextUpdate is said here; with peering.revocation.stale-crl = refuse, MeshTrust also refuses
        // new peering handshakes until a newer one is in force (links up stay up).
        metrics.gauge("isthmus_peering_crl_stale", "1 when the CRL in force is past its nextUpdate: issue a new "
                + "one (isthmus mesh revoke, or a fresh CRL from the CA) and give it to a gateway.", List.of(),
                () -> Map.of(List.of(), tls.crlNextUpdate().map(clock.instant()::isAfter).orElse(false) ? 1.0 : 0.0));
    }

    /** Told {@code (cluster, reason)} once for each cut; reason is "revoked" or "expired". */
    public void whenCutOff(BiConsumer<ClusterId, String> listener) {
        listeners.add(listener);
    }

    /** Cuts off every cluster none of whose certificates is good any more. */
    public synchronized void check() {
        Instant now = clock.instant();
        for (Map.Entry<ClusterId, Set<X509Certificate>> entry : peeredWith.entrySet()) {
            List<String> reasons = new ArrayList<>();
            entry.getValue().removeIf(certificate -> {
                Optional<String> distrust = tls.distrust(certificate, now);
                distrust.ifPresent(reasons::add);
                return distrust.isPresent();
            });
            // A rotation leaves the new certificate in the set; only a cluster with none left is cut.
            if (!reasons.isEmpty() && entry.getValue().isEmpty()
                    && peeredWith.remove(entry.getKey(), entry.getValue())) {
                cut(entry.getKey(), reasons.getFirst());
            }
        }
    }

    private void cut(ClusterId cluster, String reason) {
        log.warn("peering: cluster {} is cut off: its certificates are {}; its imports, tunnel sessions and routes "
                + "are removed now", cluster, reason);
        cutOffs.inc(reason);
        for (BiConsumer<ClusterId, String> listener : listeners) {
            try {
                listener.accept(cluster, reason);
            } catch (RuntimeException e) {
                log.warn("peering: cutting off {} failed in {}: {}", cluster, listener, e.toString(), e);
            }
        }
    }
}
