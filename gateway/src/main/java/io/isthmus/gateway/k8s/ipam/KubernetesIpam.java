package io.isthmus.gateway.k8s.ipam;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.isthmus.api.ipam.OwnerKind;
import io.isthmus.gateway.ipam.AddressPlan;
import io.isthmus.gateway.ipam.PoolCniBackend;
import io.isthmus.ipam.Ipam;
import io.isthmus.ipam.OwnerLiveness;
import io.isthmus.k8s.crd.IpPoolReconciler;
import io.isthmus.k8s.pods.PodOwners;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.Optional;

/**
 * The Kubernetes side of the gateway's IPAM, as {@code isthmus.kubernetes.ipam} asks: the pod informers as the
 * reclaimer's owner source and as the CNI endpoint's way to tell StatefulSet pods, and the IPPool reconciler. Started
 * in two steps because the owner source is needed to start the IPAM, and the reconciler needs the started IPAM.
 */
public final class KubernetesIpam implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KubernetesIpam.class);

    private final KubernetesIpamSettings settings;
    private final KubernetesClient client;
    private final boolean ownsClient;
    private final PodOwners pods;
    private IpPoolReconciler reconciler;

    private KubernetesIpam(KubernetesIpamSettings settings, KubernetesClient client, boolean ownsClient, PodOwners pods) {
        this.settings = settings;
        this.client = client;
        this.ownsClient = ownsClient;
        this.pods = pods;
    }

    /** Connects (when any part is enabled) and starts the pod informers (when the owner source is pods). */
    public static KubernetesIpam start(KubernetesIpamSettings settings) {
        if (!settings.enabled()) {
            return new KubernetesIpam(settings, null, false, null);
        }
        // The same client settings as the MCS sync: request timeouts, and watches reopened for as long as we run.
        return start(settings, io.isthmus.k8s.KubernetesClients.connect(settings.masterUrl().orElse("")), true);
    }

    /** With a client made elsewhere (a test's mock server); {@code ownsClient}: close it with this. */
    public static KubernetesIpam start(KubernetesIpamSettings settings, KubernetesClient client, boolean ownsClient) {
        PodOwners pods = settings.ownerSource() == KubernetesIpamSettings.OwnerSource.PODS
                ? PodOwners.start(client, settings.resync()) : null;
        log.info("Kubernetes IPAM ({}): IPPools {}, owners from {}", client.getMasterUrl(),
                settings.pools() ? "reconciled" : "not read", settings.ownerSource().label());
        return new KubernetesIpam(settings, client, ownsClient, pods);
    }

    /** The reclaimer's owner source, when it is the pods. */
    public Optional<OwnerLiveness> liveness() {
        return Optional.ofNullable(pods).map(PodOwnerLiveness::new);
    }

    /**
     * How the CNI endpoint confirms the pod a call claims: with the pod informer (owner-source = pods, Kubernetes
     * mode) against the API; else nothing confirms a claim and {@link PoolCniBackend.PodClaims#UNCHECKED} is given.
     */
    public PoolCniBackend.PodClaims podClaims() {
        return pods == null ? PoolCniBackend.PodClaims.UNCHECKED : new KubernetesPodClaims(pods, client);
    }

    /**
     * Which pods keep their IP: with the pod informer, StatefulSet pods (by their controller); a pod not in its cache
     * yet, or without the informer, is answered by {@code fallback} (isthmus.ipam.fixed-ip-pods).
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

    /** Starts reconciling IPPools into {@code ipam}, when enabled. */
    public void startPools(Ipam ipam, AddressPlan plan, Clock clock) {
        if (settings.pools()) {
            reconciler = IpPoolReconciler.start(client, new IpamPoolPort(ipam, plan), settings.statusInterval(),
                    ipam.settings().askTimeout().multipliedBy(3), clock);
        }
    }

    /** Reasons the Kubernetes side is not ready (informers not listed or not watching); empty when it is. */
    public java.util.List<String> notReadyReasons() {
        java.util.List<String> reasons = new java.util.ArrayList<>();
        if (pods != null && !pods.inSync()) {
            reasons.add("pod/StatefulSet informers not in sync with the Kubernetes API (no lease is reclaimed meanwhile)");
        }
        if (reconciler != null && !reconciler.watching()) {
            reasons.add("IPPool informer not in sync with the Kubernetes API");
        }
        return reasons;
    }

    @Override
    public void close() {
        if (reconciler != null) {
            reconciler.close();
        }
        if (pods != null) {
            pods.close();
        }
        if (ownsClient && client != null) {
            client.close();
        }
    }
}
