package io.isthmus.api;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * An immutable snapshot of every service the clusterset offers, merged across clusters: what the DNS server
 * answers from. A new snapshot replaces the old one whole whenever an export anywhere changes.
 */
public record ServiceDirectory(long version, Map<ServiceKey, ImportedService> services) {
    public static final ServiceDirectory EMPTY = new ServiceDirectory(0, Map.of());

    public ServiceDirectory {
        services = Map.copyOf(services);
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
        record Offer(ClusterId cluster, ServiceExport export) {
        }
        Map<ServiceKey, List<Offer>> offersByKey = new TreeMap<>();
        exportsByCluster.forEach((cluster, exports) -> {
            for (ServiceExport export : exports) {
                offersByKey.computeIfAbsent(export.key(), k -> new ArrayList<>()).add(new Offer(cluster, export));
            }
        });
        Map<ServiceKey, ImportedService> merged = new LinkedHashMap<>();
        offersByKey.forEach((key, offers) -> {
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
            merged.put(key, new ImportedService(key, type, ports.values().stream().distinct().toList(), clusters,
                    conflicts));
        });
        return new ServiceDirectory(version, merged);
    }
}
