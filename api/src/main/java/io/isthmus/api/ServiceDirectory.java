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
     * Merges the exports of every cluster into imports. The oldest export of a service (then the lower cluster
     * id) decides its type; clusters that export it with another type are left out of the import. Ports are
     * the union over the clusters that are in.
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
            ServiceType type = offers.getFirst().export().type();
            Map<String, ServicePort> ports = new LinkedHashMap<>();
            List<ClusterBackends> clusters = new ArrayList<>();
            for (Offer offer : offers) {
                if (offer.export().type() != type) {
                    continue;
                }
                for (ServicePort port : offer.export().ports()) {
                    ports.putIfAbsent(port.port() + "/" + port.protocol(), port);
                }
                clusters.add(new ClusterBackends(offer.cluster(), offer.export().endpoints()));
            }
            clusters.sort(Comparator.comparing(ClusterBackends::cluster));
            merged.put(key, new ImportedService(key, type, List.copyOf(ports.values()), clusters));
        });
        return new ServiceDirectory(version, merged);
    }
}
