package io.isthmus.k8s.mcs;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.ServiceKey;

import java.util.List;
import java.util.Optional;

/** The namespaces the MCS controllers watch and write (empty: all), and the services named in them. */
record ServiceScope(List<String> namespaces) {
    ServiceScope {
        namespaces = List.copyOf(namespaces);
    }

    boolean contains(String namespace) {
        return namespaces.isEmpty() || namespaces.contains(namespace);
    }

    /** The service {@code namespace/name}, when both are set, valid DNS labels and in scope. */
    Optional<ServiceKey> keyOf(String namespace, String name) {
        if (namespace == null || name == null || !contains(namespace)) {
            return Optional.empty();
        }
        try {
            return Optional.of(new ServiceKey(namespace, name));
        } catch (InvalidFieldException e) {
            return Optional.empty(); // not a service the clusterset can name: not ours to export or import
        }
    }
}
