package io.isthmus.policy;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;
import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Which addresses belong to whom: networks (a host is a /32 or /128) mapped to an {@link Identity}; an address takes
 * the identity of the longest entry that contains it. An address in no entry is outside the clusterset: only
 * {@code cidrs} peers and a peers object with every field empty select it. Immutable; the gateway builds a new view
 * from IPAM owners, exports and Kubernetes pods whenever they change ({@link #builder()}, {@link #toBuilder()}).
 */
public final class IdentityView {
    public static final IdentityView EMPTY = new Builder().build();

    private final SortedMap<Cidr, Identity> entries;
    private final String version;

    private IdentityView(SortedMap<Cidr, Identity> entries) {
        this.entries = Collections.unmodifiableSortedMap(new TreeMap<>(entries));
        this.version = digest(this.entries);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this view's entries (namespace labels already applied), to change a few. */
    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.entries.putAll(entries);
        return builder;
    }

    public SortedMap<Cidr, Identity> entries() {
        return entries;
    }

    public int size() {
        return entries.size();
    }

    /** The identity of the longest entry containing {@code address}; empty: outside the clusterset. */
    public Optional<Identity> identityOf(InetAddress address) {
        int bits = address.getAddress().length * 8;
        for (int prefix = bits; prefix >= 0; prefix--) {
            Identity identity = entries.get(Cidr.of(address, prefix));
            if (identity != null) {
                return Optional.of(identity);
            }
        }
        return Optional.empty();
    }

    /** The entry count and 12 hex digits of a SHA-256 over every entry: equal views have equal versions. */
    public String version() {
        return version;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IdentityView other && entries.equals(other.entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        return "IdentityView " + version;
    }

    private static String digest(SortedMap<Cidr, Identity> entries) {
        if (entries.isEmpty()) {
            return "0:empty";
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<Cidr, Identity> entry : entries.entrySet()) {
                Identity id = entry.getValue();
                sha.update((entry.getKey() + "\t" + id.cluster() + "\t" + id.namespace() + "\t" + id.podLabels()
                        + "\t" + id.namespaceLabels() + "\t" + id.services() + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return entries.size() + ":" + HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * Collects entries. Calls may come in any order: namespace labels are applied to the workloads of their namespace
     * when the view is built. An address claimed by two clusters is refused naming the address.
     */
    public static final class Builder {
        private final TreeMap<Cidr, Identity> entries = new TreeMap<>();
        private final Map<String, TreeMap<String, String>> namespaceLabels = new HashMap<>();

        private Builder() {
        }

        /** Every address of {@code segment} belongs to {@code cluster}, nothing more known (another cluster's pods). */
        public Builder cluster(Cidr segment, ClusterId cluster) {
            Identity held = entries.get(segment);
            if (held != null && !held.cluster().equals(cluster)) {
                throw new InvalidFieldException("identity.segment", segment,
                        "belongs to " + held.cluster() + " already, not also to " + cluster);
            }
            if (held == null) {
                entries.put(segment, Identity.ofCluster(cluster));
            }
            return this;
        }

        /**
         * The workload at {@code address}: a pod (or VM) of {@code namespace} in {@code cluster} with {@code podLabels}.
         * Called again for the same address, the later call wins (labels change); the services it backs are kept while
         * the namespace stays the same.
         */
        public Builder workload(InetAddress address, ClusterId cluster, String namespace, Map<String, String> podLabels) {
            Cidr host = host(address);
            Identity held = heldHost(host, cluster);
            Identity next = Identity.workload(cluster, namespace, podLabels);
            if (held != null && held.namespace().equals(namespace)) {
                next = new Identity(cluster, namespace, next.podLabels(), next.namespaceLabels(), held.services());
            }
            entries.put(host, next);
            return this;
        }

        /**
         * The workload at {@code address} backs the exported {@code service} (it is an endpoint of it, or the service's
         * own ClusterIP or global IP). When no workload is known at that address yet, one of the service's namespace
         * with no labels is recorded; {@link #workload} later adds its labels.
         */
        public Builder backs(InetAddress address, ClusterId cluster, ServiceKey service) {
            Cidr host = host(address);
            Identity held = heldHost(host, cluster);
            if (held == null) {
                held = Identity.workload(cluster, service.namespace(), Map.of());
            } else if (!held.namespace().equals(service.namespace())) {
                throw new InvalidFieldException("identity.service", service, "is backed by "
                        + address.getHostAddress() + ", a workload of namespace " + held.namespace()
                        + ": a service's endpoints are in its own namespace");
            }
            entries.put(host, held.withService(service));
            return this;
        }

        /** The labels of {@code namespace} in {@code cluster}, for {@code namespaceSelector}s. */
        public Builder namespaceLabels(ClusterId cluster, String namespace, Map<String, String> labels) {
            Identity.workload(cluster, namespace, Map.of()).withNamespaceLabels(labels); // validates both
            namespaceLabels.put(cluster.value() + "/" + namespace, new TreeMap<>(labels));
            return this;
        }

        /** A ready identity for a whole network or a host; replaces what the network held. */
        public Builder entry(Cidr network, Identity identity) {
            entries.put(network, identity);
            return this;
        }

        /** Forgets the host entry of {@code address} (a pod went away). */
        public Builder remove(InetAddress address) {
            entries.remove(host(address));
            return this;
        }

        /** Forgets the entry of exactly {@code network}. */
        public Builder remove(Cidr network) {
            entries.remove(network);
            return this;
        }

        public IdentityView build() {
            TreeMap<Cidr, Identity> built = new TreeMap<>();
            for (Map.Entry<Cidr, Identity> entry : entries.entrySet()) {
                Identity id = entry.getValue();
                TreeMap<String, String> labels = id.isWorkload()
                        ? namespaceLabels.get(id.cluster().value() + "/" + id.namespace()) : null;
                built.put(entry.getKey(), labels == null ? id : id.withNamespaceLabels(labels));
            }
            return new IdentityView(built);
        }

        private Identity heldHost(Cidr host, ClusterId cluster) {
            Identity held = entries.get(host);
            if (held != null && !held.cluster().equals(cluster)) {
                throw new InvalidFieldException("identity.address", host.network().getHostAddress(),
                        "belongs to " + held + " already, not also to cluster " + cluster);
            }
            return held != null && held.isWorkload() ? held : null;
        }

        private static Cidr host(InetAddress address) {
            return Cidr.of(address, address.getAddress().length * 8);
        }
    }
}
