package io.isthmus.dns;

import io.isthmus.api.ImportedService;
import io.isthmus.api.ServiceDirectory;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One {@link ServiceDirectory} laid out for lookups by DNS labels: namespace, then service name (both already
 * lower-case DNS labels, so a lower-cased query label matches without building a ServiceKey, which would throw
 * for the odd labels strangers send). Built once per snapshot, not per query.
 */
record ZoneIndex(ServiceDirectory source, Map<String, Map<String, Addresses>> namespaces) {

    /** A service's addresses split by record type. */
    record Addresses(List<Inet4Address> v4, List<Inet6Address> v6) {
    }

    static ZoneIndex of(ServiceDirectory directory) {
        Map<String, Map<String, Addresses>> namespaces = new HashMap<>();
        for (ImportedService service : directory.services().values()) {
            List<Inet4Address> v4 = new ArrayList<>();
            List<Inet6Address> v6 = new ArrayList<>();
            for (InetAddress address : service.addresses()) {
                if (address instanceof Inet4Address a) {
                    v4.add(a);
                } else if (address instanceof Inet6Address a) {
                    v6.add(a);
                }
            }
            namespaces.computeIfAbsent(service.key().namespace(), k -> new HashMap<>())
                    .put(service.key().name(), new Addresses(List.copyOf(v4), List.copyOf(v6)));
        }
        namespaces.replaceAll((ns, services) -> Map.copyOf(services));
        return new ZoneIndex(directory, Map.copyOf(namespaces));
    }

    Addresses find(String namespace, String name) {
        Map<String, Addresses> services = namespaces.get(namespace);
        return services == null ? null : services.get(name);
    }
}
