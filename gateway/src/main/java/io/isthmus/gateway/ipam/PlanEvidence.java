package io.isthmus.gateway.ipam;

import io.isthmus.api.ClusterId;
import io.isthmus.gateway.pki.KeyMaterial;
import io.isthmus.gateway.pki.SignedStatements;
import io.isthmus.ipam.plan.AckSignature;
import io.isthmus.ipam.plan.Claim;
import io.isthmus.ipam.plan.ClusterView;
import io.isthmus.ipam.plan.PlanConfig;
import io.isthmus.ipam.plan.PlanMessage;
import io.isthmus.ipam.plan.PlanMessage.ClaimAnswer;
import io.isthmus.ipam.plan.PlanMessage.LedgerSnapshot;

import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Majority evidence for the address plan (ipam-actors/PLAN.md, "Majority evidence"): this cluster signs every
 * acknowledgement it sends with the key of its clusterset certificate, and believes a held segment in another
 * cluster's view only with the signed acknowledgements of a majority of the members (the holder's own is implied:
 * it sent the view over its own authenticated link). So a member can no longer announce that it holds a segment no
 * majority agreed to, and steer other clusters' traffic to itself. An acknowledgement whose signature does not
 * verify is dropped; a view with a held segment short of a majority is refused whole (as the ledger refuses views:
 * a view stripped of a claim would prove that claim over).
 */
public final class PlanEvidence {
    /** A message, or the part of it, that failed the check, and why. */
    public record Refusal(String reason, String detail) {
    }

    /** What may go on to the ledger (nothing: refused whole), and what was refused. */
    public record Checked(Optional<PlanMessage> message, List<Refusal> refusals) {
    }

    private static final int REMEMBERED = 4096;

    private final PlanConfig config;
    private final Function<byte[], KeyMaterial.Signed> signer;
    private final SignedStatements statements;
    /** Signatures checked good already: gossip repeats views every few seconds, and ECDSA checks are not free. */
    private final Set<String> verified = Collections.newSetFromMap(Collections.synchronizedMap(
            new LinkedHashMap<>(16, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > REMEMBERED;
                }
            }));

    public PlanEvidence(PlanConfig config, Function<byte[], KeyMaterial.Signed> signer, SignedStatements statements) {
        this.config = config;
        this.signer = signer;
        this.statements = statements;
    }

    /** The message as it leaves: an acknowledgement gets this cluster's signature. */
    public PlanMessage outgoing(PlanMessage message) {
        if (message instanceof ClaimAnswer answer && answer.acknowledged() && answer.acknowledgedClaim() != null) {
            KeyMaterial.Signed signed = signer.apply(
                    AckSignature.statement(answer.acknowledgedClaim(), config.self(), config.members()));
            try {
                return answer.signedWith(new AckSignature(config.self(),
                        Base64.getEncoder().encodeToString(signed.signature()),
                        Base64.getEncoder().encodeToString(signed.certificate().getEncoded())));
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException("a loaded certificate always encodes", e);
            }
        }
        return message;
    }

    /** The message {@code from} sent as it may reach the ledger. */
    public Checked incoming(ClusterId from, PlanMessage message) {
        return switch (message) {
            case ClaimAnswer answer when answer.acknowledged() -> {
                Optional<String> bad = answer.acknowledgedClaim() == null || answer.signature() == null
                        ? Optional.of("an acknowledgement of claim " + answer.claim() + " without the claim and its signature")
                        : whyNot(answer.acknowledgedClaim(), answer.signature(), from);
                yield bad.map(why -> new Checked(Optional.empty(), List.of(new Refusal("bad-ack-signature",
                        from + " acknowledged claim " + answer.claim() + ": " + why + "; ignored"))))
                        .orElse(new Checked(Optional.of(message), List.of()));
            }
            case LedgerSnapshot snapshot -> checkViews(from, snapshot);
            default -> new Checked(Optional.of(message), List.of());
        };
    }

    private Checked checkViews(ClusterId from, LedgerSnapshot snapshot) {
        List<ClusterView> kept = new ArrayList<>();
        List<Refusal> refusals = new ArrayList<>();
        for (ClusterView view : snapshot.views()) {
            Optional<String> short_ = view.origin().equals(from) ? shortOfMajority(view) : Optional.empty();
            if (short_.isPresent()) {
                refusals.add(new Refusal("no-majority-evidence", from + " sent its view version " + view.version()
                        + ": " + short_.get() + "; refused whole"));
            } else {
                kept.add(view); // views of others: the ledger refuses them (foreign origin)
            }
        }
        return new Checked(Optional.of(new LedgerSnapshot(snapshot.sender(), kept)), refusals);
    }

    /** Why a held claim of {@code view} lacks a majority of valid acknowledgements, if one does. */
    private Optional<String> shortOfMajority(ClusterView view) {
        int needed = config.quorum() - 1; // the origin's own acknowledgement is implied
        for (Claim held : view.held()) {
            Set<ClusterId> acceptors = new TreeSet<>();
            List<String> problems = new ArrayList<>();
            for (AckSignature ack : view.evidenceOf(held.id())) {
                if (ack.acceptor().equals(view.origin()) || !config.members().contains(ack.acceptor())) {
                    continue;
                }
                whyNot(held, ack, ack.acceptor()).ifPresentOrElse(
                        why -> problems.add(ack.acceptor() + ": " + why), () -> acceptors.add(ack.acceptor()));
            }
            if (acceptors.size() < needed) {
                return Optional.of(held.kind().label() + " segment " + held.cidr() + " (claim " + held.id()
                        + ") is shown held with " + acceptors.size() + " valid signed acknowledgements "
                        + acceptors + ", and a majority of the " + config.members().size() + " members needs "
                        + needed + " besides its holder" + (problems.isEmpty() ? "" : " (" + String.join("; ", problems) + ")"));
            }
        }
        return Optional.empty();
    }

    private Optional<String> whyNot(Claim claim, AckSignature ack, ClusterId acceptor) {
        if (!ack.acceptor().equals(acceptor)) {
            return Optional.of("the signature is " + ack.acceptor() + "'s");
        }
        String key = ack.acceptor() + "|" + claim + "|" + ack.signature();
        if (verified.contains(key)) {
            return Optional.empty();
        }
        byte[] signature;
        byte[] certificate;
        try {
            signature = Base64.getDecoder().decode(ack.signature());
            certificate = Base64.getDecoder().decode(ack.certificate());
        } catch (IllegalArgumentException e) {
            return Optional.of("the signature or certificate is not base64");
        }
        Optional<String> why = statements.whyNotSignedBy(acceptor,
                AckSignature.statement(claim, acceptor, config.members()), signature, certificate);
        if (why.isEmpty()) {
            verified.add(key);
        }
        return why;
    }
}
