package io.isthmus.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable snapshot of every service the clusterset offers, merged across clusters: what the DNS server
 * answers from. A change to some exports makes a new snapshot through {@link #changes()}, which merges again only
 * the services it touches and shares everything else with this one (so a change costs O(log n), not O(n)); two
 * snapshots of one lineage are compared cheaply with {@link #diff}.
 *
 * <p>Besides the merged services, a snapshot keeps the exports each cluster offers (the input of the merge), so
 * that a later change can merge one service again. A snapshot made with the constructor from merged services
 * alone has no such input: a change to one of its services merges that service from the changed exports only.
 */
public final class ServiceDirectory {
    public static final ServiceDirectory EMPTY = new ServiceDirectory(0, PersistentSortedMap.empty(),
            PersistentSortedMap.empty());

    private final long version;
    private final PersistentSortedMap<ServiceKey, ImportedService> services;
    /** Per service, the export of each cluster that offers it. */
    private final PersistentSortedMap<ServiceKey, Map<ClusterId, ServiceExport>> offers;

    /** A snapshot of already merged services (copied). */
    public ServiceDirectory(long version, Map<ServiceKey, ImportedService> services) {
        this(version, PersistentSortedMap.copyOf(services), PersistentSortedMap.empty());
    }

    private ServiceDirectory(long version, PersistentSortedMap<ServiceKey, ImportedService> services,
                             PersistentSortedMap<ServiceKey, Map<ClusterId, ServiceExport>> offers) {
        this.version = version;
        this.services = services;
        this.offers = offers;
    }

    public long version() {
        return version;
    }

    /** Every service by key, read-only, in key order. */
    public Map<ServiceKey, ImportedService> services() {
        return services.asMap();
    }

    /** The services as the persistent map they are kept in (for {@link PersistentSortedMap#diff}). */
    public PersistentSortedMap<ServiceKey, ImportedService> serviceMap() {
        return services;
    }

    public Optional<ImportedService> find(ServiceKey key) {
        return Optional.ofNullable(services.get(key));
    }

    /**
     * Merges the exports of every cluster into imports, by the MCS rules. The oldest export of a service (then the
     * lower cluster id) decides its type; clusters that export it with another type are left out of the import.
     * Ports are the union over the clusters that are in; a port (by name, or by number when unnamed) that two
     * clusters define differently is taken from the older export. Each disagreement is recorded as an
     * {@link ExportConflict}.
     */
    public static ServiceDirectory merge(long version, Map<ClusterId, ? extends Collection<ServiceExport>> exportsByCluster) {
        Changes changes = EMPTY.changes();
        exportsByCluster.forEach((cluster, exports) -> exports.forEach(export -> changes.put(cluster, export)));
        return changes.build(version);
    }

    /** Changes to this snapshot's exports, gathered, then applied at once by {@link Changes#build}. */
    public Changes changes() {
        return new Changes(this);
    }

    /**
     * Every service whose merged view differs between two snapshots (added, removed or replaced), in key order.
     * Snapshots of one lineage share their unchanged parts, so this costs about (changes × log n).
     */
    public static void diff(ServiceDirectory before, ServiceDirectory after,
                            PersistentSortedMap.Difference<ServiceKey, ImportedService> difference) {
        PersistentSortedMap.diff(before.services, after.services, difference);
    }

    /**
     * Exports that appeared, changed or went away in some clusters. Each service touched is merged again once, in
     * {@link #build}, from the exports every cluster offers at that moment.
     */
    public static final class Changes {
        private final ServiceDirectory base;
        private PersistentSortedMap<ServiceKey, Map<ClusterId, ServiceExport>> offers;
        private final Set<ServiceKey> touched = new HashSet<>();

        private Changes(ServiceDirectory base) {
            this.base = base;
            this.offers = base.offers;
        }

        /** {@code cluster} exports {@code export} (replacing its earlier export of that service). */
        public Changes put(ClusterId cluster, ServiceExport export) {
            Objects.requireNonNull(cluster, "cluster");
            Map<ClusterId, ServiceExport> known = offers.get(export.key());
            if (known != null && known.get(cluster) == export) {
                return this;
            }
            Map<ClusterId, ServiceExport> next;
            if (known == null || known.isEmpty() || known.size() == 1 && known.containsKey(cluster)) {
                next = Map.of(cluster, export);
            } else {
                Map<ClusterId, ServiceExport> copy = new HashMap<>(known);
                copy.put(cluster, export);
                next = Map.copyOf(copy);
            }
            offers = offers.with(export.key(), next);
            touched.add(export.key());
            return this;
        }

        /** {@code cluster} no longer exports {@code key}. */
        public Changes remove(ClusterId cluster, ServiceKey key) {
            Map<ClusterId, ServiceExport> known = offers.get(key);
            if (known == null || !known.containsKey(cluster)) {
                if (base.services.get(key) != null && known == null) {
                    touched.add(key); // a snapshot made from merged services: nothing left to merge it from
                }
                return this;
            }
            if (known.size() == 1) {
                offers = offers.without(key);
            } else {
                Map<ClusterId, ServiceExport> copy = new HashMap<>(known);
                copy.remove(cluster);
                offers = offers.with(key, Map.copyOf(copy));
            }
            touched.add(key);
            return this;
        }

        /** The services touched by the changes so far. */
        public int touchedCount() {
            return touched.size();
        }

        /** The snapshot at {@code version}: the base with every touched service merged again. */
        public ServiceDirectory build(long version) {
            PersistentSortedMap<ServiceKey, ImportedService> services = base.services;
            for (ServiceKey key : touched) {
                Map<ClusterId, ServiceExport> byCluster = offers.get(key);
                ImportedService merged = byCluster == null ? null : mergeOne(key, byCluster);
                if (merged == null) {
                    services = services.without(key);
                } else if (!merged.equals(services.get(key))) {
                    services = services.with(key, merged);
                }
            }
            touched.clear();
            return new ServiceDirectory(version, services, offers);
        }
    }

    /** One service merged from the export of each cluster that offers it (see {@link #merge}). */
    static ImportedService mergeOne(ServiceKey key, Map<ClusterId, ServiceExport> exportsByCluster) {
        if (exportsByCluster.size() == 1) {
            // One cluster: nothing to disagree with, its ports as they are (an export has no repeated port).
            Map.Entry<ClusterId, ServiceExport> only = exportsByCluster.entrySet().iterator().next();
            ServiceExport export = only.getValue();
            return new ImportedService(key, export.type(), export.ports(),
                    List.of(new ClusterBackends(only.getKey(), export.endpoints())), List.of());
        }
        return mergeInFull(key, exportsByCluster);
    }

    /** {@link #mergeOne} without the shortcut for one cluster. */
    static ImportedService mergeInFull(ServiceKey key, Map<ClusterId, ServiceExport> exportsByCluster) {
        record Offer(ClusterId cluster, ServiceExport export) {
        }
        List<Offer> offers = new ArrayList<>(exportsByCluster.size());
        exportsByCluster.forEach((cluster, export) -> offers.add(new Offer(cluster, export)));
        if (offers.isEmpty()) {
            return null;
        }
        offers.sort(Comparator.comparing((Offer o) -> o.export().exportedAt()).thenComparing(Offer::cluster));
        Offer oldest = offers.getFirst();
        ServiceType type = oldest.export().type();
        Map<String, ServicePort> ports = new LinkedHashMap<>();
        Map<String, ClusterId> portOwners = new LinkedHashMap<>();
        List<ClusterBackends> clusters = new ArrayList<>();
        List<ExportConflict> conflicts = new ArrayList<>();
        for (Offer offer : offers) {
            if (offer.export().type() != type) {
                conflicts.add(new ExportConflict("type", oldest.cluster(), offer.cluster(),
                        key + " is " + type.label() + " in " + oldest.cluster() + " (the oldest export, used) but "
                                + offer.export().type().label() + " in " + offer.cluster()));
                continue;
            }
            for (ServicePort port : offer.export().ports()) {
                // A port is one name and one number/protocol; the older export's pairing of the two stands.
                String byName = port.name().isEmpty() ? null : "name " + port.name();
                String byNumber = port.port() + "/" + port.protocol();
                ServicePort known = byName != null && ports.containsKey(byName) ? ports.get(byName) : ports.get(byNumber);
                if (known == null) {
                    ports.put(byNumber, port);
                    portOwners.put(byNumber, offer.cluster());
                    if (byName != null) {
                        ports.put(byName, port);
                        portOwners.put(byName, offer.cluster());
                    }
                } else if (!known.equals(port)) {
                    String id = port.name().isEmpty() ? byNumber : port.name();
                    ClusterId owner = portOwners.get(byName != null && ports.containsKey(byName) ? byName : byNumber);
                    conflicts.add(new ExportConflict("port " + id, owner, offer.cluster(),
                            key + " port " + known + " in " + owner + " (older, used) but " + port + " in "
                                    + offer.cluster()));
                }
            }
            clusters.add(new ClusterBackends(offer.cluster(), offer.export().endpoints()));
        }
        clusters.sort(Comparator.comparing(ClusterBackends::cluster));
        return new ImportedService(key, type, ports.values().stream().distinct().toList(), clusters, conflicts);
    }

    /** Equal when the versions and the merged services are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof ServiceDirectory other && version == other.version && services.equals(other.services);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(version) * 31 + services.hashCode();
    }

    @Override
    public String toString() {
        return "ServiceDirectory[version=" + version + ", services=" + services + "]";
    }
}
