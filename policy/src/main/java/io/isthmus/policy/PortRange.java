package io.isthmus.policy;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.api.Protocol;

/** A protocol and an inclusive port range; {@code first} 0 and {@code last} 65535 for every port of it. */
public record PortRange(Protocol protocol, int first, int last) implements Comparable<PortRange> {
    public PortRange {
        if (first < 0 || first > 65535) {
            throw new InvalidFieldException("port", first, "must be 1..65535");
        }
        if (last < first || last > 65535) {
            throw new InvalidFieldException("endPort", last, "must be " + first + "..65535 (not below port)");
        }
    }

    public static PortRange all(Protocol protocol) {
        return new PortRange(protocol, 0, 65535);
    }

    public boolean contains(Protocol protocol, int port) {
        return this.protocol == protocol && port >= first && port <= last;
    }

    @Override
    public int compareTo(PortRange other) {
        int c = protocol.compareTo(other.protocol);
        if (c != 0) {
            return c;
        }
        c = Integer.compare(first, other.first);
        return c != 0 ? c : Integer.compare(last, other.last);
    }
}
