package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

/** A range the clusterset granted to one cluster. */
public record Segment(ClusterId holder, SegmentKind kind, String cidr) {
    @Override
    public String toString() {
        return holder + " " + kind.label() + " " + cidr;
    }
}
