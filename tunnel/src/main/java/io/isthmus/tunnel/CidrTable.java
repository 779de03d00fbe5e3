package io.isthmus.tunnel;

import io.isthmus.api.Cidr;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Longest-prefix match from IPv4 and IPv6 networks to values, read straight from packet bytes (no address objects):
 * a binary trie per family, built once and never changed (a new table replaces the old one), so lookups need no
 * lock. A lookup walks at most 32 or 128 nodes.
 */
final class CidrTable<V> {
    private static final class Node<V> {
        Node<V> zero;
        Node<V> one;
        V value;
    }

    private final Node<V> ipv4 = new Node<>();
    private final Node<V> ipv6 = new Node<>();
    private final List<Map.Entry<Cidr, V>> entries;

    /** @throws IllegalArgumentException when one network is given twice */
    CidrTable(List<Map.Entry<Cidr, V>> entries) {
        this.entries = List.copyOf(entries);
        for (Map.Entry<Cidr, V> entry : entries) {
            Cidr cidr = entry.getKey();
            byte[] network = cidr.network().getAddress();
            Node<V> node = cidr.isIpv4() ? ipv4 : ipv6;
            for (int bit = 0; bit < cidr.prefix(); bit++) {
                if (bit(network, 0, bit)) {
                    node = node.one == null ? (node.one = new Node<>()) : node.one;
                } else {
                    node = node.zero == null ? (node.zero = new Node<>()) : node.zero;
                }
            }
            if (node.value != null) {
                throw new IllegalArgumentException(cidr + " is given twice");
            }
            node.value = entry.getValue();
        }
    }

    static <V> CidrTable<V> empty() {
        return new CidrTable<>(List.of());
    }

    List<Map.Entry<Cidr, V>> entries() {
        return entries;
    }

    /** The value of the longest network holding the 4-byte address at {@code bytes[at]}, or null. */
    V lookupIpv4(byte[] bytes, int at) {
        return lookup(ipv4, bytes, at, 32);
    }

    /** The value of the longest network holding the 16-byte address at {@code bytes[at]}, or null. */
    V lookupIpv6(byte[] bytes, int at) {
        return lookup(ipv6, bytes, at, 128);
    }

    V lookup(byte[] address) {
        return address.length == 4 ? lookupIpv4(address, 0) : lookupIpv6(address, 0);
    }

    private static <V> V lookup(Node<V> root, byte[] bytes, int at, int bits) {
        Node<V> node = root;
        V best = root.value;
        for (int bit = 0; bit < bits; bit++) {
            node = bit(bytes, at, bit) ? node.one : node.zero;
            if (node == null) {
                break;
            }
            if (node.value != null) {
                best = node.value;
            }
        }
        return best;
    }

    private static boolean bit(byte[] bytes, int at, int bit) {
        return (bytes[at + (bit >>> 3)] & (0x80 >>> (bit & 7))) != 0;
    }

    static <V> List<Map.Entry<Cidr, V>> with(List<Map.Entry<Cidr, V>> entries, List<Cidr> added, V value) {
        List<Map.Entry<Cidr, V>> all = new ArrayList<>(entries);
        for (Cidr cidr : added) {
            all.add(Map.entry(cidr, value));
        }
        return all;
    }
}
