package io.isthmus.ipam.plan;

import io.isthmus.api.ClusterId;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Objects;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * An acceptor's signed acknowledgement of one claim: the evidence a claimant carries with a held segment, so that
 * every other cluster can check that a majority of the clusterset agreed, rather than take the claimant's word.
 * {@code signature} (base64) is the acceptor's signature over {@link #statement}, made with the key of its clusterset
 * certificate {@code certificate} (base64 DER). The ledger only carries these; the host signs and verifies
 * (see {@code ipam-actors/PLAN.md}, "Majority evidence").
 */
public record AckSignature(ClusterId acceptor, String signature, String certificate) {
    public AckSignature {
        Objects.requireNonNull(acceptor, "acceptor");
        Objects.requireNonNull(signature, "signature");
        Objects.requireNonNull(certificate, "certificate");
    }

    /**
     * What an acceptor signs: the claim (claimant, number, kind, range, timestamp), the acceptor, and the members it
     * counts, so an acknowledgement cannot be reused for another range or under another membership.
     */
    public static byte[] statement(Claim claim, ClusterId acceptor, Collection<ClusterId> members) {
        String text = "isthmus-plan-ack/1\n" + claim.claimant().value() + "\n" + claim.id().seq() + "\n"
                + claim.kind().label() + "\n" + claim.cidr() + "\n" + claim.timestamp() + "\n" + acceptor.value() + "\n"
                + new TreeSet<>(members).stream().map(ClusterId::value).collect(Collectors.joining(","));
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** The acknowledgements a held claim carries in its claimant's view. */
    public record HeldEvidence(ClaimId claim, java.util.List<AckSignature> acks) {
        public HeldEvidence {
            Objects.requireNonNull(claim, "claim");
            acks = java.util.List.copyOf(acks);
        }
    }
}
