package io.isthmus.api;

/** The name of one cluster in the clusterset: a DNS label, so it can appear in DNS names. */
public record ClusterId(String value) implements Comparable<ClusterId> {
    public ClusterId {
        DnsLabel.require("cluster-id", value);
    }

    public static ClusterId of(String value) {
        return new ClusterId(value);
    }

    @Override
    public int compareTo(ClusterId other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }
}
