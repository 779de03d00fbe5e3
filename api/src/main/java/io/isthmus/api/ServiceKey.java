package io.isthmus.api;

/** A Service by namespace and name: the identity MCS uses to merge exports from several clusters. */
public record ServiceKey(String namespace, String name) implements Comparable<ServiceKey> {
    public ServiceKey {
        DnsLabel.require("namespace", namespace);
        DnsLabel.require("name", name);
    }

    @Override
    public int compareTo(ServiceKey other) {
        int byNamespace = namespace.compareTo(other.namespace);
        return byNamespace != 0 ? byNamespace : name.compareTo(other.name);
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
