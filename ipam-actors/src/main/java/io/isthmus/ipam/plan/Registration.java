package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;

import java.util.Objects;

/**
 * A CIDR a cluster already uses (its existing pod or service CIDR, an underlay): not granted by the plan, but
 * known to everyone so claims avoid it and overlaps with other clusters are reported.
 */
public record Registration(SegmentKind kind, String cidr) {
    public Registration {
        Objects.requireNonNull(kind, "kind");
        if (kind == SegmentKind.GLOBAL) {
            throw new InvalidFieldException("kind", kind.label(), "global ranges come from the plan; register pod, service or underlay CIDRs");
        }
        cidr = Cidr.parse("cidr", cidr).toString();
    }

    public Cidr range() {
        return Cidr.parse("cidr", cidr);
    }

    @Override
    public String toString() {
        return kind.label() + " " + cidr;
    }
}
