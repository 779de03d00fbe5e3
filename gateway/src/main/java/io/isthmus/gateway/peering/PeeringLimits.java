package io.isthmus.gateway.peering;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What this gateway takes from any one peer cluster ({@code isthmus.peering.limits}): the largest message, counted
 * after decompression, and quotas on what a peer's exports may hold, and the namespaces its imports may land in
 * ({@code isthmus.peering.import-namespaces}). A peer holds a valid certificate, so it is trusted to speak for its
 * own cluster, not to make this gateway hold or route without bound.
 *
 * @param maxMessageBytes      the largest peering message read, either direction, counted after decompression
 * @param maxExportsPerPeer    exports one peer cluster may have imported here (every namespace counted)
 * @param maxEndpointsPerExport endpoints one export may carry
 * @param maxEndpointsPerPeer  endpoints of all of one peer cluster's exports together
 * @param importNamespaces     which namespaces imports may be written into and served from
 * @param resyncMinInterval    how often, at most, a peer's request for a full snapshot is answered on one stream
 */
public record PeeringLimits(long maxMessageBytes, int maxExportsPerPeer, int maxEndpointsPerExport,
                            long maxEndpointsPerPeer, ImportNamespaces importNamespaces, java.time.Duration resyncMinInterval,
                            int maxStreamsPerPeer, int streamOpensPerMinute) {
    public static final long DEFAULT_MAX_MESSAGE_BYTES = 16L << 20;
    /** As reference.conf has them. */
    public static final PeeringLimits DEFAULTS = new PeeringLimits(DEFAULT_MAX_MESSAGE_BYTES, 50_000, 5_000,
            250_000, ImportNamespaces.DEFAULTS, java.time.Duration.ofSeconds(1), 16, 120);

    /** Kinds of quota, as named in conditions and in the metrics' {@code reason} label. */
    public enum Quota {
        EXPORTS_PER_PEER("exports-per-peer", "max-exports-per-peer"),
        ENDPOINTS_PER_EXPORT("endpoints-per-export", "max-endpoints-per-export"),
        ENDPOINTS_PER_PEER("endpoints-per-peer", "max-endpoints-per-peer");

        private final String label;
        private final String setting;

        Quota(String label, String setting) {
            this.label = label;
            this.setting = setting;
        }

        public String label() {
            return label;
        }

        /** The setting that sets it, in full. */
        public String setting() {
            return "isthmus.peering.limits." + setting;
        }
    }

    public long limit(Quota quota) {
        return switch (quota) {
            case EXPORTS_PER_PEER -> maxExportsPerPeer;
            case ENDPOINTS_PER_EXPORT -> maxEndpointsPerExport;
            case ENDPOINTS_PER_PEER -> maxEndpointsPerPeer;
        };
    }

    /**
     * Namespaces imports may be written into and served from: those in {@code allowed} (empty: every namespace)
     * that are not in {@code denied}.
     */
    public record ImportNamespaces(Set<String> allowed, Set<String> denied) {
        public static final ImportNamespaces DEFAULTS = new ImportNamespaces(Set.of(),
                Set.of("kube-system", "isthmus-system"));

        public ImportNamespaces {
            allowed = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(allowed));
            denied = java.util.Collections.unmodifiableSortedSet(new TreeSet<>(denied));
        }

        public boolean allows(String namespace) {
            return !denied.contains(namespace) && (allowed.isEmpty() || allowed.contains(namespace));
        }

        /** Why {@code namespace} takes no imports; only meaningful when it does not. */
        public String whyNot(String namespace) {
            return denied.contains(namespace)
                    ? "namespace " + namespace + " is in isthmus.peering.import-namespaces.denied " + List.copyOf(denied)
                    : "namespace " + namespace + " is not in isthmus.peering.import-namespaces.allowed " + List.copyOf(allowed);
        }
    }
}
