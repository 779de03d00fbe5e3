package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

/**
 * Two clusters use overlapping ranges: at least one of them is a registered CIDR (the plan never grants
 * overlapping segments). Exports of both clusters need global addresses.
 */
public record CidrOverlap(ClusterId first, SegmentKind firstKind, String firstCidr, boolean firstRegistered,
                          ClusterId second, SegmentKind secondKind, String secondCidr, boolean secondRegistered) {

    public boolean involves(ClusterId cluster) {
        return first.equals(cluster) || second.equals(cluster);
    }

    /** E.g. {@code pod CIDR 10.244.0.0/16 of east overlaps pod CIDR 10.244.0.0/16 of west}. */
    public String describe() {
        return firstKind.label() + (firstRegistered ? " CIDR " : " segment ") + firstCidr + " of " + first
                + " overlaps " + secondKind.label() + (secondRegistered ? " CIDR " : " segment ") + secondCidr + " of " + second;
    }

    @Override
    public String toString() {
        return describe();
    }
}
