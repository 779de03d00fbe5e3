package io.isthmus.gateway.k8s.ipam;

import java.time.Duration;
import java.util.Optional;

/**
 * {@code isthmus.kubernetes.ipam}: whether IPPool objects become pools, where the reclaimer learns which owners
 * exist, and the timings (the API server is {@code isthmus.kubernetes.master-url}).
 *
 * @param pools          reconcile IPPools into the IPAM and write their status
 * @param ownerSource    where the reclaimer's owners come from
 * @param statusInterval how often every IPPool is reconciled again (its usage refreshed)
 * @param resync         how often the pod informers re-deliver their cache
 */
public record KubernetesIpamSettings(boolean pools, OwnerSource ownerSource, Duration statusInterval, Duration resync) {

    /** {@code owners-file}: {@code isthmus.ipam.owners-file} (or nothing); {@code pods}: the Pod informer. */
    public enum OwnerSource {
        OWNERS_FILE("owners-file"), PODS("pods");

        private final String label;

        OwnerSource(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Optional<OwnerSource> parse(String text) {
            for (OwnerSource source : values()) {
                if (source.label.equals(text)) {
                    return Optional.of(source);
                }
            }
            return Optional.empty();
        }
    }

    /** Kubernetes plays no part in IPAM. */
    public static KubernetesIpamSettings off() {
        return new KubernetesIpamSettings(false, OwnerSource.OWNERS_FILE, Duration.ofSeconds(10), Duration.ofMinutes(10));
    }

    /** True when any part needs a Kubernetes client. */
    public boolean enabled() {
        return pools || ownerSource == OwnerSource.PODS;
    }
}
