package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.InvalidFieldException;

import java.util.Objects;

/** A clusterset-wide range that segments of one kind are cut from, each {@code /segmentPrefix}. */
public record Supernet(Cidr cidr, int segmentPrefix) {
    public Supernet {
        Objects.requireNonNull(cidr, "cidr");
        if (segmentPrefix < cidr.prefix() || segmentPrefix > cidr.addressBits()) {
            throw new InvalidFieldException("segment-prefix", segmentPrefix,
                    "must be between the supernet's prefix and " + cidr.addressBits() + " (the supernet is " + cidr + ")");
        }
    }

    public static Supernet parse(String field, String cidr, int segmentPrefix) {
        Cidr parsed = Cidr.parse(field + ".cidr", cidr);
        try {
            return new Supernet(parsed, segmentPrefix);
        } catch (InvalidFieldException e) {
            throw e.as(field + ".segment-prefix");
        }
    }

    /** True when {@code range} is one of this supernet's segments. */
    public boolean hasSegment(Cidr range) {
        return range.prefix() == segmentPrefix && cidr.contains(range);
    }

    @Override
    public String toString() {
        return cidr + " in /" + segmentPrefix + " segments";
    }
}
