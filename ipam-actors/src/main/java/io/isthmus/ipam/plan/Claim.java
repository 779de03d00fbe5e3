package io.isthmus.ipam.plan;

import io.isthmus.api.Cidr;
import io.isthmus.api.ClusterId;

import java.util.Comparator;
import java.util.Objects;

/**
 * One cluster's claim on a range: what travels between ledgers and into the journal. The CIDR is kept in its
 * canonical text (so the record is plain data for Jackson and protobuf); {@link #range()} parses it.
 *
 * <p>{@link #PRIORITY} orders competing claims: the earlier timestamp wins, then the lower claimant, then the
 * lower sequence number (a cluster never has two overlapping claims of its own, so that last step only makes
 * the order total).
 */
public record Claim(ClaimId id, SegmentKind kind, String cidr, long timestamp) {
    public static final Comparator<Claim> PRIORITY = Comparator.comparingLong(Claim::timestamp)
            .thenComparing(c -> c.id().claimant())
            .thenComparingLong(c -> c.id().seq());

    public Claim {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        cidr = Cidr.parse("cidr", cidr).toString();
    }

    public static Claim of(ClaimId id, SegmentKind kind, Cidr range, long timestamp) {
        return new Claim(id, kind, range.toString(), timestamp);
    }

    public ClusterId claimant() {
        return id.claimant();
    }

    public Cidr range() {
        return Cidr.parse("cidr", cidr);
    }

    /** True when this claim wins against {@code other}. */
    public boolean beats(Claim other) {
        return PRIORITY.compare(this, other) < 0;
    }

    @Override
    public String toString() {
        return kind.label() + " " + cidr + " (claim " + id + " at " + timestamp + ")";
    }
}
